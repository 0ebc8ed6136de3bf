//! The worker's batch mode: one poll's records of the partition per handler call, with
//! Spring's batch error semantics done safely.
//!
//! A failure that names its record ([`DeliveryFailure::failed_batch_record`]) after the
//! handler processed the ones before it commits those and redelivers the batch from the failed
//! record per the back-off; when the retries are exhausted that record alone is recovered and
//! the rest of the batch is delivered again. A record that failed before the handler ran (it
//! did not deserialize) is recovered alone and the whole rest of the batch delivered again. A
//! failure that names no record retries the whole batch, then recovers its records one by one.
//! Nothing is ever committed unprocessed.

use std::future::Future;
use std::time::Duration;

use super::super::ack_events::AckEvents;
use super::{
    log_recovered, log_recovery_failed, log_retry, BatchDispatch, Delivery, PartitionCommitter,
    Worker,
};
use crate::error::{BatchFailurePoint, DeliveryFailure};
use crate::record::ConsumerRecord;

/// A span per batch delivery; cheap when the level is off.
fn batch_span(
    worker_topic: &str,
    partition: i32,
    batch: &[ConsumerRecord],
    attempt: u64,
) -> tracing::Span {
    tracing::debug_span!(
        "batch",
        topic = %worker_topic,
        partition,
        first_offset = batch.first().map_or(-1, |r| r.offset),
        records = batch.len(),
        attempt,
    )
}

impl<C, D, Fut, F> Worker<C, D, F>
where
    C: PartitionCommitter,
    D: Fn(ConsumerRecord, AckEvents) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), F>> + Send + 'static,
    F: DeliveryFailure,
{
    /// Delivers one fetch's records as batches of at most `max_poll_records`. `Some` when
    /// stopping.
    pub(super) async fn process_batches(
        &mut self,
        dispatch: &BatchDispatch<F>,
        records: Vec<ConsumerRecord>,
    ) -> Option<bool> {
        let mut records: Vec<ConsumerRecord> = records
            .into_iter()
            .filter(|record| record.offset >= self.position)
            .collect();
        while !records.is_empty() {
            let rest = records.split_off(records.len().min(self.settings.max_poll_records.max(1)));
            let batch = std::mem::replace(&mut records, rest);
            match self.deliver_batch(dispatch, batch).await {
                Delivery::Done => {}
                Delivery::Rewind => return None,
                Delivery::Stopping { drain_timed_out } => return Some(drain_timed_out),
            }
            if !self.end_of_poll().await {
                return None;
            }
        }
        None
    }

    async fn deliver_batch(
        &mut self,
        dispatch: &BatchDispatch<F>,
        mut batch: Vec<ConsumerRecord>,
    ) -> Delivery {
        for record in &batch {
            self.tracker.dispatched(record.offset);
        }
        let mut backoff = self.error_handler.backoff().start();
        // The record the back-off counts for (a failure further on starts a new count).
        let mut failing: Option<i64> = None;
        let mut attempts = 0u64;
        loop {
            attempts += 1;
            let span = batch_span(
                &self.identity.topic,
                self.identity.partition,
                &batch,
                attempts,
            );
            let delivery = dispatch(batch.clone(), self.ack_sender.clone());
            let handler = tracing::Instrument::instrument(delivery, span);
            let failure = match self.run_handler(handler).await {
                Ok(Ok(())) => {
                    let acknowledge = !self.settings.commit_policy.is_manual();
                    self.batch_finished(&batch, acknowledge).await;
                    return self.after_delivery();
                }
                Ok(Err(failure)) => failure,
                Err(next) => return next,
            };
            if self.stop.is_some() {
                return Delivery::Stopping {
                    drain_timed_out: false,
                };
            }
            let point = failure
                .failed_batch_record()
                .filter(|point| point.index < batch.len());
            let Some(BatchFailurePoint {
                index,
                earlier_records_processed,
            }) = point
            else {
                // No record named: the whole batch again, then each record recovered.
                if let Some(wait) = failure.is_retryable().then(|| backoff.next()).flatten() {
                    log_retry(&self.identity, batch[0].offset, attempts, wait, &failure);
                    if self.wait_before_retry(wait).await {
                        continue;
                    }
                    return Delivery::Stopping {
                        drain_timed_out: false,
                    };
                }
                return self.recover_each(&batch, &failure, attempts).await;
            };
            let index = if earlier_records_processed {
                // Spring's BatchListenerFailedException: the records before `index` are done.
                let done: Vec<ConsumerRecord> = batch.drain(..index).collect();
                if !done.is_empty() {
                    self.batch_finished(&done, true).await;
                    self.commit().await;
                }
                0
            } else {
                index
            };
            let failed_offset = batch[index].offset;
            if failing != Some(failed_offset) {
                failing = Some(failed_offset);
                backoff = self.error_handler.backoff().start();
                attempts = 1;
            }
            if let Some(wait) = failure.is_retryable().then(|| backoff.next()).flatten() {
                log_retry(&self.identity, failed_offset, attempts, wait, &failure);
                if self.wait_before_retry(wait).await {
                    continue;
                }
                return Delivery::Stopping {
                    drain_timed_out: false,
                };
            }
            // Exhausted (or not retryable): that record alone is recovered, the others are
            // delivered again — the ones before it too, if the handler never saw them (a record
            // that did not deserialize fails the batch before the handler runs).
            let failed = batch.remove(index);
            if let Some(rewind) = self.recover_one(&failed, &failure, attempts).await {
                return rewind;
            }
            if batch.is_empty() {
                return self.after_delivery();
            }
            failing = None;
            backoff = self.error_handler.backoff().start();
            attempts = 0;
        }
    }

    /// Sleeps before a retry; `false` if a stop arrived meanwhile.
    async fn wait_before_retry(&mut self, wait: Duration) -> bool {
        self.interruptible_sleep(wait).await;
        self.stop.is_none()
    }

    /// Every record of `batch` handled: move past it and commit per the policy.
    async fn batch_finished(&mut self, batch: &[ConsumerRecord], acknowledge: bool) {
        let Some(last) = batch.last() else {
            return;
        };
        if acknowledge {
            for record in batch {
                self.acknowledge(record.offset);
            }
        }
        self.position = last.offset + 1;
        if self.schedule.record_handled() {
            self.commit().await;
        }
    }

    /// Recovers each record of a batch that failed as a whole, in order.
    async fn recover_each(
        &mut self,
        batch: &[ConsumerRecord],
        failure: &F,
        attempts: u64,
    ) -> Delivery {
        for record in batch {
            if let Some(rewind) = self.recover_one(record, failure, attempts).await {
                return rewind;
            }
        }
        self.after_delivery()
    }

    /// Runs the recoverer for one record and moves past it; `Some(Rewind)` if recovery failed
    /// (the record is delivered again, nothing after it is committed).
    async fn recover_one(
        &mut self,
        record: &ConsumerRecord,
        failure: &F,
        attempts: u64,
    ) -> Option<Delivery> {
        let description = failure.describe();
        let group = self.identity.group_id.as_deref();
        match self
            .error_handler
            .recover(record, &description, attempts, group)
            .await
        {
            Ok(()) => {
                log_recovered(&self.identity, record.offset, attempts);
                self.batch_finished(std::slice::from_ref(record), true)
                    .await;
                None
            }
            Err(error) => {
                log_recovery_failed(&self.identity, record.offset, &error);
                self.rewind_to(record.offset);
                self.interruptible_sleep(Duration::from_secs(1)).await;
                Some(Delivery::Rewind)
            }
        }
    }
}
