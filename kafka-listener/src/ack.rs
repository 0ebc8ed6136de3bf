//! The acknowledgment handles a handler receives: [`Acknowledgment`] for one record,
//! [`BatchAcknowledgment`] for a batch.
//!
//! A handle only says *which* offset was acknowledged (or negatively acknowledged); what that
//! means for commits — queue until the end of the poll (`MANUAL`) or commit now
//! (`MANUAL_IMMEDIATE`) — belongs to the listener container, which plugs its offset tracker in
//! through the [`AckSink`] seam. Tests plug in a sink that records the calls.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Where acknowledgments go: the listener container's offset tracker, or a test's recorder.
///
/// Offsets are the record's own offset; the committed offset (last handled + 1) is the
/// tracker's business.
///
/// ```
/// use kafka_listener::ack::AckSink;
/// use std::sync::Mutex;
/// use std::time::Duration;
///
/// #[derive(Default)]
/// struct Recorder(Mutex<Vec<String>>);
///
/// impl AckSink for Recorder {
///     fn acknowledge(&self, topic: &str, partition: i32, offset: i64) {
///         self.0.lock().unwrap().push(format!("ack {topic}-{partition}@{offset}"));
///     }
///     fn nack(&self, topic: &str, partition: i32, offset: i64, sleep: Duration) {
///         self.0.lock().unwrap().push(format!("nack {topic}-{partition}@{offset} {sleep:?}"));
///     }
/// }
/// ```
#[doc(hidden)]
pub trait AckSink: Send + Sync + 'static {
    /// The record at `offset` has been handled and may be committed.
    fn acknowledge(&self, topic: &str, partition: i32, offset: i64);
    /// The record at `offset` was not handled: seek back to it and redeliver after `sleep`
    /// (Spring's `Acknowledgment.nack(Duration)`).
    fn nack(&self, topic: &str, partition: i32, offset: i64, sleep: Duration);
}

/// The position of one record: what an acknowledgment refers to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RecordPosition {
    /// Topic of the record.
    pub topic: Arc<str>,
    /// Partition of the record.
    pub partition: i32,
    /// Offset of the record.
    pub offset: i64,
}

/// Manual acknowledgment of one record, as Spring's `Acknowledgment`.
///
/// Take it as a handler argument in the `MANUAL` or `MANUAL_IMMEDIATE` ack mode and call
/// [`acknowledge`](Self::acknowledge) once the record is handled. Calling it more than once is
/// harmless.
///
/// ```
/// use kafka_listener::{kafka_listener, Acknowledgment, Json};
///
/// #[kafka_listener(topics = "orders", group_id = "billing", ack_mode = "MANUAL")]
/// async fn bill(order: Json<serde_json::Value>, ack: Acknowledgment) {
///     // … handle the order …
///     ack.acknowledge();
/// }
/// ```
#[derive(Clone)]
pub struct Acknowledgment {
    position: RecordPosition,
    sink: Arc<dyn AckSink>,
}

impl Acknowledgment {
    /// A handle for the record at `position` whose calls go to `sink`.
    #[doc(hidden)]
    pub fn new(position: RecordPosition, sink: Arc<dyn AckSink>) -> Self {
        Self { position, sink }
    }

    /// Marks the record as handled so its offset can be committed.
    pub fn acknowledge(&self) {
        let p = &self.position;
        self.sink.acknowledge(&p.topic, p.partition, p.offset);
    }

    /// Rejects the record: the container seeks back to it and redelivers it after `sleep`,
    /// without invoking the error handler (Spring's `nack(Duration)`).
    pub fn nack(&self, sleep: Duration) {
        let p = &self.position;
        self.sink.nack(&p.topic, p.partition, p.offset, sleep);
    }

    /// The record this handle acknowledges.
    pub fn position(&self) -> &RecordPosition {
        &self.position
    }
}

impl fmt::Debug for Acknowledgment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acknowledgment")
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

/// The batch index passed to [`BatchAcknowledgment`] is past the end of the batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("batch index {index} is out of range: the batch holds {len} records (indexes 0..{len})")]
pub struct BatchIndexOutOfRange {
    /// The index asked for.
    pub index: usize,
    /// The number of records in the batch.
    pub len: usize,
}

/// Manual acknowledgment of a batch, as Spring's `Acknowledgment` in a batch listener.
///
/// ```
/// use kafka_listener::{kafka_listener, BatchAcknowledgment, Json};
///
/// #[kafka_listener(topics = "clicks", group_id = "stats", batch = true, ack_mode = "MANUAL")]
/// async fn count(clicks: Vec<Json<serde_json::Value>>, ack: BatchAcknowledgment) {
///     // … store the clicks …
///     ack.acknowledge();
/// }
/// ```
#[derive(Clone)]
pub struct BatchAcknowledgment {
    positions: Arc<[RecordPosition]>,
    sink: Arc<dyn AckSink>,
}

impl BatchAcknowledgment {
    /// A handle for the records at `positions` (batch order) whose calls go to `sink`.
    #[doc(hidden)]
    pub fn new(positions: Arc<[RecordPosition]>, sink: Arc<dyn AckSink>) -> Self {
        Self { positions, sink }
    }

    /// Marks every record of the batch as handled.
    pub fn acknowledge(&self) {
        self.acknowledge_records(&self.positions);
    }

    /// Marks the records at batch indexes `0..=index` as handled (Spring's
    /// `acknowledge(int index)`), for partial progress through a batch.
    pub fn acknowledge_up_to(&self, index: usize) -> Result<(), BatchIndexOutOfRange> {
        self.check(index)?;
        self.acknowledge_records(&self.positions[..=index]);
        Ok(())
    }

    /// Acknowledges the records before `index` and rejects the one at `index`: the container
    /// seeks back to it and redelivers it and the rest after `sleep` (Spring's
    /// `nack(int index, Duration sleep)`).
    pub fn nack(&self, index: usize, sleep: Duration) -> Result<(), BatchIndexOutOfRange> {
        self.check(index)?;
        self.acknowledge_records(&self.positions[..index]);
        let p = &self.positions[index];
        self.sink.nack(&p.topic, p.partition, p.offset, sleep);
        Ok(())
    }

    /// The records of the batch, in batch order.
    pub fn positions(&self) -> &[RecordPosition] {
        &self.positions
    }

    fn check(&self, index: usize) -> Result<(), BatchIndexOutOfRange> {
        if index < self.positions.len() {
            Ok(())
        } else {
            Err(BatchIndexOutOfRange {
                index,
                len: self.positions.len(),
            })
        }
    }

    fn acknowledge_records(&self, positions: &[RecordPosition]) {
        for p in positions {
            self.sink.acknowledge(&p.topic, p.partition, p.offset);
        }
    }
}

impl fmt::Debug for BatchAcknowledgment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchAcknowledgment")
            .field("records", &self.positions.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::Mutex;

    /// What a [`RecordingSink`] saw.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub(crate) enum AckCall {
        Ack(String, i32, i64),
        Nack(String, i32, i64, Duration),
    }

    #[derive(Default)]
    pub(crate) struct RecordingSink(Mutex<Vec<AckCall>>);

    impl RecordingSink {
        pub(crate) fn calls(&self) -> Vec<AckCall> {
            self.0.lock().unwrap().clone()
        }
    }

    impl AckSink for RecordingSink {
        fn acknowledge(&self, topic: &str, partition: i32, offset: i64) {
            self.0
                .lock()
                .unwrap()
                .push(AckCall::Ack(topic.into(), partition, offset));
        }
        fn nack(&self, topic: &str, partition: i32, offset: i64, sleep: Duration) {
            self.0
                .lock()
                .unwrap()
                .push(AckCall::Nack(topic.into(), partition, offset, sleep));
        }
    }

    fn position(partition: i32, offset: i64) -> RecordPosition {
        RecordPosition {
            topic: "t".into(),
            partition,
            offset,
        }
    }

    fn batch(sink: &Arc<RecordingSink>) -> BatchAcknowledgment {
        let positions: Arc<[RecordPosition]> =
            vec![position(0, 10), position(1, 3), position(0, 11)].into();
        BatchAcknowledgment::new(positions, sink.clone())
    }

    #[test]
    fn acknowledge_and_nack_report_the_records_position() {
        let sink = Arc::new(RecordingSink::default());
        let ack = Acknowledgment::new(position(2, 42), sink.clone());
        ack.acknowledge();
        ack.nack(Duration::from_millis(5));
        assert_eq!(
            sink.calls(),
            [
                AckCall::Ack("t".into(), 2, 42),
                AckCall::Nack("t".into(), 2, 42, Duration::from_millis(5))
            ]
        );
    }

    #[test]
    fn batch_acknowledge_covers_every_record_in_order() {
        let sink = Arc::new(RecordingSink::default());
        batch(&sink).acknowledge();
        assert_eq!(
            sink.calls(),
            [
                AckCall::Ack("t".into(), 0, 10),
                AckCall::Ack("t".into(), 1, 3),
                AckCall::Ack("t".into(), 0, 11)
            ]
        );
    }

    #[test]
    fn batch_acknowledge_up_to_stops_at_the_index() {
        let sink = Arc::new(RecordingSink::default());
        batch(&sink).acknowledge_up_to(1).unwrap();
        assert_eq!(
            sink.calls(),
            [
                AckCall::Ack("t".into(), 0, 10),
                AckCall::Ack("t".into(), 1, 3)
            ]
        );
    }

    #[test]
    fn batch_nack_acknowledges_the_records_before_the_failed_one() {
        let sink = Arc::new(RecordingSink::default());
        batch(&sink).nack(2, Duration::from_secs(1)).unwrap();
        assert_eq!(
            sink.calls(),
            [
                AckCall::Ack("t".into(), 0, 10),
                AckCall::Ack("t".into(), 1, 3),
                AckCall::Nack("t".into(), 0, 11, Duration::from_secs(1))
            ]
        );
    }

    #[test]
    fn batch_index_past_the_end_is_an_error_not_a_panic() {
        let sink = Arc::new(RecordingSink::default());
        let err = batch(&sink).nack(3, Duration::ZERO).unwrap_err();
        assert_eq!(err, BatchIndexOutOfRange { index: 3, len: 3 });
        assert!(batch(&sink).acknowledge_up_to(7).is_err());
        assert!(sink.calls().is_empty());
    }
}
