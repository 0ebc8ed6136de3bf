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
