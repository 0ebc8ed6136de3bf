//! Where a record came from: [`RecordMeta`], and the whole typed [`ConsumerRecord<K, V>`].

use super::payload::decode;
use super::{ExtractError, FromPayload, FromRecord, RecordContext, RecordPart};
use crate::{ConsumerRecord, TimestampType};

/// The record's position and timestamp (Spring's `@Header(KafkaHeaders.RECEIVED_…)` values).
///
/// ```
/// use kafka_listener::{kafka_listener, RecordMeta};
///
/// #[kafka_listener(topics = "audit", group_id = "auditor")]
/// async fn audit(entry: String, meta: RecordMeta) {
///     println!("{}-{}@{} at {}: {entry}", meta.topic, meta.partition, meta.offset, meta.timestamp);
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordMeta {
    /// Topic the record was read from.
    pub topic: String,
    /// Partition within the topic.
    pub partition: i32,
    /// Offset within the partition.
    pub offset: i64,
    /// Timestamp in milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// How the timestamp was set.
    pub timestamp_type: TimestampType,
}

impl RecordMeta {
    /// The metadata of `record`.
    pub fn of<K, V>(record: &ConsumerRecord<K, V>) -> Self {
        Self {
            topic: record.topic.clone(),
            partition: record.partition,
            offset: record.offset,
            timestamp: record.timestamp,
            timestamp_type: record.timestamp_type,
        }
    }
}

impl FromRecord for RecordMeta {
    type Rejection = std::convert::Infallible;
    fn from_record(ctx: &RecordContext) -> Result<Self, Self::Rejection> {
        Ok(RecordMeta::of(ctx.record()))
    }
}

/// The whole record with its key decoded as `K` and its value as `V` (both default to raw
/// `Bytes`). Null keys and tombstones stay `None`; bytes that do not decode are an error value.
///
/// ```
/// use kafka_listener::{kafka_listener, ConsumerRecord, Json};
///
/// #[kafka_listener(topics = "prices", group_id = "pricing")]
/// async fn on_price(record: ConsumerRecord<String, Json<f64>>) {
///     match record.value {
///         Some(Json(price)) => println!("{:?} costs {price}", record.key),
///         None => println!("{:?} was deleted", record.key),
///     }
/// }
/// ```
impl<K: FromPayload, V: FromPayload> FromRecord for ConsumerRecord<K, V> {
    type Rejection = ExtractError;
    fn from_record(ctx: &RecordContext) -> Result<Self, ExtractError> {
        let raw = ctx.record();
        let key = match &raw.key {
            None => None,
            Some(bytes) => Some(decode(ctx, RecordPart::Key, bytes)?),
        };
        let value = match &raw.value {
            None => None,
            Some(bytes) => Some(decode(ctx, RecordPart::Value, bytes)?),
        };
        Ok(ConsumerRecord {
            topic: raw.topic.clone(),
            partition: raw.partition,
            offset: raw.offset,
            timestamp: raw.timestamp,
            timestamp_type: raw.timestamp_type,
            key,
            value,
            headers: raw.headers.clone(),
        })
    }
}
