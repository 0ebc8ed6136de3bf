//! The dead-letter recoverer: Spring's `DeadLetterPublishingRecoverer`.

use std::sync::Arc;

use crate::error::dead_letter_headers::{dead_letter_headers, FailureDescription};
use crate::producer::{KafkaTemplate, ProducerRecord, SendError, SendResult};
use crate::record::ConsumerRecord;

/// Where a dead-lettered record goes: a topic and, optionally, a partition (`None` lets the
/// partitioner choose from the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterDestination {
    /// Topic to publish to.
    pub topic: String,
    /// Partition; `None` lets the producer's partitioner choose.
    pub partition: Option<i32>,
}

/// Chooses the destination of a failed record.
pub type DestinationResolver =
    Arc<dyn Fn(&ConsumerRecord, &FailureDescription) -> DeadLetterDestination + Send + Sync>;

/// Spring Kafka 4's default: topic `<topic>-dlt` (`.DLT` before 3.3), same partition.
///
/// ```
/// use kafka_listener::error::default_dead_letter_destination;
/// use kafka_listener::ConsumerRecord;
/// let record = ConsumerRecord { topic: "orders".into(), partition: 2, ..Default::default() };
/// let destination = default_dead_letter_destination(&record);
/// assert_eq!(destination.topic, "orders-dlt");
/// assert_eq!(destination.partition, Some(2));
/// ```
pub fn default_dead_letter_destination(record: &ConsumerRecord) -> DeadLetterDestination {
    DeadLetterDestination {
        topic: format!("{}-dlt", record.topic),
        partition: Some(record.partition),
    }
}

/// Publishes records whose retries are exhausted to a dead-letter topic, with the original key,
/// value (raw bytes, also when deserialization failed) and headers plus Spring's `kafka_dlt-*`
/// headers. A failed publish is returned as an error so the container does not commit past the
/// record.
#[derive(Clone)]
pub struct DeadLetterPublisher {
    template: KafkaTemplate,
    resolver: Option<DestinationResolver>,
}

impl std::fmt::Debug for DeadLetterPublisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeadLetterPublisher")
            .field("custom_resolver", &self.resolver.is_some())
            .finish()
    }
}

impl DeadLetterPublisher {
    /// Publishes with `template` to Spring's default destination.
    pub fn new(template: KafkaTemplate) -> Self {
        Self {
            template,
            resolver: None,
        }
    }

    /// Uses `resolver` to choose destinations instead of `<topic>-dlt`, same partition.
    pub fn with_destination_resolver(
        mut self,
        resolver: impl Fn(&ConsumerRecord, &FailureDescription) -> DeadLetterDestination
            + Send
            + Sync
            + 'static,
    ) -> Self {
        self.resolver = Some(Arc::new(resolver));
        self
    }

    /// Publishes `record`'s dead-letter copy and waits for the broker's acknowledgment.
    pub async fn publish(
        &self,
        record: &ConsumerRecord,
        failure: &FailureDescription,
        group_id: Option<&str>,
    ) -> Result<SendResult, SendError> {
        let destination = match &self.resolver {
            Some(resolve) => resolve(record, failure),
            None => default_dead_letter_destination(record),
        };
        // Same partition only if the dead-letter topic has it; else let the partitioner choose,
        // as Spring does.
        let partition = match destination.partition {
            Some(p) if p < self.template.partition_count(&destination.topic).await? => Some(p),
            _ => None,
        };
        let published = self
            .template
            .send_record(ProducerRecord {
                topic: destination.topic.clone(),
                partition,
                key: record.key.clone(),
                value: record.value.clone(),
                headers: dead_letter_headers(record, failure, group_id),
                timestamp: None,
            })
            .await;
        match &published {
            Ok(sent) => tracing::info!(
                topic = %record.topic,
                partition = record.partition,
                offset = record.offset,
                dlt = %destination.topic,
                dlt_partition = sent.partition,
                dlt_offset = sent.offset,
                "record published to the dead-letter topic"
            ),
            Err(error) => tracing::error!(
                topic = %record.topic,
                partition = record.partition,
                offset = record.offset,
                dlt = %destination.topic,
                %error,
                "dead-letter publish failed; the record's offset is not committed"
            ),
        }
        published
    }
}
