//! When to commit: Spring Kafka's ack modes as a small state machine per partition.
//!
//! Spring's definitions (its reference guide, "Committing Offsets"):
//! * `RECORD` commits when the listener returns after each record.
//! * `BATCH` commits when all records returned by one poll have been handled.
//! * `TIME` / `COUNT` commit at the end of a poll's records, once `ack-time` has passed /
//!   `ack-count` records have been handled since the last commit; `COUNT_TIME` when either holds.
//! * `MANUAL` commits the `acknowledge()`d records like `BATCH`, after the poll's records.
//! * `MANUAL_IMMEDIATE` commits as soon as `acknowledge()` is called.
//! * With `enable-auto-commit: true` the consumer commits its position every
//!   `auto.commit.interval.ms` instead, whatever the ack mode.
//!
//! What is committed is always the [`OffsetTracker`](super::OffsetTracker)'s contiguous
//! acknowledged prefix; this type only says *when*.

use std::time::Duration;

use tokio::time::Instant;

/// An ack mode with its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitPolicy {
    /// Commit after each record's handler returns.
    Record,
    /// Commit after all records of a poll are handled (Spring's default).
    Batch,
    /// At the end of a poll, if this long has passed since the last commit.
    Time(Duration),
    /// At the end of a poll, if this many records were handled since the last commit.
    Count(u32),
    /// At the end of a poll, if either the count or the time threshold is reached.
    CountTime(u32, Duration),
    /// Commit acknowledged records at the end of a poll.
    Manual,
    /// Commit as soon as a record is acknowledged.
    ManualImmediate,
    /// Kafka's auto-commit: commit the position every interval.
    AutoCommit(Duration),
}

impl CommitPolicy {
    /// `true` for the modes in which the handler acknowledges records itself.
    pub fn is_manual(self) -> bool {
        matches!(self, CommitPolicy::Manual | CommitPolicy::ManualImmediate)
    }
}

/// Decides, event by event, whether the partition should commit now.
///
/// ```
/// use kafka_listener::container::{CommitPolicy, CommitSchedule};
/// use std::time::Duration;
/// use tokio::time::Instant;
///
/// let start = Instant::now();
/// let mut schedule = CommitSchedule::new(CommitPolicy::Count(2), start);
/// assert!(!schedule.record_handled());
/// assert!(!schedule.poll_handled(start));  // 1 record since the last commit
/// assert!(!schedule.record_handled());
/// assert!(schedule.poll_handled(start));   // 2 records: commit
/// schedule.committed(start);
/// ```
#[derive(Debug, Clone)]
pub struct CommitSchedule {
    policy: CommitPolicy,
    handled_since_commit: u32,
    last_commit: Instant,
}

impl CommitSchedule {
    /// A schedule whose clock starts at `now` (the assignment time).
    pub fn new(policy: CommitPolicy, now: Instant) -> Self {
        Self {
            policy,
            handled_since_commit: 0,
            last_commit: now,
        }
    }

    /// The policy followed.
    pub fn policy(&self) -> CommitPolicy {
        self.policy
    }

    /// A record's handler returned (successfully, or its error was recovered). Returns `true`
    /// when the policy commits now.
    pub fn record_handled(&mut self) -> bool {
        self.handled_since_commit = self.handled_since_commit.saturating_add(1);
        matches!(self.policy, CommitPolicy::Record)
    }

    /// The handler called `acknowledge()`. Returns `true` when the policy commits now.
    pub fn acknowledged(&mut self) -> bool {
        matches!(self.policy, CommitPolicy::ManualImmediate)
    }

    /// Every record of one poll has been handled. Returns `true` when the policy commits now.
    pub fn poll_handled(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last_commit);
        match self.policy {
            CommitPolicy::Batch | CommitPolicy::Manual => true,
            CommitPolicy::Time(ack_time) => elapsed >= ack_time,
            CommitPolicy::Count(ack_count) => self.handled_since_commit >= ack_count,
            CommitPolicy::CountTime(ack_count, ack_time) => {
                self.handled_since_commit >= ack_count || elapsed >= ack_time
            }
            CommitPolicy::Record | CommitPolicy::ManualImmediate => false,
            CommitPolicy::AutoCommit(interval) => elapsed >= interval,
        }
    }

    /// When the policy commits what is acknowledged if no other event comes: the timer that
    /// serves partitions whose records stopped arriving. `idle` says that every record handed
    /// out has finished, so an acknowledgment that arrived after its poll ended (a MANUAL ack
    /// sent later, a record finished after the poll's commit) is committed now instead of with
    /// the next poll, which may never come. `None`: only an event commits.
    ///
    /// ```
    /// use kafka_listener::container::{CommitPolicy, CommitSchedule};
    /// use std::time::Duration;
    /// use tokio::time::Instant;
    ///
    /// let start = Instant::now();
    /// let time = CommitSchedule::new(CommitPolicy::Time(Duration::from_secs(5)), start);
    /// assert_eq!(time.due_at(false), Some(start + Duration::from_secs(5)));
    /// let manual = CommitSchedule::new(CommitPolicy::Manual, start);
    /// assert_eq!(manual.due_at(false), None);
    /// assert_eq!(manual.due_at(true), Some(start));
    /// ```
    pub fn due_at(&self, idle: bool) -> Option<Instant> {
        match self.policy {
            CommitPolicy::Time(interval)
            | CommitPolicy::CountTime(_, interval)
            | CommitPolicy::AutoCommit(interval) => Some(self.last_commit + interval),
            CommitPolicy::Count(_) => None,
            CommitPolicy::Record
            | CommitPolicy::Batch
            | CommitPolicy::Manual
            | CommitPolicy::ManualImmediate => idle.then_some(self.last_commit),
        }
    }

    /// A commit happened (or there was nothing new to commit): restart count and clock.
    pub fn committed(&mut self, now: Instant) {
        self.handled_since_commit = 0;
        self.last_commit = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn schedule(policy: CommitPolicy) -> (CommitSchedule, Instant) {
        let start = Instant::now();
        (CommitSchedule::new(policy, start), start)
    }

    #[test]
    fn record_mode_commits_after_every_record_and_not_at_poll_end() {
        let (mut s, start) = schedule(CommitPolicy::Record);
        assert!(s.record_handled());
        assert!(!s.poll_handled(start));
    }

    #[test]
    fn batch_and_manual_commit_at_the_end_of_each_poll_only() {
        for policy in [CommitPolicy::Batch, CommitPolicy::Manual] {
            let (mut s, start) = schedule(policy);
            assert!(!s.record_handled());
            assert!(!s.acknowledged());
            assert!(s.poll_handled(start), "{policy:?}");
        }
    }

    #[test]
    fn manual_immediate_commits_on_acknowledge() {
        let (mut s, start) = schedule(CommitPolicy::ManualImmediate);
        assert!(!s.record_handled());
        assert!(s.acknowledged());
        assert!(!s.poll_handled(start));
    }

    #[test]
    fn time_commits_at_poll_end_once_ack_time_passed() {
        let (mut s, start) = schedule(CommitPolicy::Time(5 * SECOND));
        s.record_handled();
        assert!(!s.poll_handled(start + 4 * SECOND));
        assert!(s.poll_handled(start + 5 * SECOND));
        s.committed(start + 5 * SECOND);
        assert!(!s.poll_handled(start + 9 * SECOND));
    }

    #[test]
    fn count_commits_at_poll_end_once_ack_count_records_were_handled() {
        let (mut s, start) = schedule(CommitPolicy::Count(3));
        s.record_handled();
        s.record_handled();
        assert!(!s.poll_handled(start));
        s.record_handled();
        assert!(s.poll_handled(start));
        s.committed(start);
        s.record_handled();
        assert!(!s.poll_handled(start));
    }

    #[test]
    fn count_time_commits_when_either_threshold_holds() {
        let (mut s, start) = schedule(CommitPolicy::CountTime(10, 5 * SECOND));
        s.record_handled();
        assert!(!s.poll_handled(start + SECOND));
        assert!(s.poll_handled(start + 5 * SECOND));
        s.committed(start);
        for _ in 0..10 {
            s.record_handled();
        }
        assert!(s.poll_handled(start));
    }

    #[test]
    fn auto_commit_is_due_every_interval() {
        let (mut s, start) = schedule(CommitPolicy::AutoCommit(5 * SECOND));
        assert_eq!(s.due_at(false), Some(start + 5 * SECOND));
        s.committed(start + 5 * SECOND);
        assert_eq!(s.due_at(false), Some(start + 10 * SECOND));
    }
}
