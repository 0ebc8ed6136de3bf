//! The worker's parallel mode: up to `max_in_flight` records of the partition at once, in key
//! lanes ([`Lanes`]); acknowledgments tracked per offset, commits of the contiguous prefix only.
//!
//! Each admitted record runs as its own future on the worker's task — retries, back-off and
//! recovery included — so a failing key waits alone while every other key keeps flowing. A
//! `nack(sleep)` re-delivers that record after the sleep, still ahead of its key's later records.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::watch;

use super::super::ack_events::AckEvents;
use super::super::lanes::{LaneId, Lanes, Parallelism};
use super::super::worker_log::{log_recovered, log_recovery_failed, log_retry, record_span};
use super::{PartitionCommitter, PartitionIdentity, Worker};
use crate::error::{DeliveryFailure, ErrorHandler};
use crate::record::ConsumerRecord;

/// What a record's run came to.
pub(super) enum Outcome {
    /// The handler returned `Ok`.
    Handled,
    /// Retries were exhausted (or not allowed) and the recoverer succeeded.
    Recovered,
    /// The worker is stopping: the record stays unacknowledged.
    Abandoned,
}

/// A finished run of one record.
pub(super) struct Completed {
    record: ConsumerRecord,
    lane: Option<LaneId>,
    outcome: Outcome,
}

/// What every record's run shares.
struct RunContext<D> {
    dispatch: Arc<D>,
    acks: AckEvents,
    error_handler: ErrorHandler,
    identity: PartitionIdentity,
}

/// The parallel-mode state of a worker.
pub(super) struct ParallelDispatch<D> {
    max_in_flight: usize,
    lanes: Lanes,
    running: FuturesUnordered<BoxFuture<'static, Completed>>,
    running_offsets: HashSet<i64>,
    nacked: HashMap<i64, Duration>,
    stopping: watch::Sender<bool>,
    context: Arc<RunContext<D>>,
}

impl<D> ParallelDispatch<D> {
    pub(super) fn new(
        parallelism: Parallelism,
        dispatch: Arc<D>,
        acks: AckEvents,
        error_handler: ErrorHandler,
        identity: PartitionIdentity,
    ) -> Self {
        Self {
            max_in_flight: parallelism.max_in_flight,
            lanes: Lanes::new(parallelism.ordering),
            running: FuturesUnordered::new(),
            running_offsets: HashSet::new(),
            nacked: HashMap::new(),
            stopping: watch::channel(false).0,
            context: Arc::new(RunContext {
                dispatch,
                acks,
                error_handler,
                identity,
            }),
        }
    }

    pub(super) fn has_room(&self) -> bool {
        self.lanes.admitted() < self.max_in_flight
    }

    /// The next finished run; pending while nothing runs.
    pub(super) async fn next_completed(&mut self) -> Completed {
        match self.running.next().await {
            Some(completed) => completed,
            None => std::future::pending().await,
        }
    }

    /// Drops the admitted records that have not started (seek, rewind).
    pub(super) fn drop_waiting(&mut self) {
        self.lanes.drop_waiting();
    }

    /// A nack from a handler: applied when its run finishes. `false` if that record is not
    /// running (a nack after the handler returned), which parallel mode cannot honour.
    pub(super) fn nack(&mut self, offset: i64, sleep: Duration) -> bool {
        if !self.running_offsets.contains(&offset) {
            return false;
        }
        self.nacked.insert(offset, sleep);
        true
    }
}

/// Awaited sleeps end early with `true` once the worker is stopping.
async fn sleep_unless_stopping(duration: Duration, stopping: &mut watch::Receiver<bool>) -> bool {
    let stopped = tokio::select! {
        _ = tokio::time::sleep(duration) => false,
        _ = stopping.wait_for(|stopping| *stopping) => true,
    };
    stopped || *stopping.borrow()
}

/// One record's run: deliver, retry per the back-off, recover when exhausted.
async fn run_record<D, Fut, F>(
    context: Arc<RunContext<D>>,
    record: ConsumerRecord,
    lane: Option<LaneId>,
    delay: Duration,
    mut stopping: watch::Receiver<bool>,
) -> Completed
where
    D: Fn(ConsumerRecord, AckEvents) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), F>> + Send + 'static,
    F: DeliveryFailure,
{
    let done = |record, outcome| Completed {
        record,
        lane,
        outcome,
    };
    if !delay.is_zero() && sleep_unless_stopping(delay, &mut stopping).await {
        return done(record, Outcome::Abandoned);
    }
    let identity = &context.identity;
    let mut backoff = context.error_handler.backoff().start();
    let mut attempts = 0u64;
    let failure = loop {
        attempts += 1;
        let span = record_span(identity, record.offset, attempts);
        let delivery = (context.dispatch)(record.clone(), context.acks.clone());
        let failure = match tracing::Instrument::instrument(delivery, span).await {
            Ok(()) => return done(record, Outcome::Handled),
            Err(failure) => failure,
        };
        if *stopping.borrow() {
            return done(record, Outcome::Abandoned);
        }
        let Some(wait) = failure.is_retryable().then(|| backoff.next()).flatten() else {
            break failure;
        };
        log_retry(identity, record.offset, attempts, wait, &failure);
        if sleep_unless_stopping(wait, &mut stopping).await {
            return done(record, Outcome::Abandoned);
        }
    };
    let description = failure.describe();
    let group = identity.group_id.as_deref();
    loop {
        match context
            .error_handler
            .recover(&record, &description, attempts, group)
            .await
        {
            Ok(()) => {
                log_recovered(identity, record.offset, attempts);
                return done(record, Outcome::Recovered);
            }
            Err(error) => {
                log_recovery_failed(identity, record.offset, &error);
                if sleep_unless_stopping(Duration::from_secs(1), &mut stopping).await {
                    return done(record, Outcome::Abandoned);
                }
            }
        }
    }
}

impl<C, D, Fut, F> Worker<C, D, F>
where
    C: PartitionCommitter,
    D: Fn(ConsumerRecord, AckEvents) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), F>> + Send + 'static,
    F: DeliveryFailure,
{
    /// Admits one fetch's records into the window, waiting for room when it is full. `Some`
    /// when stopping.
    pub(super) async fn admit_parallel(&mut self, records: Vec<ConsumerRecord>) -> Option<bool> {
        for record in records {
            if record.offset < self.position {
                continue;
            }
            let expected = self.position;
            while !self.parallel_has_room() && self.stop.is_none() {
                self.await_parallel_event().await;
            }
            if self.stop.is_some() {
                return Some(false);
            }
            if self.paused || self.position != expected {
                // Paused, or a seek moved the position: the rest of this fetch is stale.
                return None;
            }
            self.position = record.offset + 1;
            self.tracker.dispatched(record.offset);
            let parallel = self.parallel.as_mut().expect("parallel mode");
            if let Some(record) = parallel.lanes.admit(record) {
                self.start_run(record, Duration::ZERO);
            }
        }
        self.end_of_poll().await;
        None
    }

    pub(super) fn parallel_has_room(&self) -> bool {
        self.parallel
            .as_ref()
            .is_none_or(ParallelDispatch::has_room)
    }

    /// Waits for one control message, acknowledgment or finished run, and handles it.
    async fn await_parallel_event(&mut self) {
        let parallel = self.parallel.as_mut().expect("parallel mode");
        tokio::select! {
            completed = parallel.next_completed() => self.on_completed(completed).await,
            Some(event) = self.acks.recv() => self.on_ack(event).await,
            answer = self.commits.answer() => self.on_commit_done(answer).await,
            control = self.control.recv() => match control {
                Some(control) => self.on_control(control).await,
                None => self.stop_requested_by_drop(),
            },
        }
    }

    fn start_run(&mut self, record: ConsumerRecord, delay: Duration) {
        let parallel = self.parallel.as_mut().expect("parallel mode");
        let lane = parallel.lanes.lane_of(&record);
        parallel.running_offsets.insert(record.offset);
        let run = run_record(
            Arc::clone(&parallel.context),
            record,
            lane,
            delay,
            parallel.stopping.subscribe(),
        );
        parallel.running.push(Box::pin(run));
        if self.clock.busy_for().is_none() {
            self.clock.set(Some(Instant::now()));
        }
    }

    /// A record's run finished: acknowledge and commit per the ack mode, start the next record
    /// of its lane, or run it again after a nack.
    pub(super) async fn on_completed(&mut self, completed: Completed) {
        let Completed {
            record,
            lane,
            outcome,
        } = completed;
        let offset = record.offset;
        // Acknowledgments (and nacks) the handler sent before returning happened before its
        // result.
        while let Some(event) = self.acks.try_recv() {
            self.on_ack(event).await;
        }
        let parallel = self.parallel.as_mut().expect("parallel mode");
        parallel.running_offsets.remove(&offset);
        if let Some(sleep) = parallel.nacked.remove(&offset) {
            if !matches!(outcome, Outcome::Abandoned) {
                self.start_run(record, sleep);
                return;
            }
        }
        let next = parallel.lanes.finished(lane);
        let now_running = !parallel.running.is_empty();
        self.clock.set(now_running.then(Instant::now));
        match outcome {
            Outcome::Handled => {
                let acknowledge = !self.settings.commit_policy.is_manual();
                self.record_finished(offset, acknowledge).await;
            }
            // Spring commits a recovered record's offset, in every ack mode.
            Outcome::Recovered => self.record_finished(offset, true).await,
            Outcome::Abandoned => {}
        }
        if let Some(next) = next {
            if self.stop.is_none() {
                self.start_run(next, Duration::ZERO);
            }
        }
    }

    /// Stopping: drop what has not started, tell the running records, and wait for them up to
    /// the drain timeout. Returns `true` if some were still running then.
    pub(super) async fn drain_parallel(&mut self) -> bool {
        let Some(parallel) = self.parallel.as_mut() else {
            return false;
        };
        parallel.lanes.drop_waiting();
        let _ = parallel.stopping.send(true);
        let deadline = tokio::time::Instant::now() + self.settings.drain_timeout;
        loop {
            let parallel = self.parallel.as_mut().expect("parallel mode");
            if parallel.running.is_empty() {
                return false;
            }
            tokio::select! {
                completed = parallel.next_completed() => self.on_completed(completed).await,
                Some(event) = self.acks.recv() => self.on_ack(event).await,
                _ = tokio::time::sleep_until(deadline) => {
                    tracing::warn!(
                        topic = %self.identity.topic,
                        partition = self.identity.partition,
                        running = parallel.running.len(),
                        "handlers still running after the drain timeout; their records stay uncommitted"
                    );
                    parallel.running.clear();
                    return true;
                }
            }
        }
    }
}
