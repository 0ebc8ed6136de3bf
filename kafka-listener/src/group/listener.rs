//! [`RebalanceListener`]: the callbacks a container hooks into rebalances, with Java's
//! `ConsumerRebalanceListener` contract.

use std::future::Future;
use std::pin::Pin;

use super::{OffsetCommitter, TopicPartition};

/// A boxed future, as the listener's methods return (they are called through `dyn`).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Callbacks run inside [`GroupMember::poll`](super::GroupMember::poll) and
/// [`close`](super::GroupMember::close).
///
/// * `on_partitions_revoked` runs BEFORE the member rejoins (eager protocol: every owned
///   partition; cooperative: only the partitions that moved away), while the member's
///   generation is still valid — drain in-flight work and commit through `committer` here.
/// * `on_partitions_assigned` runs after SyncGroup with the newly added partitions (possibly
///   none, as Java does).
/// * `on_partitions_lost` runs when the member was fenced (session expired, generation
///   illegal, poll interval exceeded): the partitions already belong to others, so do NOT commit.
///
/// ```
/// use kafka_listener::group::{BoxFuture, OffsetCommitter, RebalanceListener, TopicPartition};
///
/// struct LogChanges;
/// impl RebalanceListener for LogChanges {
///     fn on_partitions_assigned<'a>(
///         &'a self,
///         partitions: &'a [TopicPartition],
///         _committer: &'a OffsetCommitter,
///     ) -> BoxFuture<'a, ()> {
///         Box::pin(async move { println!("assigned {partitions:?}") })
///     }
/// }
/// ```
pub trait RebalanceListener: Send + Sync {
    /// Partitions are about to be taken away; the generation is still valid for commits.
    fn on_partitions_revoked<'a>(
        &'a self,
        partitions: &'a [TopicPartition],
        committer: &'a OffsetCommitter,
    ) -> BoxFuture<'a, ()> {
        let _ = (partitions, committer);
        Box::pin(async {})
    }

    /// Partitions were added to this member's assignment.
    fn on_partitions_assigned<'a>(
        &'a self,
        partitions: &'a [TopicPartition],
        committer: &'a OffsetCommitter,
    ) -> BoxFuture<'a, ()> {
        let _ = (partitions, committer);
        Box::pin(async {})
    }

    /// Partitions were lost without a chance to commit (the member was fenced).
    fn on_partitions_lost<'a>(&'a self, partitions: &'a [TopicPartition]) -> BoxFuture<'a, ()> {
        let _ = partitions;
        Box::pin(async {})
    }
}

/// The listener used when none is set: it does nothing.
pub(crate) struct NoopListener;

impl RebalanceListener for NoopListener {}
