//! A partition's commits on the wire while its records keep flowing.
//!
//! Waiting for each OffsetCommit before handling the next record made the commit round trip
//! the ceiling of a partition's throughput (MANUAL ack, 500-record polls: a third of the
//! records/s of 5,000-record polls, `bench/run.sh`). Now a commit is sent in the background,
//! one at a time per partition so they can never arrive out of order; a commit asked for while
//! one is on the wire is folded into the next, sent as soon as the first is answered, with the
//! newest acknowledged position. Commit points are Spring's or later, never earlier: only
//! acknowledged records are committed. Stopping waits for the last commit.

use std::sync::Arc;

use tokio::task::JoinHandle;

use super::settings::PartitionCommitter;

/// The answer to a background commit: the position it committed and how it went.
pub(crate) type CommitAnswer = (i64, Result<(), String>);

/// At most one commit of a partition on the wire.
#[derive(Default)]
pub(crate) struct BackgroundCommit {
    in_flight: Option<(i64, JoinHandle<Result<(), String>>)>,
    /// A commit was asked for while another was on the wire.
    deferred: bool,
}

impl BackgroundCommit {
    /// `true` while a commit is on the wire.
    pub(crate) fn is_busy(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Remembers that a commit is wanted once the one on the wire is answered.
    pub(crate) fn defer(&mut self) {
        self.deferred = true;
    }

    /// Sends the commit of `position` in the background.
    pub(crate) fn send<C: PartitionCommitter>(
        &mut self,
        tasks: &tokio_util::task::TaskTracker,
        committer: &Arc<C>,
        topic: &Arc<str>,
        partition: i32,
        position: i64,
    ) {
        let (committer, topic) = (Arc::clone(committer), Arc::clone(topic));
        let task = tasks.spawn(async move { committer.commit(&topic, partition, position).await });
        self.in_flight = Some((position, task));
        self.deferred = false;
    }

    /// Waits for the answer of the commit on the wire; pending forever if there is none.
    /// Cancel-safe.
    pub(crate) async fn answer(&mut self) -> CommitAnswer {
        let Some((position, task)) = self.in_flight.as_mut() else {
            return std::future::pending().await;
        };
        let position = *position;
        let result = match task.await {
            Ok(result) => result,
            Err(join) => Err(format!("the commit task failed: {join}")),
        };
        self.in_flight = None;
        (position, result)
    }

    /// `true` once, after an answer, if a commit was asked for meanwhile.
    pub(crate) fn take_deferred(&mut self) -> bool {
        std::mem::take(&mut self.deferred)
    }
}
