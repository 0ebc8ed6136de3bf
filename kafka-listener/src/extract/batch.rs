//! Batch listener payloads: `Vec<T>` (all or nothing) and [`Batch<T>`] (per-record results).

use super::{BatchContext, ExtractError, FromBatch, FromRecord, RecordMeta};

/// Every record of the batch extracted as `T` (`Vec<Json<T>>`, `Vec<String>`,
/// `Vec<ConsumerRecord<K, V>>`, …). The first record that fails makes the whole batch an error
/// value naming its index; take [`Batch<T>`] to handle bad records yourself.
impl<T: FromRecord> FromBatch for Vec<T> {
    type Rejection = ExtractError;
    fn from_batch(ctx: &BatchContext) -> Result<Self, ExtractError> {
        ctx.records()
            .iter()
            .enumerate()
            .map(|(index, record)| {
                T::from_record(record).map_err(|e| ExtractError::InBatch {
                    index,
                    source: Box::new(e.into()),
                })
            })
            .collect()
    }
}

/// One record of a [`Batch`]: where it came from and what it extracted to.
#[derive(Debug)]
pub struct BatchEntry<T> {
    /// The record's position and timestamp.
    pub meta: RecordMeta,
    /// The extracted value, or why extraction failed (the raw bytes are in the error).
    pub value: Result<T, ExtractError>,
}

/// The records of a batch, each extracted as `T` on its own: a record that fails to
/// deserialize does not fail the batch (Spring's batch `ErrorHandlingDeserializer` behaviour).
///
/// ```
/// use kafka_listener::{kafka_listener, Batch, BatchAcknowledgment, Json};
///
/// #[kafka_listener(topics = "clicks", group_id = "stats", batch = true, ack_mode = "MANUAL")]
/// async fn on_clicks(clicks: Batch<Json<serde_json::Value>>, ack: BatchAcknowledgment) {
///     for entry in clicks.iter() {
///         match &entry.value {
///             Ok(click) => println!("click {click:?}"),
///             Err(bad) => eprintln!("skipping {}@{}: {bad}", entry.meta.topic, entry.meta.offset),
///         }
///     }
///     ack.acknowledge();
/// }
/// ```
#[derive(Debug)]
pub struct Batch<T> {
    entries: Vec<BatchEntry<T>>,
}

impl<T> Batch<T> {
    /// The number of records.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` for an empty batch.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries in batch order.
    pub fn iter(&self) -> std::slice::Iter<'_, BatchEntry<T>> {
        self.entries.iter()
    }

    /// The values that extracted, in batch order.
    pub fn values(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().filter_map(|e| e.value.as_ref().ok())
    }

    /// The failures with their batch index, in batch order.
    pub fn failures(&self) -> impl Iterator<Item = (usize, &ExtractError)> {
        self.entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.value.as_ref().err().map(|err| (i, err)))
    }
}

impl<T> IntoIterator for Batch<T> {
    type Item = BatchEntry<T>;
    type IntoIter = std::vec::IntoIter<BatchEntry<T>>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Batch<T> {
    type Item = &'a BatchEntry<T>;
    type IntoIter = std::slice::Iter<'a, BatchEntry<T>>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

impl<T: FromRecord> FromBatch for Batch<T> {
    type Rejection = std::convert::Infallible;
    fn from_batch(ctx: &BatchContext) -> Result<Self, Self::Rejection> {
        let entries = ctx
            .records()
            .iter()
            .map(|record| BatchEntry {
                meta: RecordMeta::of(record.record()),
                value: T::from_record(record).map_err(Into::into),
            })
            .collect();
        Ok(Batch { entries })
    }
}
