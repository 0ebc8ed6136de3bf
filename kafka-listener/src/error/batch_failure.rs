//! Spring's `BatchListenerFailedException`: a batch handler names the record that failed.

use crate::extract::BoxError;

/// Returned by a batch listener to say which record of the batch failed: the container commits
/// the records before it, retries from it per the back-off, and once retries are exhausted
/// recovers that record alone and goes on with the rest — never committing a record that was
/// not processed. Without it, a failed batch is retried whole and then recovered record by
/// record (Spring's fallback batch error handler).
///
/// ```
/// use kafka_listener::error::BatchListenerFailed;
/// use kafka_listener::{kafka_listener, Json};
///
/// #[derive(serde::Deserialize)]
/// struct Payment { amount: i64 }
///
/// #[kafka_listener(topics = "payments", group_id = "ledger", batch = true)]
/// async fn book(payments: Vec<Json<Payment>>) -> Result<(), BatchListenerFailed> {
///     for (index, payment) in payments.iter().enumerate() {
///         if payment.amount < 0 {
///             return Err(BatchListenerFailed::at(index, "negative amount"));
///         }
///     }
///     Ok(())
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[error("record #{index} of the batch failed: {source}")]
pub struct BatchListenerFailed {
    /// Position of the failed record within the batch.
    pub index: usize,
    /// Why it failed.
    #[source]
    pub source: BoxError,
}

impl BatchListenerFailed {
    /// The record at batch position `index` failed with `error`.
    pub fn at(index: usize, error: impl Into<BoxError>) -> Self {
        Self {
            index,
            source: error.into(),
        }
    }
}
