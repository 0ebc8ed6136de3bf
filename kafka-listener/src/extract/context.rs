//! What extractors read from: one record ([`RecordContext`]) or one batch ([`BatchContext`]),
//! with the listener's identity, the application state and the acknowledgment handle.

use super::{AppState, FromBatch, FromRecord};
use crate::ack::{AckSink, Acknowledgment, BatchAcknowledgment, RecordPosition};
use crate::ConsumerRecord;
use std::sync::Arc;

/// Which listener a record is delivered to. Also an extractor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListenerInfo {
    /// The listener's id (its `id` attribute, or the function's name).
    pub id: Arc<str>,
    /// The consumer group, if the listener consumes in one.
    pub group_id: Option<Arc<str>>,
}

impl ListenerInfo {
    /// The listener `id`, consuming in `group_id`.
    pub fn new(id: impl Into<Arc<str>>, group_id: Option<&str>) -> Self {
        Self {
            id: id.into(),
            group_id: group_id.map(Into::into),
        }
    }
}

/// Everything a record extractor can read: the raw record, the listener, the application state
/// and the record's acknowledgment handle.
///
/// The listener container builds one per delivered record; tests build one to drive a handler's
/// adapter directly.
///
/// ```
/// use kafka_listener::extract::{AppState, FromRecord, ListenerInfo, RecordContext};
/// use kafka_listener::{ConsumerRecord, Headers, TimestampType};
/// # use std::sync::Arc;
/// # struct NoAck;
/// # impl kafka_listener::ack::AckSink for NoAck {
/// #     fn acknowledge(&self, _: &str, _: i32, _: i64) {}
/// #     fn nack(&self, _: &str, _: i32, _: i64, _: std::time::Duration) {}
/// # }
///
/// let record = ConsumerRecord {
///     topic: "orders".into(),
///     partition: 0,
///     offset: 7,
///     timestamp: 1_700_000_000_000,
///     timestamp_type: TimestampType::CreateTime,
///     key: Some("k1".into()),
///     value: Some(r#"{"id":1}"#.into()),
///     headers: Headers::new(),
/// };
/// let ctx = RecordContext::new(record, Arc::new(NoAck))
///     .with_listener(ListenerInfo::new("on_order", Some("billing")))
///     .with_state(AppState::new().with(5u8));
/// assert_eq!(String::from_record(&ctx).unwrap(), r#"{"id":1}"#);
/// ```
#[derive(Debug, Clone)]
pub struct RecordContext {
    record: ConsumerRecord,
    listener: ListenerInfo,
    state: AppState,
    ack: Acknowledgment,
}

impl RecordContext {
    /// A context for `record` whose acknowledgments go to `sink`, with no listener identity and
    /// no state.
    pub fn new(record: ConsumerRecord, sink: Arc<dyn AckSink>) -> Self {
        let position = RecordPosition {
            topic: record.topic.as_str().into(),
            partition: record.partition,
            offset: record.offset,
        };
        Self {
            record,
            listener: ListenerInfo::default(),
            state: AppState::default(),
            ack: Acknowledgment::new(position, sink),
        }
    }

    /// Sets the listener the record is delivered to.
    pub fn with_listener(mut self, listener: ListenerInfo) -> Self {
        self.listener = listener;
        self
    }

    /// Sets the application state.
    pub fn with_state(mut self, state: AppState) -> Self {
        self.state = state;
        self
    }

    /// The record as received (raw bytes).
    pub fn record(&self) -> &ConsumerRecord {
        &self.record
    }

    /// The listener the record is delivered to.
    pub fn listener(&self) -> &ListenerInfo {
        &self.listener
    }

    /// The application state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The record's acknowledgment handle.
    pub fn acknowledgment(&self) -> &Acknowledgment {
        &self.ack
    }
}

/// Everything a batch extractor can read: the records of one poll (in delivery order), the
/// listener, the application state and the batch's acknowledgment handle.
///
/// ```
/// use kafka_listener::extract::{BatchContext, FromBatch, ListenerInfo};
/// use kafka_listener::{ConsumerRecord, Headers, TimestampType};
/// # use std::sync::Arc;
/// # struct NoAck;
/// # impl kafka_listener::ack::AckSink for NoAck {
/// #     fn acknowledge(&self, _: &str, _: i32, _: i64) {}
/// #     fn nack(&self, _: &str, _: i32, _: i64, _: std::time::Duration) {}
/// # }
/// let record = |offset, value: &'static str| ConsumerRecord {
///     topic: "clicks".into(),
///     partition: 0,
///     offset,
///     timestamp: 0,
///     timestamp_type: TimestampType::CreateTime,
///     key: None,
///     value: Some(value.into()),
///     headers: Headers::new(),
/// };
/// let ctx = BatchContext::new(vec![record(0, "a"), record(1, "b")], Arc::new(NoAck));
/// assert_eq!(Vec::<String>::from_batch(&ctx).unwrap(), ["a", "b"]);
/// ```
#[derive(Debug, Clone)]
pub struct BatchContext {
    records: Vec<RecordContext>,
    listener: ListenerInfo,
    state: AppState,
    ack: BatchAcknowledgment,
}

impl BatchContext {
    /// A context for `records` whose acknowledgments go to `sink`, with no listener identity
    /// and no state.
    pub fn new(records: Vec<ConsumerRecord>, sink: Arc<dyn AckSink>) -> Self {
        let records: Vec<RecordContext> = records
            .into_iter()
            .map(|record| RecordContext::new(record, sink.clone()))
            .collect();
        let positions: Arc<[RecordPosition]> = records
            .iter()
            .map(|r| r.acknowledgment().position().clone())
            .collect();
        Self {
            records,
            listener: ListenerInfo::default(),
            state: AppState::default(),
            ack: BatchAcknowledgment::new(positions, sink),
        }
    }

    /// Sets the listener the batch is delivered to.
    pub fn with_listener(mut self, listener: ListenerInfo) -> Self {
        for record in &mut self.records {
            record.listener = listener.clone();
        }
        self.listener = listener;
        self
    }

    /// Sets the application state.
    pub fn with_state(mut self, state: AppState) -> Self {
        for record in &mut self.records {
            record.state = state.clone();
        }
        self.state = state;
        self
    }

    /// One context per record, in batch order; each extracts like a single record.
    pub fn records(&self) -> &[RecordContext] {
        &self.records
    }

    /// The listener the batch is delivered to.
    pub fn listener(&self) -> &ListenerInfo {
        &self.listener
    }

    /// The application state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The batch's acknowledgment handle.
    pub fn acknowledgment(&self) -> &BatchAcknowledgment {
        &self.ack
    }
}

impl FromRecord for Acknowledgment {
    type Rejection = std::convert::Infallible;
    fn from_record(ctx: &RecordContext) -> Result<Self, Self::Rejection> {
        Ok(ctx.ack.clone())
    }
}

impl FromBatch for BatchAcknowledgment {
    type Rejection = std::convert::Infallible;
    fn from_batch(ctx: &BatchContext) -> Result<Self, Self::Rejection> {
        Ok(ctx.ack.clone())
    }
}

impl FromRecord for ListenerInfo {
    type Rejection = std::convert::Infallible;
    fn from_record(ctx: &RecordContext) -> Result<Self, Self::Rejection> {
        Ok(ctx.listener.clone())
    }
}

impl FromBatch for ListenerInfo {
    type Rejection = std::convert::Infallible;
    fn from_batch(ctx: &BatchContext) -> Result<Self, Self::Rejection> {
        Ok(ctx.listener.clone())
    }
}
