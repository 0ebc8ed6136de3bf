//! One delivery unit's attempts — a record, or a batch listener's poll — with retries per the
//! back-off and recovery when they are exhausted: the one path every mode shares.
//!
//! A unit runs as a future of its own on the worker's task and ends with a [`Finished`]: the
//! records it is done with (and how each is acknowledged) and, when some remain, the
//! [`Attempt`] that continues with them — after a batch failure that named its record, after a
//! recovery that failed (the records are delivered again after [`RECOVERY_FAILED_PAUSE`], in
//! every mode), or after a nack. The worker applies each `Finished` before it starts the
//! continuation, so commits never run ahead of what was handled.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::watch;

use super::super::ack_events::AckEvents;
use super::handle::{BatchDispatch, PartitionIdentity};
use super::log::{log_recovered, log_recovery_failed, log_retry, unit_span};
use crate::error::{BackOffExecution, BatchFailurePoint, DeliveryFailure, ErrorHandler};
use crate::record::ConsumerRecord;

/// How long a unit waits before its records are delivered again after a recoverer failed.
pub(super) const RECOVERY_FAILED_PAUSE: Duration = Duration::from_secs(1);

/// How a finished record is acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum AckKind {
    /// Handled: acknowledged by the container unless the ack mode is manual.
    Handled,
    /// Recovered, or processed before a batch's failed record: always acknowledged, as Spring
    /// commits them in every ack mode.
    Always,
    /// The handler acknowledged it itself (the records before a batch nack).
    ByHandler,
}

/// The records a unit delivers and where it is in its retries.
pub(super) struct Attempt {
    pub(super) records: Vec<ConsumerRecord>,
    /// Waited before the first delivery (a nack's sleep, a failed recovery's pause).
    pub(super) delay: Duration,
    /// Deliveries so far of the record the back-off counts for.
    attempts: u64,
    backoff: Option<BackOffExecution>,
    /// The offset the back-off counts for (a batch failure further on starts a new count).
    failing: Option<i64>,
}

impl Attempt {
    /// A first delivery of `records` after `delay`.
    pub(super) fn new(records: Vec<ConsumerRecord>, delay: Duration) -> Self {
        Self {
            records,
            delay,
            attempts: 0,
            backoff: None,
            failing: None,
        }
    }

    /// How long to wait before delivering again after `failure`; `None` when the failure is
    /// not retryable or the back-off is exhausted.
    fn retry_wait(&mut self, failure: &impl DeliveryFailure) -> Option<Duration> {
        if !failure.is_retryable() {
            return None;
        }
        self.backoff.as_mut()?.next()
    }

    pub(super) fn first_offset(&self) -> i64 {
        self.records.first().map_or(-1, |r| r.offset)
    }
}

/// What a unit came to.
pub(super) struct Finished {
    /// The records it is done with, in offset order.
    pub(super) done: Vec<(i64, AckKind)>,
    /// The records still to deliver, if any.
    pub(super) next: Option<Attempt>,
    /// The worker was stopping: the records neither done nor in `next` stay unacknowledged.
    pub(super) abandoned: bool,
}

impl Finished {
    fn all(records: &[ConsumerRecord], kind: AckKind) -> Self {
        Self {
            done: records.iter().map(|r| (r.offset, kind)).collect(),
            next: None,
            abandoned: false,
        }
    }

    fn abandoned(done: Vec<(i64, AckKind)>) -> Self {
        Self {
            done,
            next: None,
            abandoned: true,
        }
    }
}

/// How a unit's records reach the listener.
pub(super) enum Deliver<D, F> {
    /// One record per call.
    Record(Arc<D>),
    /// A poll's records per call.
    Batch(BatchDispatch<F>),
}

impl<D, F> Clone for Deliver<D, F> {
    fn clone(&self) -> Self {
        match self {
            Self::Record(dispatch) => Self::Record(Arc::clone(dispatch)),
            Self::Batch(dispatch) => Self::Batch(Arc::clone(dispatch)),
        }
    }
}

/// What every unit of a partition shares.
pub(super) struct UnitContext<D, F> {
    pub(super) deliver: Deliver<D, F>,
    pub(super) acks: AckEvents,
    pub(super) error_handler: ErrorHandler,
    pub(super) identity: PartitionIdentity,
}

/// A nack the handler sent for one of the unit's records: the records before it are done
/// (the handler acknowledged them), the rest are delivered again after the nack's sleep —
/// whatever the handler returned.
fn take_nack(acks: &AckEvents, attempt: &mut Attempt) -> Option<Finished> {
    let first = attempt.records.first()?.offset;
    let last = attempt.records.last()?.offset;
    let (offset, sleep) = acks.take_nack(first, last)?;
    let index = attempt.records.partition_point(|r| r.offset < offset);
    let rest = attempt.records.split_off(index);
    Some(Finished {
        done: attempt
            .records
            .iter()
            .map(|r| (r.offset, AckKind::ByHandler))
            .collect(),
        next: Some(Attempt::new(rest, sleep)),
        abandoned: false,
    })
}

/// Sleeps unless the worker is stopping; `true` if it is.
async fn sleep_unless_stopping(duration: Duration, stopping: &mut watch::Receiver<bool>) -> bool {
    if duration.is_zero() {
        return *stopping.borrow();
    }
    let stopped = tokio::select! {
        _ = tokio::time::sleep(duration) => false,
        _ = stopping.wait_for(|stopping| *stopping) => true,
    };
    stopped || *stopping.borrow()
}

/// Runs `attempt` until its records are handled or recovered, or it hands back a
/// continuation, or the worker stops.
pub(super) fn run<D, Fut, F>(
    context: Arc<UnitContext<D, F>>,
    attempt: Attempt,
    stopping: watch::Receiver<bool>,
) -> BoxFuture<'static, Finished>
where
    D: Fn(ConsumerRecord, AckEvents) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), F>> + Send + 'static,
    F: DeliveryFailure,
{
    Box::pin(run_attempt(context, attempt, stopping))
}

async fn run_attempt<D, Fut, F>(
    context: Arc<UnitContext<D, F>>,
    mut attempt: Attempt,
    mut stopping: watch::Receiver<bool>,
) -> Finished
where
    D: Fn(ConsumerRecord, AckEvents) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), F>> + Send + 'static,
    F: DeliveryFailure,
{
    if sleep_unless_stopping(std::mem::take(&mut attempt.delay), &mut stopping).await {
        return Finished::abandoned(Vec::new());
    }
    let identity = &context.identity;
    let is_batch = matches!(context.deliver, Deliver::Batch(_));
    loop {
        attempt.attempts += 1;
        if attempt.backoff.is_none() {
            attempt.backoff = Some(context.error_handler.backoff().start());
        }
        let span = unit_span(identity, &attempt.records, attempt.attempts, is_batch);
        let result = match &context.deliver {
            Deliver::Record(dispatch) => {
                let record = attempt.records[0].clone();
                tracing::Instrument::instrument(dispatch(record, context.acks.clone()), span).await
            }
            Deliver::Batch(dispatch) => {
                let records = attempt.records.clone();
                tracing::Instrument::instrument(dispatch(records, context.acks.clone()), span).await
            }
        };
        if let Some(nacked) = take_nack(&context.acks, &mut attempt) {
            return nacked;
        }
        let failure = match result {
            Ok(()) => return Finished::all(&attempt.records, AckKind::Handled),
            Err(failure) => failure,
        };
        if *stopping.borrow() {
            return Finished::abandoned(Vec::new());
        }
        let point = failure
            .failed_batch_record()
            .filter(|point| is_batch && point.index < attempt.records.len());
        let Some(BatchFailurePoint {
            index,
            earlier_records_processed,
        }) = point
        else {
            // No record named: the whole unit again, then each record recovered.
            if let Some(wait) = attempt.retry_wait(&failure) {
                let offset = attempt.first_offset();
                log_retry(identity, offset, attempt.attempts, wait, &failure);
                if sleep_unless_stopping(wait, &mut stopping).await {
                    return Finished::abandoned(Vec::new());
                }
                continue;
            }
            return recover_each(&context, attempt, &failure, &mut stopping).await;
        };
        let mut done = Vec::new();
        let index = if earlier_records_processed {
            // Spring's BatchListenerFailedException: the records before `index` are done; the
            // worker commits them before the failed record is delivered again.
            let rest = attempt.records.split_off(index);
            let processed = std::mem::replace(&mut attempt.records, rest);
            done.extend(processed.iter().map(|r| (r.offset, AckKind::Always)));
            0
        } else {
            index
        };
        let failed_offset = attempt.records[index].offset;
        if attempt.failing != Some(failed_offset) {
            attempt.failing = Some(failed_offset);
            attempt.backoff = Some(context.error_handler.backoff().start());
            attempt.attempts = 1;
        }
        if let Some(wait) = attempt.retry_wait(&failure) {
            log_retry(identity, failed_offset, attempt.attempts, wait, &failure);
            if done.is_empty() {
                if sleep_unless_stopping(wait, &mut stopping).await {
                    return Finished::abandoned(done);
                }
                continue;
            }
            // Back to the worker first, so what was processed is committed during the wait.
            attempt.delay = wait;
            return Finished {
                done,
                next: Some(attempt),
                abandoned: false,
            };
        }
        // Exhausted (or not retryable): that record alone is recovered and the others are
        // delivered again — the ones before it too, if the handler never saw them (a record
        // that did not deserialize fails the batch before the handler runs).
        let failed = attempt.records.remove(index);
        let attempts = attempt.attempts;
        let description = failure.describe();
        let recovered = context
            .error_handler
            .recover(
                &failed,
                &description,
                attempts,
                identity.group_id.as_deref(),
            )
            .await;
        let next = match recovered {
            Ok(()) => {
                log_recovered(identity, failed.offset, attempts);
                done.push((failed.offset, AckKind::Always));
                (!attempt.records.is_empty()).then(|| Attempt::new(attempt.records, Duration::ZERO))
            }
            Err(error) => {
                log_recovery_failed(identity, failed.offset, &error);
                attempt.records.insert(index, failed);
                Some(Attempt::new(attempt.records, RECOVERY_FAILED_PAUSE))
            }
        };
        return Finished {
            done,
            next,
            abandoned: false,
        };
    }
}

/// Recovers the unit's records in order. A recoverer that fails ends the run: the records
/// from that one on are delivered again after [`RECOVERY_FAILED_PAUSE`].
async fn recover_each<D, F: DeliveryFailure>(
    context: &UnitContext<D, F>,
    attempt: Attempt,
    failure: &F,
    stopping: &mut watch::Receiver<bool>,
) -> Finished {
    let mut done = Vec::new();
    let identity = &context.identity;
    let description = failure.describe();
    let mut records = attempt.records;
    for index in 0..records.len() {
        if *stopping.borrow() {
            return Finished::abandoned(done);
        }
        let record = &records[index];
        match context
            .error_handler
            .recover(
                record,
                &description,
                attempt.attempts,
                identity.group_id.as_deref(),
            )
            .await
        {
            Ok(()) => {
                log_recovered(identity, record.offset, attempt.attempts);
                done.push((record.offset, AckKind::Always));
            }
            Err(error) => {
                log_recovery_failed(identity, record.offset, &error);
                let rest = records.split_off(index);
                return Finished {
                    done,
                    next: Some(Attempt::new(rest, RECOVERY_FAILED_PAUSE)),
                    abandoned: false,
                };
            }
        }
    }
    Finished {
        done,
        next: None,
        abandoned: false,
    }
}
