//! What a partition worker is configured with and talks to: its record source and committer,
//! its settings, seek targets, and the clock its member reads for `max.poll.interval.ms`.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::super::commit_policy::CommitPolicy;
use super::super::lanes::Parallelism;
use crate::client::fetch::{FetchError, Fetched, OffsetQuery, PartitionFetcher};
use crate::vocabulary::AutoOffsetReset;

/// Where records come from: the partition's fetcher, or a test's source.
pub trait RecordSource: Send + 'static {
    /// Records at or after `position`.
    fn fetch(&mut self, position: i64) -> impl Future<Output = Result<Fetched, FetchError>> + Send;
    /// The offset `target` resolves to.
    fn resolve(&mut self, target: SeekTo) -> impl Future<Output = Result<i64, FetchError>> + Send;
}

impl RecordSource for PartitionFetcher {
    async fn fetch(&mut self, position: i64) -> Result<Fetched, FetchError> {
        PartitionFetcher::fetch(self, position).await
    }

    async fn resolve(&mut self, target: SeekTo) -> Result<i64, FetchError> {
        match target {
            SeekTo::Offset(offset) => Ok(offset),
            SeekTo::Beginning => self.offset_for(OffsetQuery::Earliest).await,
            SeekTo::End => self.offset_for(OffsetQuery::Latest).await,
            SeekTo::Timestamp(millis) => {
                match self.offset_for(OffsetQuery::Timestamp(millis)).await? {
                    // No record at or after the time: the log end, as Spring's seekToTimestamp.
                    offset if offset < 0 => self.offset_for(OffsetQuery::Latest).await,
                    offset => Ok(offset),
                }
            }
        }
    }
}

/// Commits one partition's position for the group.
pub trait PartitionCommitter: Send + Sync + 'static {
    /// Commits `position` (the next offset to consume) of `topic`-`partition`.
    fn commit(
        &self,
        topic: &str,
        partition: i32,
        position: i64,
    ) -> impl Future<Output = Result<(), String>> + Send;
}

/// Where a seek moves the position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeekTo {
    /// An absolute offset.
    Offset(i64),
    /// The earliest offset still in the log.
    Beginning,
    /// The log end: only new records.
    End,
    /// The first record whose timestamp is at or after this time (ms since the epoch); the log
    /// end if there is none.
    Timestamp(i64),
}

/// Per-partition settings.
#[derive(Debug, Clone, Copy)]
pub struct WorkerSettings {
    /// When to commit.
    pub commit_policy: CommitPolicy,
    /// Records handed to the handler per poll (`max.poll.records`, 500).
    pub max_poll_records: usize,
    /// Pause after each poll (`spring.kafka.listener.idle-between-polls`, 0).
    pub idle_between_polls: Duration,
    /// How long stopping waits for the in-flight handler (`shutdown-timeout`, 10 s).
    pub drain_timeout: Duration,
    /// `auto.offset.reset` for an out-of-range position.
    pub reset: AutoOffsetReset,
    /// Records of the partition handled at once (one, in offset order, by default).
    pub parallelism: Parallelism,
    /// Dispatched records the partition may hold unacknowledged (MANUAL acks not yet sent,
    /// parallel records behind a slow one); fetching pauses while the window is full, so the
    /// offset tracker stays bounded.
    pub max_unacknowledged: usize,
}

impl Default for WorkerSettings {
    fn default() -> Self {
        Self {
            commit_policy: CommitPolicy::Batch,
            max_poll_records: 500,
            idle_between_polls: Duration::ZERO,
            drain_timeout: Duration::from_secs(10),
            reset: AutoOffsetReset::Latest,
            parallelism: Parallelism::default(),
            max_unacknowledged: 10_000,
        }
    }
}

/// When the worker's current handler started, for `max.poll.interval.ms`: a handler that runs
/// longer makes its member stop polling, so the group evicts it as Java's consumer is evicted.
///
/// Set to the oldest in-flight unit's start whenever the set of running units changes, so it is one atomic (nanoseconds since the clock was
/// made, 0 when idle), not a lock.
#[derive(Debug, Clone)]
pub struct HandlerClock(Arc<ClockState>);

#[derive(Debug)]
struct ClockState {
    origin: Instant,
    started_nanos: AtomicU64,
}

impl Default for HandlerClock {
    fn default() -> Self {
        Self(Arc::new(ClockState {
            origin: Instant::now(),
            started_nanos: AtomicU64::new(0),
        }))
    }
}

impl HandlerClock {
    /// How long the current handler has been running; `None` when idle.
    pub fn busy_for(&self) -> Option<Duration> {
        match self.0.started_nanos.load(Ordering::Relaxed) {
            0 => None,
            nanos => {
                let started = self.0.origin + Duration::from_nanos(nanos);
                Some(started.elapsed())
            }
        }
    }

    pub(super) fn set(&self, started: Option<Instant>) {
        let nanos = started.map_or(0, |started| {
            // At least 1: 0 means idle.
            (started.saturating_duration_since(self.0.origin).as_nanos() as u64).max(1)
        });
        self.0.started_nanos.store(nanos, Ordering::Relaxed);
    }
}
