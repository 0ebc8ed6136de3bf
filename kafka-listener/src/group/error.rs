//! [`GroupError`]: everything the group client can fail with, each message saying what to do.

use std::time::Duration;

use kafka_protocol::ResponseError;

use super::{ProtocolError, TopicPartition};
use crate::client::ConnectionError;

/// What went wrong in the consumer-group client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GroupError {
    /// No broker named a coordinator for the group in time.
    #[error("group {group}: no coordinator found within {after:?} (last error: {last}); check that the brokers are up and __consumer_offsets can be created")]
    CoordinatorNotFound {
        /// The group id.
        group: String,
        /// How long we tried.
        after: Duration,
        /// The last error seen.
        last: String,
    },
    /// Talking to a broker failed; the connection was dropped and will be replaced.
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    /// The coordinator answered a group request with an error we cannot recover from here.
    #[error("group {group}: {api} failed with {error}: {hint}")]
    Broker {
        /// The group id.
        group: String,
        /// The request that failed.
        api: &'static str,
        /// Kafka's error.
        error: ResponseError,
        /// What to check.
        hint: &'static str,
    },
    /// Another member with the same `group.instance.id` took over; this member is fenced for
    /// good (as in Java): every later poll fails the same way; close it.
    #[error("group {group}: another consumer joined with group.instance.id {instance_id}; give each instance a unique id, and close this member")]
    FencedInstance {
        /// The group id.
        group: String,
        /// Our `group.instance.id`.
        instance_id: String,
    },
    /// The owner did not call into the member within `max.poll.interval.ms`, so it left the
    /// group and lost its partitions (Java's semantics). The next poll rejoins.
    #[error("group {group}: not polled within max.poll.interval.ms ({interval:?}); the member left the group and lost its partitions — process records faster or raise max.poll.interval.ms")]
    MaxPollIntervalExceeded {
        /// The group id.
        group: String,
        /// The configured interval.
        interval: Duration,
    },
    /// The group was rebalancing when a commit arrived. Commit again after the next poll
    /// rejoined (with the partitions still assigned), or let the new owner reprocess.
    #[error("group {group}: commit rejected because the group is rebalancing; poll to rejoin, then commit again")]
    RebalanceInProgress {
        /// The group id.
        group: String,
    },
    /// The member's generation is no longer valid (it was fenced or has not joined): its
    /// commits are refused and its partitions belong to others now.
    #[error("group {group}: commit refused: the member is not in the current generation ({reason}); its partitions were lost")]
    NotInGeneration {
        /// The group id.
        group: String,
        /// Why.
        reason: String,
    },
    /// `auto.offset.reset=none` and the group has no committed offset for a partition.
    #[error("group {group}: no committed offset for {partition} and auto.offset.reset is none; commit an offset or set auto.offset.reset to earliest or latest")]
    NoOffsetForPartition {
        /// The group id.
        group: String,
        /// The partition.
        partition: TopicPartition,
    },
    /// A member's subscription or the leader's assignment could not be decoded.
    #[error("group {group}: {source}")]
    Protocol {
        /// The group id.
        group: String,
        /// The decoding error.
        #[source]
        source: ProtocolError,
    },
    /// The coordinator chose an assignment protocol this member did not offer.
    #[error("group {group}: coordinator selected unknown assignor `{protocol}`")]
    UnknownProtocol {
        /// The group id.
        group: String,
        /// The protocol name.
        protocol: String,
    },
    /// Listing offsets for `auto.offset.reset` failed.
    #[error("group {group}: cannot list offsets of {partition}: {reason}")]
    ListOffsets {
        /// The group id.
        group: String,
        /// The partition.
        partition: TopicPartition,
        /// The data-plane error.
        reason: String,
    },
}

impl GroupError {
    /// `true` when the same call may succeed after the member polls (and so rejoins).
    pub fn is_retriable_after_rejoin(&self) -> bool {
        matches!(
            self,
            Self::RebalanceInProgress { .. }
                | Self::Connection(_)
                | Self::CoordinatorNotFound { .. }
        )
    }
}

/// Kafka error codes the group client reacts to, decoded once.
pub(crate) fn response_error(code: i16) -> Option<ResponseError> {
    ResponseError::try_from_code(code)
}

/// `true` for errors after which the coordinator must be looked up again.
pub(crate) fn coordinator_moved(error: ResponseError) -> bool {
    matches!(
        error,
        ResponseError::NotCoordinator | ResponseError::CoordinatorNotAvailable
    )
}
