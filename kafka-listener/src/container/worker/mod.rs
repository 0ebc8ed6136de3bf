//! One assigned partition's pipeline: fetch → hand out in offset order → track acknowledgments
//! → commit per the ack mode.
//!
//! One event loop serves everything that can happen to the partition — a control message
//! (pause, seek, hold, stop), an acknowledgment, a fetch's answer, a delivery unit finishing, a
//! commit's answer, a timer — so none of them waits behind another: a seek is honoured while a
//! handler runs, a late MANUAL acknowledgment is committed on an idle partition, a failed
//! commit is retried. Every delivery unit — one record, or a batch listener's poll — is one
//! future in one set, and runs the one [`attempt`] path: retries per the back-off, recovery
//! when they are exhausted, the same meaning for "recovery failed" everywhere. Sequential
//! dispatch is a window of one unit; parallel dispatch a window of `max_in_flight` records in
//! key lanes ([`Lanes`]).
//!
//! The worker owns its partition's [`OffsetTracker`] (bounded: fetching pauses while
//! `max_unacknowledged` records are held) and its [`Commits`]; everything else talks to it by
//! message: handlers through [`AckEvents`], the member through [`WorkerHandle`]. Stopping — on
//! revoke or shutdown — hands out nothing more, lets the running units finish up to the drain
//! timeout, commits what is acknowledged, and reports the final position.

mod attempt;
mod background_commit;
mod commits;
mod fetch_ahead;
mod handle;
mod log;
mod settings;

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use super::ack_events::{AckEvent, AckEventReceiver, AckEvents};
use super::events::ContainerEvent;
use super::lanes::{DispatchOrdering, LaneId, Lanes};
use super::offset_tracker::OffsetTracker;
use crate::client::fetch::{FetchError, Fetched};
use crate::error::{DeliveryFailure, ErrorHandler};
use crate::record::ConsumerRecord;
use crate::vocabulary::AutoOffsetReset;
use attempt::{AckKind, Attempt, Deliver, Finished, UnitContext};
use commits::Commits;
use fetch_ahead::FetchAhead;
use handle::Control;

pub use handle::{BatchDispatch, ListenerDispatch, PartitionIdentity, WorkerHandle, WorkerStopped};
pub use settings::{HandlerClock, PartitionCommitter, RecordSource, SeekTo, WorkerSettings};

/// How long a failed fetch or offset lookup waits before it is tried again.
const FETCH_RETRY_WAIT: Duration = Duration::from_millis(500);

/// Starts the worker for one assignment of one partition at `position`, handing records one
/// at a time to `dispatch`.
pub fn spawn_partition_worker<S, C, D, Fut, F>(
    identity: PartitionIdentity,
    position: i64,
    settings: WorkerSettings,
    source: S,
    committer: Arc<C>,
    error_handler: ErrorHandler,
    dispatch: D,
) -> WorkerHandle
where
    S: RecordSource,
    C: PartitionCommitter,
    D: Fn(ConsumerRecord, AckEvents) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), F>> + Send + 'static,
    F: DeliveryFailure,
{
    spawn_worker(
        identity,
        position,
        settings,
        source,
        committer,
        error_handler,
        ListenerDispatch::Records(dispatch),
    )
}

/// Starts the worker for one assignment of one partition at `position`, with a record or a
/// batch dispatch, on tasks of its own.
pub fn spawn_worker<S, C, D, Fut, F>(
    identity: PartitionIdentity,
    position: i64,
    settings: WorkerSettings,
    source: S,
    committer: Arc<C>,
    error_handler: ErrorHandler,
    dispatch: ListenerDispatch<D, F>,
) -> WorkerHandle
where
    S: RecordSource,
    C: PartitionCommitter,
    D: Fn(ConsumerRecord, AckEvents) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), F>> + Send + 'static,
    F: DeliveryFailure,
{
    let tasks = TaskTracker::new();
    let worker = spawn_worker_in(
        &tasks,
        identity,
        position,
        settings,
        source,
        committer,
        error_handler,
        dispatch,
    );
    tasks.close();
    worker
}

/// [`spawn_worker`] with every task it starts — the worker, its fetch, its commits — owned by
/// `tasks`, so whoever owns them can wait for all of them.
#[allow(clippy::too_many_arguments)]
pub(crate) fn spawn_worker_in<S, C, D, Fut, F>(
    tasks: &TaskTracker,
    identity: PartitionIdentity,
    position: i64,
    settings: WorkerSettings,
    source: S,
    committer: Arc<C>,
    error_handler: ErrorHandler,
    dispatch: ListenerDispatch<D, F>,
) -> WorkerHandle
where
    S: RecordSource,
    C: PartitionCommitter,
    D: Fn(ConsumerRecord, AckEvents) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), F>> + Send + 'static,
    F: DeliveryFailure,
{
    let (control, control_rx) = mpsc::unbounded_channel();
    let (ack_sender, acks) = AckEvents::channel();
    let clock = HandlerClock::default();
    let (deliver, window, ordering) = match dispatch {
        ListenerDispatch::Records(dispatch) => (
            Deliver::Record(Arc::new(dispatch)),
            settings.parallelism.max_in_flight.max(1),
            settings.parallelism.ordering,
        ),
        ListenerDispatch::Batches(dispatch) => {
            (Deliver::Batch(dispatch), 1, DispatchOrdering::Partition)
        }
    };
    let span = log::partition_span(&identity);
    let worker = Worker {
        clock: clock.clone(),
        tracker: OffsetTracker::new(position),
        commits: Commits::new(tasks.clone(), committer, settings.commit_policy),
        fetch: FetchAhead::spawn(
            tasks,
            source,
            Arc::clone(&identity.topic),
            identity.partition,
        ),
        position,
        fetched: VecDeque::new(),
        fetched_records: 0,
        poll: VecDeque::new(),
        polls: VecDeque::new(),
        lanes: Lanes::new(ordering),
        window,
        context: Arc::new(UnitContext {
            deliver,
            acks: ack_sender,
            error_handler,
            identity: identity.clone(),
        }),
        running: FuturesUnordered::new(),
        units: HashMap::new(),
        next_unit: 0,
        epoch: 0,
        stopping: watch::channel(false).0,
        identity,
        settings,
        control: control_rx,
        acks,
        paused: false,
        held: false,
        stop: None,
        drain_deadline: None,
        fetch_retry_at: None,
        next_poll_at: None,
        topic_missing: false,
    };
    let task = tasks.spawn(tracing::Instrument::instrument(worker.run(), span));
    WorkerHandle {
        control,
        task,
        clock,
    }
}

/// What the fetch brought, in offset order, until it is handed out.
enum Entry {
    Record(ConsumerRecord),
    /// The log up to this position held nothing to deliver after the records before it
    /// (transaction markers, aborted transactions).
    SkipTo(i64),
}

/// A poll handed out and not finished yet.
struct PollProgress {
    last_offset: i64,
    unfinished: usize,
}

/// A delivery unit on its way.
struct RunningUnit {
    lane: Option<LaneId>,
    /// The rewind generation it was started in: after a seek, what it finishes no longer
    /// counts for polls and its continuation is dropped.
    epoch: u64,
    started: Instant,
    first: i64,
    last: i64,
}

struct Worker<C, D, F> {
    identity: PartitionIdentity,
    settings: WorkerSettings,
    clock: HandlerClock,
    tracker: OffsetTracker,
    commits: Commits<C>,
    /// The record source, on its own task.
    fetch: FetchAhead,
    /// The next offset to fetch.
    position: i64,
    /// Fetched and not yet in a poll.
    fetched: VecDeque<Entry>,
    fetched_records: usize,
    /// The poll being handed out.
    poll: VecDeque<Entry>,
    /// Polls handed out whose records have not all finished, oldest first.
    polls: VecDeque<PollProgress>,
    lanes: Lanes,
    /// Records (batches: units) in flight at most.
    window: usize,
    context: Arc<UnitContext<D, F>>,
    running: FuturesUnordered<BoxFuture<'static, (u64, Finished)>>,
    units: HashMap<u64, RunningUnit>,
    next_unit: u64,
    epoch: u64,
    /// Tells running units to give up retries and back-off sleeps.
    stopping: watch::Sender<bool>,
    control: mpsc::UnboundedReceiver<Control>,
    acks: AckEventReceiver,
    paused: bool,
    held: bool,
    /// Set once a stop was requested.
    stop: Option<oneshot::Sender<WorkerStopped>>,
    drain_deadline: Option<Instant>,
    fetch_retry_at: Option<Instant>,
    /// `idle-between-polls`: no poll is handed out before this.
    next_poll_at: Option<Instant>,
    /// Set once the topic was reported missing, so the event is raised once, not every retry.
    topic_missing: bool,
}

impl<C, D, Fut, F> Worker<C, D, F>
where
    C: PartitionCommitter,
    D: Fn(ConsumerRecord, AckEvents) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), F>> + Send + 'static,
    F: DeliveryFailure,
{
    async fn run(mut self) {
        let drain_timed_out = loop {
            self.hand_out();
            if let Some(deadline) = self.drain_deadline {
                if self.units.is_empty() {
                    break false;
                }
                if Instant::now() >= deadline {
                    tracing::warn!(
                        running = self.units.len(),
                        "handlers still running after the drain timeout; their records stay uncommitted"
                    );
                    break true;
                }
            }
            let may_fetch = self.may_fetch();
            if may_fetch {
                self.fetch.want(self.position);
            }
            let deadline = self.next_deadline();
            tokio::select! {
                biased;
                control = self.control.recv() => match control {
                    Some(control) => self.on_control(control).await,
                    None => self.stop_requested_by_drop(),
                },
                Some(event) = self.acks.recv() => self.on_ack(event),
                Some((id, finished)) = self.running.next(), if !self.running.is_empty() => {
                    self.on_finished(id, finished);
                }
                answer = self.commits.answer() => {
                    self.commits.on_answer(answer, &mut self.tracker, &self.identity);
                }
                fetched = self.fetch.answer(), if may_fetch => self.on_fetched(fetched).await,
                _ = sleep_until(deadline), if deadline.is_some() => self.on_timer(),
            }
        };
        self.finish(drain_timed_out).await;
    }

    /// `true` when the next records may be fetched: running, not paused or held, the records
    /// fetched ahead are fewer than a poll, and the tracker has room.
    fn may_fetch(&self) -> bool {
        self.stop.is_none()
            && !self.paused
            && !self.held
            && self.fetch_retry_at.is_none()
            && self.fetched_records < self.settings.max_poll_records.max(1)
            && self.tracker.held() < self.settings.max_unacknowledged.max(1)
    }

    /// Every record handed out has finished and no poll is being handed out.
    fn is_idle(&self) -> bool {
        self.units.is_empty() && self.poll.is_empty()
    }

    /// The earliest moment a timer must wake the loop.
    fn next_deadline(&self) -> Option<Instant> {
        let next_poll = self
            .next_poll_at
            .filter(|_| self.poll.is_empty() && !self.fetched.is_empty());
        [
            self.fetch_retry_at,
            next_poll,
            self.commits.due_at(&self.tracker, self.is_idle()),
            self.drain_deadline,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn on_timer(&mut self) {
        let now = Instant::now();
        if self.fetch_retry_at.is_some_and(|at| at <= now) {
            self.fetch_retry_at = None;
        }
        if self.next_poll_at.is_some_and(|at| at <= now) {
            self.next_poll_at = None;
        }
        let idle = self.is_idle();
        self.commits.on_timer(&self.tracker, &self.identity, idle);
    }

    /// Hands out records while the window has room: polls of `max_poll_records`, each record
    /// (or the whole poll, for a batch listener) as one unit.
    fn hand_out(&mut self) {
        if self.stop.is_some() || self.held {
            return;
        }
        loop {
            if self.poll.is_empty() && !self.take_poll() {
                return;
            }
            if matches!(self.context.deliver, Deliver::Batch(_)) {
                if !self.units.is_empty() {
                    return;
                }
                let mut batch = Vec::new();
                for entry in std::mem::take(&mut self.poll) {
                    match entry {
                        Entry::Record(record) => {
                            self.tracker.dispatched(record.offset);
                            batch.push(record);
                        }
                        Entry::SkipTo(position) => {
                            self.tracker.skipped_to(position);
                        }
                    }
                }
                if !batch.is_empty() {
                    self.start_unit(Attempt::new(batch, Duration::ZERO));
                }
                continue;
            }
            while let Some(entry) = self.poll.front() {
                if matches!(entry, Entry::Record(_)) && self.lanes.admitted() >= self.window {
                    return;
                }
                match self.poll.pop_front().expect("front exists") {
                    Entry::Record(record) => {
                        self.tracker.dispatched(record.offset);
                        if let Some(record) = self.lanes.admit(record) {
                            self.start_unit(Attempt::new(vec![record], Duration::ZERO));
                        }
                    }
                    Entry::SkipTo(position) => {
                        self.tracker.skipped_to(position);
                    }
                }
            }
        }
    }

    /// Moves the next poll's entries from what was fetched to the poll being handed out.
    /// `false` if no poll may start now.
    fn take_poll(&mut self) -> bool {
        if self.paused || self.fetched.is_empty() {
            return false;
        }
        if let Some(at) = self.next_poll_at {
            if Instant::now() < at {
                return false;
            }
            self.next_poll_at = None;
        }
        if !self.settings.idle_between_polls.is_zero() && !self.polls.is_empty() {
            // Idle between polls: the next poll waits for this one to finish, then the idle.
            return false;
        }
        if self.tracker.held() >= self.settings.max_unacknowledged.max(1) {
            return false;
        }
        let max = self.settings.max_poll_records.max(1);
        let mut records = 0;
        let mut last_offset = -1;
        while let Some(entry) = self.fetched.front() {
            if let Entry::Record(record) = entry {
                if records == max {
                    break;
                }
                records += 1;
                last_offset = record.offset;
            }
            self.poll
                .push_back(self.fetched.pop_front().expect("front exists"));
        }
        self.fetched_records -= records;
        if records > 0 {
            self.polls.push_back(PollProgress {
                last_offset,
                unfinished: records,
            });
        }
        true
    }

    fn start_unit(&mut self, attempt: Attempt) {
        let lane = match &self.context.deliver {
            Deliver::Record(_) => self.lanes.lane_of(&attempt.records[0]),
            Deliver::Batch(_) => None,
        };
        let id = self.next_unit;
        self.next_unit += 1;
        self.units.insert(
            id,
            RunningUnit {
                lane,
                epoch: self.epoch,
                started: Instant::now(),
                first: attempt.first_offset(),
                last: attempt.records.last().map_or(-1, |r| r.offset),
            },
        );
        let run = attempt::run(
            Arc::clone(&self.context),
            attempt,
            self.stopping.subscribe(),
        );
        self.running.push(Box::pin(async move { (id, run.await) }));
        self.update_clock();
    }

    /// The member's max.poll.interval clock reads the oldest unit still running.
    fn update_clock(&self) {
        self.clock
            .set(self.units.values().map(|unit| unit.started).min());
    }

    /// A unit finished: acknowledge and commit what it is done with, continue with what it
    /// hands back, and start the next record of its lane.
    fn on_finished(&mut self, id: u64, finished: Finished) {
        // Acknowledgments (and nacks) the handler sent before returning happened before its
        // result.
        while let Some(event) = self.acks.try_recv() {
            self.on_ack(event);
        }
        let unit = self.units.remove(&id).expect("a running unit");
        let current = unit.epoch == self.epoch;
        let manual = self.commits.policy().is_manual();
        for &(offset, kind) in &finished.done {
            let acknowledge = match kind {
                AckKind::Handled => !manual,
                AckKind::Always => true,
                AckKind::ByHandler => false,
            };
            if acknowledge {
                self.acknowledge(offset, current);
            }
            if current {
                self.record_finished(offset);
            }
        }
        if current && finished.next.is_some() && !finished.done.is_empty() {
            // Part of the unit is done and the rest goes again (a batch failure that named its
            // record, a recovered record): commit that part now, as Spring does.
            self.commits.commit(&self.tracker, &self.identity);
        }
        match finished.next {
            Some(next) if current && self.stop.is_none() => {
                // The continuation keeps the unit's place in its lane.
                self.start_unit(next);
                return;
            }
            Some(next) if !current => {
                // A seek moved past these records while they were on their way.
                for record in &next.records {
                    self.tracker.forget(record.offset);
                }
            }
            _ => {}
        }
        if let Some(next) = self.lanes.finished(unit.lane) {
            if self.stop.is_none() {
                self.start_unit(Attempt::new(vec![next], Duration::ZERO));
            }
        }
        self.update_clock();
        if finished.abandoned {
            tracing::debug!(
                first_offset = unit.first,
                "delivery abandoned on stop; stays uncommitted"
            );
        }
    }

    /// A record of the current generation finished: count it for its poll and commit per the
    /// ack mode.
    fn record_finished(&mut self, offset: i64) {
        self.commits.record_finished(&self.tracker, &self.identity);
        if let Some(poll) = self.polls.iter_mut().find(|p| offset <= p.last_offset) {
            poll.unfinished = poll.unfinished.saturating_sub(1);
        }
        while self.polls.front().is_some_and(|p| p.unfinished == 0) {
            self.polls.pop_front();
            self.commits.poll_finished(&self.tracker, &self.identity);
            if !self.settings.idle_between_polls.is_zero() {
                self.next_poll_at = Some(Instant::now() + self.settings.idle_between_polls);
            }
        }
    }

    fn on_ack(&mut self, event: AckEvent) {
        match event {
            AckEvent::Ack { offset } => {
                self.acknowledge(offset, true);
                self.commits.acknowledged(&self.tracker, &self.identity);
            }
            AckEvent::Nack { offset, .. } => {
                let running = self
                    .units
                    .values()
                    .any(|unit| unit.first <= offset && offset <= unit.last);
                // A running unit takes its nack itself when its handler returns.
                if !running && self.context.acks.take_nack(offset, offset).is_some() {
                    tracing::warn!(
                        offset,
                        "nack after the handler returned is ignored; the record stays unacknowledged"
                    );
                }
            }
        }
    }

    fn acknowledge(&mut self, offset: i64, report: bool) {
        if let Err(rejected) = self.tracker.acknowledge(offset) {
            if report {
                tracing::warn!(%rejected, "acknowledgment ignored");
            }
        }
    }

    async fn on_fetched(&mut self, fetched: Result<Fetched, FetchError>) {
        match fetched {
            Ok(fetched) => {
                self.topic_missing = false;
                self.take_fetched(fetched);
            }
            Err(FetchError::OffsetOutOfRange { offset, .. }) => self.reset(offset).await,
            Err(error @ FetchError::TopicNotFound { .. }) => {
                if !std::mem::replace(&mut self.topic_missing, true) {
                    tracing::error!(%error, "the consumed topic does not exist");
                    self.identity.emit(ContainerEvent::TopicNotFound {
                        listener: self.identity.listener_id.to_string(),
                        partition: self.identity.topic_partition(),
                    });
                }
                self.fetch_retry_at = Some(Instant::now() + FETCH_RETRY_WAIT);
            }
            Err(error) => {
                tracing::warn!(%error, "fetch failed; retrying");
                self.fetch_retry_at = Some(Instant::now() + FETCH_RETRY_WAIT);
            }
        }
    }

    /// Queues one fetch's records, and a skip over what it read without records (transaction
    /// markers, aborted transactions), so a partition that ends in a marker is not fetched
    /// from the same offset again and again.
    fn take_fetched(&mut self, fetched: Fetched) {
        let Fetched {
            records,
            next_position,
            corrupt,
            ..
        } = fetched;
        if let Some(corrupt) = &corrupt {
            tracing::error!(
                base_offset = corrupt.base_offset,
                last_offset = corrupt.last_offset,
                reason = %corrupt.reason,
                "a record batch cannot be read; it goes to the error handler as raw bytes"
            );
            self.identity.emit(ContainerEvent::CorruptBatch {
                listener: self.identity.listener_id.to_string(),
                partition: self.identity.topic_partition(),
                base_offset: corrupt.base_offset,
                last_offset: corrupt.last_offset,
                reason: corrupt.reason.clone(),
            });
        }
        let mut end = self.position;
        for record in records {
            if record.offset < end {
                continue;
            }
            end = record.offset + 1;
            self.fetched.push_back(Entry::Record(record));
            self.fetched_records += 1;
        }
        if next_position > end {
            self.fetched.push_back(Entry::SkipTo(next_position));
            end = next_position;
        }
        self.position = end;
    }

    async fn on_control(&mut self, control: Control) {
        match control {
            Control::Pause => self.paused = true,
            Control::Resume => self.paused = false,
            Control::Hold(held) => self.held = held,
            Control::Seek(target) => match self.fetch.resolve(target).await {
                Ok(offset) => self.rewind_to(offset),
                Err(error) => tracing::warn!(?target, %error, "seek failed"),
            },
            Control::Stop(reply, drain) => self.stop_requested(reply, drain),
        }
    }

    fn stop_requested(&mut self, reply: oneshot::Sender<WorkerStopped>, drain: Option<Duration>) {
        self.stop = Some(reply);
        let drain = drain.map_or(self.settings.drain_timeout, |d| {
            d.min(self.settings.drain_timeout)
        });
        self.drain_deadline = Some(Instant::now() + drain);
        let _ = self.stopping.send(true);
        // What has not started stays unacknowledged, so nothing after it is committed.
        self.lanes.drop_waiting();
        self.poll.clear();
    }

    fn stop_requested_by_drop(&mut self) {
        // The handle was dropped without stop(): nobody awaits the report, but the worker still
        // ends cleanly (commit what is acknowledged) instead of running on unowned.
        let (reply, _) = oneshot::channel();
        self.stop_requested(reply, None);
    }

    /// Moves the position to `offset` (seek, reset): what was fetched or admitted and has not
    /// started is dropped; units on their way finish, but no longer count.
    fn rewind_to(&mut self, offset: i64) {
        self.epoch += 1;
        self.tracker.rewind_to(offset);
        for dropped in self.lanes.drop_waiting() {
            self.tracker.forget(dropped);
        }
        for entry in self.poll.drain(..) {
            if let Entry::Record(record) = entry {
                self.tracker.forget(record.offset);
            }
        }
        self.fetched.clear();
        self.fetched_records = 0;
        self.polls.clear();
        self.next_poll_at = None;
        self.fetch_retry_at = None;
        self.position = offset;
    }

    async fn reset(&mut self, out_of_range: i64) {
        let target = match self.settings.reset {
            AutoOffsetReset::Earliest => SeekTo::Beginning,
            AutoOffsetReset::Latest => SeekTo::End,
            AutoOffsetReset::None => {
                tracing::error!(
                    offset = out_of_range,
                    "offset out of range and auto.offset.reset is none; partition paused"
                );
                self.paused = true;
                self.identity.emit(ContainerEvent::OffsetOutOfRange {
                    listener: self.identity.listener_id.to_string(),
                    partition: self.identity.topic_partition(),
                    offset: out_of_range,
                    reset_to: None,
                });
                return;
            }
        };
        match self.fetch.resolve(target).await {
            Ok(offset) => {
                tracing::info!(
                    from = out_of_range,
                    to = offset,
                    "offset out of range; reset per auto.offset.reset"
                );
                self.rewind_to(offset);
                self.identity.emit(ContainerEvent::OffsetOutOfRange {
                    listener: self.identity.listener_id.to_string(),
                    partition: self.identity.topic_partition(),
                    offset: out_of_range,
                    reset_to: Some(offset),
                });
            }
            Err(error) => {
                tracing::warn!(%error, "offset reset failed; retrying");
                self.fetch_retry_at = Some(Instant::now() + FETCH_RETRY_WAIT);
            }
        }
    }

    async fn finish(mut self, drain_timed_out: bool) {
        // Units still running after the drain timeout are dropped with the worker.
        self.running = FuturesUnordered::new();
        self.units.clear();
        self.update_clock();
        while let Some(event) = self.acks.try_recv() {
            if let AckEvent::Ack { offset } = event {
                self.acknowledge(offset, true);
            }
        }
        self.commits.flush(&mut self.tracker, &self.identity).await;
        let report = WorkerStopped {
            committed: self.tracker.committed_position(),
            drain_timed_out,
        };
        tracing::info!(committed = report.committed, "partition worker stopped");
        if let Some(reply) = self.stop.take() {
            let _ = reply.send(report);
        }
    }
}

/// Sleeps until `deadline`; pending forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests;
