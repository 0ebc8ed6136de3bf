//! When and how a partition commits: the ack mode's schedule, one commit on the wire at a time,
//! the timer that commits on partitions whose records stopped arriving, and retries with
//! back-off for commits that fail.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use super::super::commit_policy::{CommitPolicy, CommitSchedule};
use super::super::events::ContainerEvent;
use super::super::offset_tracker::OffsetTracker;
use super::background_commit::{BackgroundCommit, CommitAnswer};
use super::handle::PartitionIdentity;
use super::settings::PartitionCommitter;

/// The first wait after a failed commit; it doubles up to [`MAX_RETRY_WAIT`].
const FIRST_RETRY_WAIT: Duration = Duration::from_millis(100);
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);

/// A partition's commits.
pub(super) struct Commits<C> {
    /// Where commit tasks run (the app's task tracker).
    tasks: TaskTracker,
    committer: Arc<C>,
    schedule: CommitSchedule,
    wire: BackgroundCommit,
    /// Failed commits in a row, and the last error.
    failures: u32,
    /// When the commit that failed is tried again.
    retry_at: Option<Instant>,
}

impl<C: PartitionCommitter> Commits<C> {
    pub(super) fn new(tasks: TaskTracker, committer: Arc<C>, policy: CommitPolicy) -> Self {
        Self {
            tasks,
            committer,
            schedule: CommitSchedule::new(policy, Instant::now()),
            wire: BackgroundCommit::default(),
            failures: 0,
            retry_at: None,
        }
    }

    pub(super) fn policy(&self) -> CommitPolicy {
        self.schedule.policy()
    }

    /// A record finished (handled or recovered): commits if the ack mode says so.
    pub(super) fn record_finished(
        &mut self,
        tracker: &OffsetTracker,
        identity: &PartitionIdentity,
    ) {
        if self.schedule.record_handled() {
            self.commit(tracker, identity);
        }
    }

    /// The handler acknowledged a record: commits if the ack mode says so.
    pub(super) fn acknowledged(&mut self, tracker: &OffsetTracker, identity: &PartitionIdentity) {
        if self.schedule.acknowledged() {
            self.commit(tracker, identity);
        }
    }

    /// Every record of a poll finished: commits if the ack mode says so.
    pub(super) fn poll_finished(&mut self, tracker: &OffsetTracker, identity: &PartitionIdentity) {
        if self.schedule.poll_handled(Instant::now()) {
            self.commit(tracker, identity);
        }
    }

    /// Commits the acknowledged prefix in the background; if a commit is on the wire, this one
    /// follows as soon as it is answered, with the newest position.
    pub(super) fn commit(&mut self, tracker: &OffsetTracker, identity: &PartitionIdentity) {
        if self.wire.is_busy() {
            self.wire.defer();
            return;
        }
        if let Some(position) = tracker.committable() {
            self.retry_at = None;
            self.wire.send(
                &self.tasks,
                &self.committer,
                &identity.topic,
                identity.partition,
                position,
            );
        }
        self.schedule.committed(Instant::now());
    }

    /// When the timer should next look at this partition's commits: a failed commit's retry,
    /// or the ack mode's time-based commit — only while something acknowledged is uncommitted
    /// and no commit is on the wire.
    pub(super) fn due_at(&self, tracker: &OffsetTracker, idle: bool) -> Option<Instant> {
        if self.wire.is_busy() || tracker.committable().is_none() {
            return None;
        }
        self.retry_at.or_else(|| self.schedule.due_at(idle))
    }

    /// The timer fired: commits if it is due.
    pub(super) fn on_timer(
        &mut self,
        tracker: &OffsetTracker,
        identity: &PartitionIdentity,
        idle: bool,
    ) {
        if self
            .due_at(tracker, idle)
            .is_some_and(|due| due <= Instant::now())
        {
            self.commit(tracker, identity);
        }
    }

    /// The answer of the commit on the wire; pending forever if there is none. Cancel-safe.
    pub(super) async fn answer(&mut self) -> CommitAnswer {
        self.wire.answer().await
    }

    /// A commit was answered: records it, or schedules a retry; sends the commit that waited
    /// for it.
    pub(super) fn on_answer(
        &mut self,
        (position, result): CommitAnswer,
        tracker: &mut OffsetTracker,
        identity: &PartitionIdentity,
    ) {
        match result {
            Ok(()) => {
                tracing::debug!(position, "offset committed");
                tracker.committed(position);
                self.failures = 0;
                self.retry_at = None;
            }
            Err(error) => {
                self.failures += 1;
                let wait = retry_wait(self.failures);
                tracing::warn!(position, %error, failures = self.failures, retry_in_ms = wait.as_millis() as u64, "commit failed; will commit again");
                self.retry_at = Some(Instant::now() + wait);
                if self.failures % ContainerEvent::COMMIT_FAILURES_PER_EVENT == 0 {
                    identity.emit(ContainerEvent::CommitFailed {
                        listener: identity.listener_id.to_string(),
                        partition: identity.topic_partition(),
                        position,
                        failures: self.failures,
                        error,
                    });
                }
            }
        }
        // A commit asked for meanwhile follows now; after a failure the retry timer sends it.
        if self.wire.take_deferred() && self.retry_at.is_none() {
            self.commit(tracker, identity);
        }
    }

    /// Before the worker ends: waits for the commit on the wire, then commits what is left
    /// (once more if that fails) and waits for it.
    pub(super) async fn flush(
        &mut self,
        tracker: &mut OffsetTracker,
        identity: &PartitionIdentity,
    ) {
        for _ in 0..3 {
            while self.wire.is_busy() {
                let answer = self.wire.answer().await;
                self.on_answer(answer, tracker, identity);
            }
            if tracker.committable().is_none() {
                return;
            }
            self.commit(tracker, identity);
        }
        while self.wire.is_busy() {
            let answer = self.wire.answer().await;
            self.on_answer(answer, tracker, identity);
        }
    }
}

/// 100 ms, doubling per failure in a row, at most 5 s.
fn retry_wait(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    (FIRST_RETRY_WAIT * 2u32.pow(doublings)).min(MAX_RETRY_WAIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_waits_double_from_100_ms_up_to_5_s() {
        let waits: Vec<u64> = (1..=8).map(|n| retry_wait(n).as_millis() as u64).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    }
}
