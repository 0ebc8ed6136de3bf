//! Replies, Spring's `@SendTo` and `ReplyingKafkaTemplate`.
//!
//! * A listener declared with `#[kafka_listener(..., send_to = "topic")]` has its `Ok(value)`
//!   produced to `topic` with the incoming record's key, and the request's `kafka_correlationId`
//!   header copied, **before** the incoming record counts as handled: the container only
//!   acknowledges it once the reply was acknowledged by the broker. A failed reply is a failed
//!   delivery that goes to the error handler. `send_to` without a topic replies to the request's
//!   `kafka_replyTopic` header (and `kafka_replyPartition`, if set), as Spring's bare `@SendTo`.
//! * [`ReplyingKafkaTemplate`] sends a request carrying `kafka_correlationId` and
//!   `kafka_replyTopic` and awaits the reply with the same correlation id, with a timeout.

mod replying_template;
mod send_to;

pub use replying_template::{ReplyError, ReplyingKafkaTemplate};
pub use send_to::{IntoReply, ReplySender};

pub(crate) use send_to::reply;

/// Spring's `KafkaHeaders.CORRELATION_ID`: pairs a reply with its request.
pub const CORRELATION_ID: &str = "kafka_correlationId";
/// Spring's `KafkaHeaders.REPLY_TOPIC`: where the requester waits for the reply (UTF-8).
pub const REPLY_TOPIC: &str = "kafka_replyTopic";
/// Spring's `KafkaHeaders.REPLY_PARTITION`: the reply topic's partition the requester reads
/// (4-byte big-endian int).
pub const REPLY_PARTITION: &str = "kafka_replyPartition";
