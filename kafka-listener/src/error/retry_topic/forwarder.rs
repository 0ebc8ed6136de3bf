//! The recoverer of a listener with retry topics: publishes a failed record to its next stage.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::chain::RetryChain;
use super::headers::{attempts_of, forward_headers};
use crate::error::FailureDescription;
use crate::producer::{KafkaTemplate, ProducerRecord, SendError};
use crate::record::ConsumerRecord;

/// Publishes a failed record to the next topic of its [`RetryChain`] — the next retry topic
/// with its due time, or the DLT once the attempts are exhausted or the failure is fatal — and
/// logs and skips it when no stage is left. The record keeps its key, value and headers and
/// lands on the same partition number when the destination has it.
#[derive(Clone)]
pub struct RetryTopicForwarder {
    template: KafkaTemplate,
    chains: Arc<Vec<RetryChain>>,
}

impl std::fmt::Debug for RetryTopicForwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryTopicForwarder")
            .field("chains", &self.chains)
            .finish_non_exhaustive()
    }
}

impl RetryTopicForwarder {
    /// Forwards along `chains` (one per main topic) with `template`.
    pub fn new(template: KafkaTemplate, chains: Vec<RetryChain>) -> Self {
        Self {
            template,
            chains: Arc::new(chains),
        }
    }

    /// The chains, one per main topic.
    pub fn chains(&self) -> &[RetryChain] {
        &self.chains
    }

    fn chain_of(&self, topic: &str) -> Option<&RetryChain> {
        self.chains.iter().find(|chain| {
            chain.main_topic() == topic || chain.stages().iter().any(|s| s.topic == topic)
        })
    }

    /// Publishes `record`, which failed with `failure` in `group_id`, to its next stage and
    /// waits for the broker's acknowledgment. `Ok` also when no stage is left (logged).
    pub async fn forward(
        &self,
        record: &ConsumerRecord,
        failure: &FailureDescription,
        group_id: Option<&str>,
    ) -> Result<(), SendError> {
        let attempts = attempts_of(record);
        let Some(chain) = self.chain_of(&record.topic) else {
            tracing::error!(
                topic = %record.topic,
                partition = record.partition,
                offset = record.offset,
                error = %failure.message,
                "record failed on a topic outside every retry chain; skipping it"
            );
            return Ok(());
        };
        let Some(stage) = chain.next_stage(&record.topic, attempts, failure.retryable) else {
            tracing::error!(
                topic = %record.topic,
                partition = record.partition,
                offset = record.offset,
                attempts,
                error = %failure.message,
                error_type = %failure.type_name,
                "record failed on its last attempt and the chain has no DLT; skipping it"
            );
            return Ok(());
        };
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_millis() as i64;
        let delay_ms = stage.delay.as_millis().min(i64::MAX as u128) as i64;
        let partition = if record.partition < self.template.partition_count(&stage.topic).await? {
            Some(record.partition)
        } else {
            None
        };
        let sent = self
            .template
            .send_record(ProducerRecord {
                topic: stage.topic.clone(),
                partition,
                key: record.key.clone(),
                value: record.value.clone(),
                headers: forward_headers(record, failure, group_id, now_ms, delay_ms),
                timestamp: None,
            })
            .await?;
        if stage.is_dlt {
            tracing::error!(
                topic = %record.topic,
                partition = record.partition,
                offset = record.offset,
                attempts,
                retryable = failure.retryable,
                error = %failure.message,
                dlt = %stage.topic,
                dlt_offset = sent.offset,
                "record failed and won't be retried; published to the dead-letter topic"
            );
        } else {
            tracing::info!(
                topic = %record.topic,
                partition = record.partition,
                offset = record.offset,
                attempts,
                error = %failure.message,
                retry_topic = %stage.topic,
                due_in_ms = delay_ms,
                "record failed; published to the retry topic"
            );
        }
        Ok(())
    }
}
