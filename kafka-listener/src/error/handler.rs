//! Spring's `DefaultErrorHandler`: retry a failed record in place per a back-off, then recover.

use std::sync::Arc;

use super::backoff::{BackOff, FixedBackOff};
use super::dead_letter_headers::FailureDescription;
use super::dead_letter_publisher::DeadLetterPublisher;
use super::retry_topic::RetryTopicForwarder;
use crate::record::ConsumerRecord;

/// A failed delivery, as the error handler needs to see it.
pub trait DeliveryFailure: std::error::Error + Send + Sync + 'static {
    /// `false` for failures that would repeat on every attempt (deserialization, a handler error
    /// marked fatal): they skip the retries and go straight to the recoverer.
    fn is_retryable(&self) -> bool;

    /// What the dead-letter headers say of the failure.
    fn describe(&self) -> FailureDescription {
        FailureDescription {
            retryable: self.is_retryable(),
            ..FailureDescription::of(self)
        }
    }

    /// For a failed batch: the record that failed, if the failure names one
    /// ([`BatchListenerFailed`](super::BatchListenerFailed), or a record that did not
    /// deserialize).
    fn failed_batch_record(&self) -> Option<BatchFailurePoint> {
        None
    }
}

/// Which record of a batch failed, and whether the handler processed the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchFailurePoint {
    /// Position of the failed record within the batch.
    pub index: usize,
    /// `true` when the handler processed the records before it (they are committed), `false`
    /// when the batch failed before the handler ran (they are delivered again).
    pub earlier_records_processed: bool,
}

/// What happens to a record whose retries are exhausted (or that is not retryable).
#[derive(Debug, Clone, Default)]
pub enum Recoverer {
    /// Log the failure and move on (Spring's default).
    #[default]
    LogAndSkip,
    /// Publish it to the dead-letter topic; move on only once that succeeded.
    DeadLetter(DeadLetterPublisher),
    /// Publish it to its next retry topic (or the DLT): the recoverer of listeners with retry
    /// topics, set up by the app; move on only once that succeeded.
    RetryTopics(RetryTopicForwarder),
    /// The application's own recoverer (Spring's `ConsumerRecordRecoverer`): store the record
    /// elsewhere, alert, … The partition moves on only once it returns `Ok`.
    Custom(Arc<dyn RecordRecoverer>),
}

/// A recoverer written by the application, for [`Recoverer::Custom`].
///
/// ```
/// use std::sync::Arc;
/// use futures_util::future::BoxFuture;
/// use kafka_listener::error::{FailureDescription, RecordRecoverer, Recoverer, RecoveryFailed};
/// use kafka_listener::ConsumerRecord;
///
/// #[derive(Debug)]
/// struct Quarantine;
///
/// impl RecordRecoverer for Quarantine {
///     fn recover<'a>(
///         &'a self,
///         record: &'a ConsumerRecord,
///         failure: &'a FailureDescription,
///         _group_id: Option<&'a str>,
///     ) -> BoxFuture<'a, Result<(), RecoveryFailed>> {
///         Box::pin(async move {
///             eprintln!("quarantined offset {}: {}", record.offset, failure.message);
///             Ok(())
///         })
///     }
/// }
///
/// let recoverer = Recoverer::Custom(Arc::new(Quarantine));
/// ```
pub trait RecordRecoverer: Send + Sync + std::fmt::Debug {
    /// Recovers `record`, which failed with `failure`; an error keeps the partition at it (the
    /// record is delivered again).
    fn recover<'a>(
        &'a self,
        record: &'a ConsumerRecord,
        failure: &'a FailureDescription,
        group_id: Option<&'a str>,
    ) -> futures_util::future::BoxFuture<'a, Result<(), RecoveryFailed>>;
}

/// Why a record could not be recovered: the container must not commit past it.
#[derive(Debug, thiserror::Error)]
#[error("recovering the failed record failed: {0}")]
pub struct RecoveryFailed(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Retries per a [`BackOff`], then runs a [`Recoverer`]. Shared by every partition of a
/// listener; each failed record gets its own back-off execution.
///
/// ```
/// use kafka_listener::error::{ErrorHandler, FixedBackOff, Recoverer};
/// use std::time::Duration;
///
/// // Spring's default: 10 deliveries, no wait, then log and skip.
/// let default = ErrorHandler::default();
/// // Three deliveries one second apart, then the next record.
/// let custom = ErrorHandler::new(FixedBackOff::new(Duration::from_secs(1), 2), Recoverer::LogAndSkip);
/// ```
#[derive(Debug, Clone)]
pub struct ErrorHandler {
    backoff: Arc<dyn BackOff>,
    recoverer: Recoverer,
}

impl Default for ErrorHandler {
    fn default() -> Self {
        Self::new(FixedBackOff::default(), Recoverer::LogAndSkip)
    }
}

impl ErrorHandler {
    /// Retries per `backoff`, then runs `recoverer`.
    pub fn new(backoff: impl BackOff + 'static, recoverer: Recoverer) -> Self {
        Self {
            backoff: Arc::new(backoff),
            recoverer,
        }
    }

    /// The back-off policy.
    pub fn backoff(&self) -> &dyn BackOff {
        self.backoff.as_ref()
    }

    /// Runs the recoverer for `record`, which failed with `failure` after `attempts`
    /// deliveries.
    pub async fn recover(
        &self,
        record: &ConsumerRecord,
        failure: &FailureDescription,
        attempts: u64,
        group_id: Option<&str>,
    ) -> Result<(), RecoveryFailed> {
        match &self.recoverer {
            Recoverer::LogAndSkip => {
                tracing::error!(
                    topic = %record.topic,
                    partition = record.partition,
                    offset = record.offset,
                    attempts,
                    error = %failure.message,
                    error_type = %failure.type_name,
                    "record failed; retries exhausted, skipping it"
                );
                Ok(())
            }
            // Boxed: a produce is a deep future, and recovery is the rare path — this keeps the
            // partition worker's own future small.
            Recoverer::DeadLetter(publisher) => {
                Box::pin(publisher.publish(record, failure, group_id))
                    .await
                    .map(drop)
                    .map_err(|e| RecoveryFailed(Box::new(e)))
            }
            Recoverer::RetryTopics(forwarder) => {
                Box::pin(forwarder.forward(record, failure, group_id))
                    .await
                    .map_err(|e| RecoveryFailed(Box::new(e)))
            }
            Recoverer::Custom(recoverer) => recoverer.recover(record, failure, group_id).await,
        }
    }
}
