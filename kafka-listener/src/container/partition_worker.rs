//! One assigned partition's pipeline: fetch → dispatch in offset order → track acks → commit per
//! the ack mode, with in-place retries that pause only this partition. The parallel mode
//! (key lanes) and the batch mode live in the child modules `parallel` and `batch`; what the
//! worker is configured with is in `worker_settings`, its handle in `worker_handle`.
//!
//! The worker owns its partition's [`OffsetTracker`] and [`CommitSchedule`]; everything else
//! talks to it by message: handlers through [`AckEvents`], the member through [`WorkerHandle`]
//! (pause, resume, seek, stop). Stopping — on revoke or shutdown — stops dispatching, waits for
//! the in-flight handler up to the drain timeout, commits what is acknowledged, and reports the
//! final position.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use super::ack_events::{AckEvent, AckEventReceiver, AckEvents};
use super::background_commit::{BackgroundCommit, CommitAnswer};
use super::commit_policy::CommitSchedule;
use super::events::ContainerEvent;
use super::fetch_ahead::FetchAhead;
use super::offset_tracker::OffsetTracker;
use crate::client::fetch::{FetchError, Fetched};
use crate::error::{DeliveryFailure, ErrorHandler};
use crate::record::ConsumerRecord;

use super::worker_handle::Control;
pub use super::worker_handle::{
    BatchDispatch, ListenerDispatch, PartitionIdentity, WorkerHandle, WorkerStopped,
};
use super::worker_log::{log_recovered, log_recovery_failed, log_retry, record_span};
pub use super::worker_settings::{
    HandlerClock, PartitionCommitter, RecordSource, ResetPolicy, SeekTo, WorkerSettings,
};

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
/// batch dispatch.
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
    let (control, control_rx) = mpsc::unbounded_channel();
    let (ack_sender, acks) = AckEvents::channel();
    let clock = HandlerClock::default();
    let dispatch = match dispatch {
        ListenerDispatch::Records(dispatch) => ListenerDispatch::Records(Arc::new(dispatch)),
        ListenerDispatch::Batches(dispatch) => ListenerDispatch::Batches(dispatch),
    };
    let parallel = match &dispatch {
        ListenerDispatch::Records(dispatch) if settings.parallelism.is_parallel() => {
            Some(ParallelDispatch::new(
                settings.parallelism,
                Arc::clone(dispatch),
                ack_sender.clone(),
                error_handler.clone(),
                identity.clone(),
            ))
        }
        _ => None,
    };
    let fetch = FetchAhead::spawn(source, Arc::clone(&identity.topic), identity.partition);
    let worker = Worker {
        clock: clock.clone(),
        schedule: CommitSchedule::new(settings.commit_policy, Instant::now()),
        tracker: OffsetTracker::new(position),
        identity,
        position,
        settings,
        fetch,
        committer,
        error_handler,
        dispatch,
        parallel,
        control: control_rx,
        acks,
        ack_sender,
        paused: false,
        pending_nack: None,
        stop: None,
        commits: BackgroundCommit::default(),
        topic_missing: false,
    };
    let task = tokio::spawn(worker.run());
    WorkerHandle {
        control,
        task,
        clock,
    }
}

struct Worker<C, D, F> {
    clock: HandlerClock,
    identity: PartitionIdentity,
    position: i64,
    settings: WorkerSettings,
    schedule: CommitSchedule,
    tracker: OffsetTracker,
    /// The record source, on its own task.
    fetch: FetchAhead,
    committer: Arc<C>,
    error_handler: ErrorHandler,
    dispatch: ListenerDispatch<Arc<D>, F>,
    /// Set in parallel mode (`parallelism.max_in_flight > 1`).
    parallel: Option<ParallelDispatch<D>>,
    control: mpsc::UnboundedReceiver<Control>,
    acks: AckEventReceiver,
    ack_sender: AckEvents,
    paused: bool,
    /// A nack the handler sent for its own record: applied when the handler returns.
    pending_nack: Option<(i64, Duration)>,
    /// Set once a stop was requested.
    stop: Option<oneshot::Sender<WorkerStopped>>,
    /// The commit on the wire.
    commits: BackgroundCommit,
    /// Set once the topic was reported missing, so the event is raised once, not every retry.
    topic_missing: bool,
}

/// What became of one record.
enum Delivery {
    /// Handled, or failed and recovered: the position moves past it.
    Done,
    /// Redeliver from `offset` (nack, failed recovery, seek) — drop the rest of the poll.
    Rewind,
    /// A stop was requested: leave the loop.
    Stopping { drain_timed_out: bool },
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
            if self.stop.is_some() {
                break false;
            }
            let may_fetch = !self.paused && self.parallel_has_room();
            if may_fetch {
                self.fetch.want(self.position);
            }
            let parallel = self.parallel.as_mut();
            tokio::select! {
                control = self.control.recv() => match control {
                    Some(control) => self.on_control(control).await,
                    None => self.stop_requested_by_drop(),
                },
                Some(event) = self.acks.recv() => self.on_ack(event).await,
                completed = next_completed(parallel) => self.on_completed(completed).await,
                answer = self.commits.answer() => self.on_commit_done(answer).await,
                fetched = self.fetch.answer(), if may_fetch => match fetched {
                    Ok(fetched) => {
                        self.topic_missing = false;
                        if let Some(drain_timed_out) = self.process(fetched).await {
                            break drain_timed_out;
                        }
                    }
                    Err(FetchError::OffsetOutOfRange { offset, .. }) => self.reset(offset).await,
                    Err(error @ FetchError::TopicNotFound { .. }) => {
                        if !std::mem::replace(&mut self.topic_missing, true) {
                            tracing::error!(topic = %self.identity.topic, partition = self.identity.partition, %error, "the consumed topic does not exist");
                            self.identity.emit(ContainerEvent::TopicNotFound {
                                listener: self.identity.listener_id.to_string(),
                                partition: self.identity.topic_partition(),
                            });
                        }
                        self.interruptible_sleep(Duration::from_millis(500)).await;
                    }
                    Err(error) => {
                        tracing::warn!(
                            topic = %self.identity.topic,
                            partition = self.identity.partition,
                            %error,
                            "fetch failed; retrying"
                        );
                        self.interruptible_sleep(Duration::from_millis(500)).await;
                    }
                },
            }
        };
        self.finish(drain_timed_out).await;
    }

    /// Delivers one fetch's records, then moves the position over what the fetch read but
    /// delivered nothing for (transaction markers, aborted transactions), so a partition that
    /// ends in a marker is not fetched from the same offset again and again. `Some` when
    /// stopping.
    async fn process(&mut self, fetched: Fetched) -> Option<bool> {
        let Fetched {
            records,
            next_position,
            corrupt,
            ..
        } = fetched;
        if let Some(corrupt) = &corrupt {
            tracing::error!(
                topic = %self.identity.topic,
                partition = self.identity.partition,
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
        let delivered_up_to = records.last().map_or(self.position, |r| r.offset + 1);
        if next_position > self.position {
            // Fetch ahead: the next records travel while these are handled.
            self.fetch.want(next_position);
        }
        if let Some(stopping) = self.process_records(records).await {
            return Some(stopping);
        }
        // Nothing moved the position elsewhere (a nack, a seek, a failed recovery): skip what
        // the fetch consumed without records.
        if self.position == delivered_up_to && next_position > self.position {
            self.position = next_position;
            if self.tracker.skipped_to(next_position) && self.tracker.is_drained() {
                self.commit().await;
            }
        }
        None
    }

    /// Delivers one fetch's records, `max_poll_records` per poll. `Some` when stopping.
    async fn process_records(&mut self, records: Vec<ConsumerRecord>) -> Option<bool> {
        let dispatch = match &self.dispatch {
            ListenerDispatch::Batches(dispatch) => {
                let dispatch = Arc::clone(dispatch);
                return self.process_batches(&dispatch, records).await;
            }
            ListenerDispatch::Records(_) if self.parallel.is_some() => {
                return self.admit_parallel(records).await;
            }
            ListenerDispatch::Records(dispatch) => Arc::clone(dispatch),
        };
        let mut records = records.into_iter().peekable();
        while records.peek().is_some() {
            for record in records.by_ref().take(self.settings.max_poll_records.max(1)) {
                if record.offset < self.position {
                    continue;
                }
                match self.deliver(&dispatch, record).await {
                    Delivery::Done => {}
                    Delivery::Rewind => return None,
                    Delivery::Stopping { drain_timed_out } => return Some(drain_timed_out),
                }
            }
            if !self.end_of_poll().await {
                return None;
            }
        }
        None
    }

    /// After a poll's records: apply acknowledgments, commit if the policy says so, idle
    /// between polls. `false` when the rest of the fetch must wait (stopping or paused).
    async fn end_of_poll(&mut self) -> bool {
        while let Some(event) = self.acks.try_recv() {
            self.on_ack(event).await;
        }
        if self.schedule.poll_handled(Instant::now()) {
            self.commit().await;
        }
        if !self.settings.idle_between_polls.is_zero() {
            self.interruptible_sleep(self.settings.idle_between_polls)
                .await;
        }
        self.stop.is_none() && !self.paused
    }

    /// Hands `record` to the handler, retrying per the back-off and recovering when exhausted.
    async fn deliver(&mut self, dispatch: &D, record: ConsumerRecord) -> Delivery {
        let offset = record.offset;
        self.tracker.dispatched(offset);
        let mut backoff = self.error_handler.backoff().start();
        let mut attempts = 0u64;
        loop {
            attempts += 1;
            let span = record_span(&self.identity, offset, attempts);
            let outcome = tracing::Instrument::instrument(
                dispatch(record.clone(), self.ack_sender.clone()),
                span,
            );
            let failure = match self.run_handler(outcome).await {
                Ok(Ok(())) => {
                    let acknowledge = !self.settings.commit_policy.is_manual();
                    self.position = offset + 1;
                    self.record_finished(offset, acknowledge).await;
                    return self.after_delivery();
                }
                Ok(Err(failure)) => failure,
                Err(next) => return next,
            };
            if self.stop.is_some() {
                // Stopping: do not start a retry; the record stays uncommitted.
                return Delivery::Stopping {
                    drain_timed_out: false,
                };
            }
            let retry_in = if failure.is_retryable() {
                backoff.next()
            } else {
                None
            };
            if let Some(wait) = retry_in {
                log_retry(&self.identity, offset, attempts, wait, &failure);
                self.interruptible_sleep(wait).await;
                if self.stop.is_some() {
                    return Delivery::Stopping {
                        drain_timed_out: false,
                    };
                }
                continue;
            }
            let description = failure.describe();
            let group = self.identity.group_id.as_deref();
            match self
                .error_handler
                .recover(&record, &description, attempts, group)
                .await
            {
                Ok(()) => {
                    log_recovered(&self.identity, offset, attempts);
                    // Spring commits a recovered record's offset, in every ack mode.
                    self.position = offset + 1;
                    self.record_finished(offset, true).await;
                    return self.after_delivery();
                }
                Err(error) => {
                    log_recovery_failed(&self.identity, offset, &error);
                    self.rewind_to(offset);
                    self.interruptible_sleep(Duration::from_secs(1)).await;
                    return Delivery::Rewind;
                }
            }
        }
    }

    /// Runs one delivery's handler: times it for max.poll.interval, serves acknowledgments and
    /// control messages meanwhile, and applies the acknowledgments it sent. `Err` when a nack
    /// (rewind) or a stop that outlived the drain decides what happens next.
    async fn run_handler(
        &mut self,
        handler: impl Future<Output = Result<(), F>>,
    ) -> Result<Result<(), F>, Delivery> {
        self.clock.set(Some(Instant::now()));
        let (result, drain_timed_out) = self.await_handler(handler).await;
        self.clock.set(None);
        // Acknowledgments the handler sent before returning happened before its result.
        while let Some(event) = self.acks.try_recv() {
            self.on_ack(event).await;
        }
        if let Some((nack_offset, sleep)) = self.pending_nack.take() {
            self.rewind_to(nack_offset);
            self.interruptible_sleep(sleep).await;
            return Err(Delivery::Rewind);
        }
        result.ok_or(Delivery::Stopping { drain_timed_out })
    }

    fn after_delivery(&mut self) -> Delivery {
        if self.stop.is_some() {
            return Delivery::Stopping {
                drain_timed_out: false,
            };
        }
        Delivery::Done
    }

    /// Awaits the handler while serving acknowledgments and control messages. Returns `None`
    /// as the result if a stop arrived and the handler did not finish within the drain timeout.
    async fn await_handler(
        &mut self,
        handler: impl Future<Output = Result<(), F>>,
    ) -> (Option<Result<(), F>>, bool) {
        tokio::pin!(handler);
        loop {
            tokio::select! {
                biased;
                result = &mut handler => return (Some(result), false),
                Some(event) = self.acks.recv() => self.on_ack(event).await,
                // A commit asked for while the previous one was on the wire goes out when that
                // one is answered, not only once this handler returns (RECORD mode held a
                // commit back for as long as the next record's handler ran).
                answer = self.commits.answer() => self.on_commit_done(answer).await,
                control = self.control.recv() => match control {
                    Some(Control::Stop(reply)) => {
                        self.stop = Some(reply);
                        return match tokio::time::timeout(self.settings.drain_timeout, &mut handler).await {
                            Ok(result) => (Some(result), false),
                            Err(_) => {
                                tracing::warn!(
                                    topic = %self.identity.topic,
                                    partition = self.identity.partition,
                                    "handler still running after the drain timeout; its record stays uncommitted"
                                );
                                (None, true)
                            }
                        };
                    }
                    Some(control) => self.on_control(control).await,
                    None => {
                        self.stop_requested_by_drop();
                    }
                },
            }
        }
    }

    /// The record at `offset` is finished (handled, or recovered): acknowledge it unless the
    /// handler acknowledges itself, and commit if the policy says so.
    async fn record_finished(&mut self, offset: i64, acknowledge: bool) {
        if acknowledge {
            self.acknowledge(offset);
        }
        if self.schedule.record_handled() {
            self.commit().await;
        }
    }

    async fn on_ack(&mut self, event: AckEvent) {
        match event {
            AckEvent::Ack { offset } => {
                self.acknowledge(offset);
                if self.schedule.acknowledged() {
                    self.commit().await;
                }
            }
            AckEvent::Nack { offset, sleep } => match self.parallel.as_mut() {
                None => self.pending_nack = Some((offset, sleep)),
                Some(parallel) => {
                    if !parallel.nack(offset, sleep) {
                        tracing::warn!(
                            topic = %self.identity.topic,
                            partition = self.identity.partition,
                            offset,
                            "nack after the handler returned is ignored in parallel mode; \
                             the record stays unacknowledged"
                        );
                    }
                }
            },
        }
    }

    fn acknowledge(&mut self, offset: i64) {
        if let Err(rejected) = self.tracker.acknowledge(offset) {
            tracing::warn!(
                topic = %self.identity.topic,
                partition = self.identity.partition,
                %rejected,
                "acknowledgment ignored"
            );
        }
    }

    /// Commits the acknowledged prefix in the background (see [`BackgroundCommit`]); if a
    /// commit is on the wire, this one follows as soon as it is answered.
    async fn commit(&mut self) {
        if let Some(answer) = self.commits.try_answer().await {
            self.on_commit_answer(answer);
        }
        let now = Instant::now();
        if self.commits.is_busy() {
            self.commits.defer();
            return;
        }
        let Some(position) = self.tracker.committable() else {
            self.schedule.committed(now);
            return;
        };
        let id = &self.identity;
        self.commits
            .send(&self.committer, &id.topic, id.partition, position);
        self.schedule.committed(now);
    }

    /// Waits for the commit on the wire and commits what is left, before the worker ends.
    async fn commit_and_wait(&mut self) {
        self.await_commit().await;
        // What is acknowledged beyond it; once more if that commit fails.
        for _ in 0..2 {
            self.commit().await;
            self.await_commit().await;
        }
    }

    /// Waits for the commit on the wire, if any, and records its answer.
    async fn await_commit(&mut self) {
        if self.commits.is_busy() {
            let answer = self.commits.answer().await;
            self.on_commit_answer(answer);
        }
    }

    /// A background commit was answered: record it, and send the one that waited for it.
    async fn on_commit_done(&mut self, answer: CommitAnswer) {
        self.on_commit_answer(answer);
        if self.commits.take_deferred() {
            self.commit().await;
        }
    }

    fn on_commit_answer(&mut self, (position, result): CommitAnswer) {
        let id = &self.identity;
        match result {
            Ok(()) => {
                tracing::debug!(
                    topic = %id.topic,
                    partition = id.partition,
                    position,
                    listener = %id.listener_id,
                    "offset committed"
                );
                self.tracker.committed(position);
            }
            Err(error) => tracing::warn!(
                topic = %id.topic,
                partition = id.partition,
                position,
                %error,
                "commit failed; will commit again"
            ),
        }
    }

    async fn on_control(&mut self, control: Control) {
        match control {
            Control::Pause => self.paused = true,
            Control::Resume => self.paused = false,
            Control::Seek(target) => match self.fetch.resolve(target).await {
                Ok(offset) => self.rewind_to(offset),
                Err(error) => tracing::warn!(
                    topic = %self.identity.topic,
                    partition = self.identity.partition,
                    ?target,
                    %error,
                    "seek failed"
                ),
            },
            Control::Stop(reply) => self.stop = Some(reply),
        }
    }

    fn stop_requested_by_drop(&mut self) {
        // The handle was dropped without stop(): nobody awaits the report, but the worker still
        // ends cleanly (commit what is acknowledged) instead of running on unowned.
        let (reply, _) = oneshot::channel();
        self.stop = Some(reply);
    }

    fn rewind_to(&mut self, offset: i64) {
        self.tracker.rewind_to(offset);
        self.position = offset;
        if let Some(parallel) = self.parallel.as_mut() {
            parallel.drop_waiting();
        }
    }

    async fn reset(&mut self, out_of_range: i64) {
        let target = match self.settings.reset {
            ResetPolicy::Earliest => SeekTo::Beginning,
            ResetPolicy::Latest => SeekTo::End,
            ResetPolicy::None => {
                tracing::error!(
                    topic = %self.identity.topic,
                    partition = self.identity.partition,
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
                    topic = %self.identity.topic,
                    partition = self.identity.partition,
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
                self.interruptible_sleep(Duration::from_millis(500)).await;
            }
        }
    }

    /// Sleeps, still serving control messages and acknowledgments; ends early on stop.
    async fn interruptible_sleep(&mut self, duration: Duration) {
        let sleep = tokio::time::sleep(duration);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                _ = &mut sleep => return,
                Some(event) = self.acks.recv() => self.on_ack(event).await,
                answer = self.commits.answer() => self.on_commit_done(answer).await,
                control = self.control.recv() => {
                    match control {
                        Some(control) => self.on_control(control).await,
                        None => self.stop_requested_by_drop(),
                    }
                    if self.stop.is_some() {
                        return;
                    }
                }
            }
        }
    }

    async fn finish(mut self, drain_timed_out: bool) {
        let drain_timed_out = self.drain_parallel().await || drain_timed_out;
        while let Some(event) = self.acks.try_recv() {
            if let AckEvent::Ack { offset } = event {
                self.acknowledge(offset);
            }
        }
        self.commit_and_wait().await;
        let report = WorkerStopped {
            committed: self.tracker.committed_position(),
            drain_timed_out,
        };
        tracing::info!(
            topic = %self.identity.topic,
            partition = self.identity.partition,
            committed = report.committed,
            "partition worker stopped"
        );
        if let Some(reply) = self.stop.take() {
            let _ = reply.send(report);
        }
    }
}

/// The next finished run of a parallel worker; pending in sequential mode.
async fn next_completed<D>(parallel: Option<&mut ParallelDispatch<D>>) -> parallel::Completed {
    match parallel {
        Some(parallel) => parallel.next_completed().await,
        None => std::future::pending().await,
    }
}

#[path = "parallel_worker.rs"]
mod parallel;

#[path = "batch_worker.rs"]
mod batch;
use parallel::ParallelDispatch;

#[cfg(test)]
#[path = "partition_worker_tests.rs"]
mod tests;
