//! What running listeners report: assignments, revocations, errors — observable by the app, not
//! only logged (rust-rdkafka #433's max.poll.interval "just a log line" is the counter-example).

use crate::group::TopicPartition;

/// One thing that happened to a listener's consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContainerEvent {
    /// Partitions were assigned to one of the listener's consumers.
    PartitionsAssigned {
        /// The listener.
        listener: String,
        /// The partitions added.
        partitions: Vec<TopicPartition>,
    },
    /// Partitions were revoked after their work was drained and committed.
    PartitionsRevoked {
        /// The listener.
        listener: String,
        /// The partitions given up.
        partitions: Vec<TopicPartition>,
    },
    /// Partitions were lost (the consumer was fenced); nothing was committed for them.
    PartitionsLost {
        /// The listener.
        listener: String,
        /// The partitions lost.
        partitions: Vec<TopicPartition>,
    },
    /// A partition's position was outside its log. With `auto.offset.reset` earliest or latest
    /// the position moved to `reset_to`; with `none` it is `None` and the partition is paused
    /// until the application seeks it.
    OffsetOutOfRange {
        /// The listener.
        listener: String,
        /// The partition.
        partition: TopicPartition,
        /// The position that was out of range.
        offset: i64,
        /// Where consumption continues, if it does.
        reset_to: Option<i64>,
    },
    /// A record batch could not be read (CRC mismatch, malformed records); it went to the error
    /// handler as raw bytes and consumption continues after it.
    CorruptBatch {
        /// The listener.
        listener: String,
        /// The partition.
        partition: TopicPartition,
        /// The batch's first offset.
        base_offset: i64,
        /// The batch's last offset.
        last_offset: i64,
        /// What was wrong.
        reason: String,
    },
    /// A consumed topic no longer exists (deleted while consumed); the partition keeps retrying
    /// in case it is created again.
    TopicNotFound {
        /// The listener.
        listener: String,
        /// The partition.
        partition: TopicPartition,
    },
    /// A partition's offset commits keep failing (raised every
    /// [`COMMIT_FAILURES_PER_EVENT`](Self::COMMIT_FAILURES_PER_EVENT) failures in a row); the
    /// worker keeps retrying with back-off, and records stay uncommitted meanwhile.
    CommitFailed {
        /// The listener.
        listener: String,
        /// The partition.
        partition: TopicPartition,
        /// The position that could not be committed.
        position: i64,
        /// Failed commits in a row.
        failures: u32,
        /// The last error.
        error: String,
    },
    /// The consumer failed; it retries or rejoins on its own.
    ConsumerError {
        /// The listener.
        listener: String,
        /// What went wrong.
        message: String,
        /// `true` for max.poll.interval.ms exceeded: the member left the group.
        poll_interval_exceeded: bool,
    },
}

impl ContainerEvent {
    /// How many commit failures in a row raise one [`ContainerEvent::CommitFailed`].
    pub const COMMIT_FAILURES_PER_EVENT: u32 = 3;
}
