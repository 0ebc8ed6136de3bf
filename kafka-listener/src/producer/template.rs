//! `KafkaTemplate`: Spring's producer template on rskafka, with Java's partitioning.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use rskafka::chrono::{TimeZone, Utc};
use rskafka::client::partition::{PartitionClient, UnknownTopicHandling};
use rskafka::client::producer::aggregator::RecordAggregator;
use rskafka::client::producer::{BatchProducer, BatchProducerBuilder};
use rskafka::record::Record;
use tokio::sync::Semaphore;

use super::delivery::{AttemptFailed, RetryPolicy, Undelivered};
use super::metadata::{MetadataError, PartitionCounts};
use super::partitioner::partition_for_key;
use super::payload::ToPayload;
use super::serialize::{encode, EncodeError, SerializerMismatch};
use super::settings::ProducerSettings;
use super::sticky::StickyPartitions;
use crate::client::{ClientError, ConnectionConfig};
use crate::config::KafkaProperties;
use crate::record::Headers;

/// A record to produce: Spring's `ProducerRecord`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProducerRecord {
    /// Target topic.
    pub topic: String,
    /// Explicit partition; wins over the key's partition.
    pub partition: Option<i32>,
    /// Serialized key; `None` is Kafka's null key (sticky partitioning).
    pub key: Option<Bytes>,
    /// Serialized value; `None` is a tombstone.
    pub value: Option<Bytes>,
    /// Headers.
    pub headers: Headers,
    /// Create time in ms since the epoch; now when `None`.
    pub timestamp: Option<i64>,
}

/// Where a record was written: Spring's `SendResult` / Kafka's `RecordMetadata`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendResult {
    /// Partition written to.
    pub partition: i32,
    /// Offset assigned by the broker.
    pub offset: i64,
    /// The record's create time, ms since the epoch.
    pub timestamp: i64,
}

/// Why a send failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The key or value could not be serialized.
    #[error("cannot serialize record for topic {topic}: {source}")]
    Serialize {
        /// Target topic.
        topic: String,
        /// serde's error.
        #[source]
        source: serde_json::Error,
    },
    /// `send_default` without `default_topic`.
    #[error("no default topic: set spring.kafka.template.default-topic")]
    NoDefaultTopic,
    /// The topic's metadata is unavailable.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// An explicit partition does not exist.
    #[error("topic {topic} has {partitions} partitions; partition {partition} does not exist")]
    NoSuchPartition {
        /// Target topic.
        topic: String,
        /// The requested partition.
        partition: i32,
        /// How many the topic has.
        partitions: i32,
    },
    /// The record is larger than `buffer.memory`.
    #[error("record of {size} bytes exceeds buffer.memory ({buffer_memory} bytes)")]
    RecordTooLarge {
        /// Record size.
        size: usize,
        /// Configured buffer.
        buffer_memory: usize,
    },
    /// A value does not fit the configured `key-serializer` / `value-serializer`.
    #[error("cannot serialize record for topic {topic}: {source}")]
    Serializer {
        /// Target topic.
        topic: String,
        /// What did not fit.
        #[source]
        source: SerializerMismatch,
    },
    /// `buffer.memory` stayed full for `max.block.ms`: the cluster does not keep up (or is
    /// unreachable); Java's producer throws a `TimeoutException` here.
    #[error(
        "buffer.memory ({buffer_memory} bytes) stayed full for max.block.ms ({waited:?}); \
         the cluster is not keeping up: check it, or raise buffer.memory / max.block.ms"
    )]
    BufferExhausted {
        /// Configured buffer.
        buffer_memory: usize,
        /// How long the send waited.
        waited: Duration,
    },
    /// The broker rejected the record (a non-retriable error, or `retries` used up).
    #[error("produce to {topic}-{partition} failed after {attempts} attempt(s): {reason}")]
    Produce {
        /// Target topic.
        topic: String,
        /// Target partition.
        partition: i32,
        /// The data plane's error.
        reason: String,
        /// How many times the record was sent.
        attempts: u32,
    },
    /// `delivery.timeout.ms` passed.
    #[error(
        "record to {topic}-{partition} not acknowledged within delivery.timeout.ms ({timeout:?}) \
         after {attempts} attempt(s){}",
        last_error.as_deref().map(|e| format!("; last error: {e}")).unwrap_or_default()
    )]
    DeliveryTimeout {
        /// Target topic.
        topic: String,
        /// Target partition.
        partition: i32,
        /// The configured timeout.
        timeout: Duration,
        /// How many times the record was sent.
        attempts: u32,
        /// The last retriable failure, if an attempt failed before the time ran out.
        last_error: Option<String>,
    },
    /// The data plane client could not be built.
    #[error(transparent)]
    Client(#[from] ClientError),
}

type Batcher = Arc<BatchProducer<RecordAggregator>>;

/// The partition's client (for unbatched large records) and its batching producer.
type PartitionProducer = (Arc<PartitionClient>, Batcher);

/// Produces records with Java's partitioning, per-partition batching (linger, batch size),
/// bounded memory and a delivery timeout. Cheap to clone; share one per application.
///
/// ```no_run
/// use kafka_listener::client::ConnectionConfig;
/// use kafka_listener::producer::{KafkaTemplate, ProducerSettings};
/// use kafka_listener::Json;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let template = KafkaTemplate::connect(
///     ConnectionConfig::new(["127.0.0.1:9092"]),
///     ProducerSettings::default(),
/// ).await?;
/// let sent = template.send("orders", "order-1", Json(serde_json::json!({"sku": "a"}))).await?;
/// println!("written to partition {} at offset {}", sent.partition, sent.offset);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct KafkaTemplate {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: rskafka::client::Client,
    settings: ProducerSettings,
    partition_counts: PartitionCounts,
    batchers: tokio::sync::Mutex<HashMap<(String, i32), PartitionProducer>>,
    sticky: Mutex<StickyPartitions>,
    buffer: Semaphore,
    lossy_headers_warned: std::sync::atomic::AtomicBool,
}

impl KafkaTemplate {
    /// Connects to the cluster.
    pub async fn connect(
        connection: ConnectionConfig,
        settings: ProducerSettings,
    ) -> Result<Self, SendError> {
        let client = connection.rskafka_client().await?;
        let buffer = Semaphore::new(settings.buffer_memory);
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                sticky: Mutex::new(StickyPartitions::new(settings.batch_size)),
                settings,
                partition_counts: PartitionCounts::new(connection),
                batchers: tokio::sync::Mutex::new(HashMap::new()),
                buffer,
                lossy_headers_warned: Default::default(),
            }),
        })
    }

    /// Connects as `spring.kafka.producer.*` describes: its bootstrap servers and client id
    /// (falling back to the global ones) and [`ProducerSettings::from_properties`].
    ///
    /// ```no_run
    /// use kafka_listener::config::KafkaProperties;
    /// use kafka_listener::producer::KafkaTemplate;
    ///
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// let props = KafkaProperties::from_yaml_file("application.yml")?;
    /// let template = KafkaTemplate::from_config(&props).await?;
    /// template.send_serialized("orders", &"order-1", &serde_json::json!({"sku": "a"})).await?;
    /// # Ok(()) }
    /// ```
    pub async fn from_config(props: &KafkaProperties) -> Result<Self, SendError> {
        Self::connect(
            props.producer_connection(),
            ProducerSettings::from_properties(props),
        )
        .await
    }

    /// The settings in use.
    pub fn settings(&self) -> &ProducerSettings {
        &self.inner.settings
    }

    /// Bytes of `buffer.memory` not taken by records awaiting acknowledgement (Java's
    /// `buffer-available-bytes` metric). A send that needs more waits, up to `max.block.ms`.
    pub fn buffer_available(&self) -> usize {
        self.inner.buffer.available_permits()
    }

    /// The number of partitions of `topic` (cached; asks the cluster the first time, which
    /// auto-creates the topic where the broker allows it).
    pub async fn partition_count(&self, topic: &str) -> Result<i32, SendError> {
        Ok(self.inner.partition_counts.get(topic).await?)
    }

    /// Sends `value` with `key` to `topic`; the key picks the partition as Java's producer does.
    pub async fn send(
        &self,
        topic: &str,
        key: impl ToPayload,
        value: impl ToPayload,
    ) -> Result<SendResult, SendError> {
        let serialize = |source| SendError::Serialize {
            topic: topic.to_owned(),
            source,
        };
        self.send_record(ProducerRecord {
            topic: topic.to_owned(),
            key: key.to_payload().map_err(serialize)?,
            value: value.to_payload().map_err(serialize)?,
            ..ProducerRecord::default()
        })
        .await
    }

    /// Sends `value` with `key`, each encoded by the configured `key-serializer` /
    /// `value-serializer` (Java's byte layouts: `StringSerializer` wants a string,
    /// `LongSerializer` an integer, `JsonSerializer` anything serde can write, …). A value the
    /// serializer cannot write is [`SendError::Serializer`]; `None` is Kafka's null.
    pub async fn send_serialized<K, V>(
        &self,
        topic: &str,
        key: &K,
        value: &V,
    ) -> Result<SendResult, SendError>
    where
        K: serde::Serialize + ?Sized,
        V: serde::Serialize + ?Sized,
    {
        let settings = &self.inner.settings;
        let key = encode_for(topic, settings.key_serializer, key)?;
        let value = encode_for(topic, settings.value_serializer, value)?;
        self.send_record(ProducerRecord {
            topic: topic.to_owned(),
            key,
            value,
            ..ProducerRecord::default()
        })
        .await
    }

    /// Sends to the configured default topic.
    pub async fn send_default(
        &self,
        key: impl ToPayload,
        value: impl ToPayload,
    ) -> Result<SendResult, SendError> {
        let topic = self
            .inner
            .settings
            .default_topic
            .clone()
            .ok_or(SendError::NoDefaultTopic)?;
        self.send(&topic, key, value).await
    }

    /// Sends a fully specified record. Resolves once the broker acknowledged it (acks=all).
    pub async fn send_record(&self, record: ProducerRecord) -> Result<SendResult, SendError> {
        let inner = &self.inner;
        let partitions = inner.partition_counts.get(&record.topic).await?;
        let size = approximate_size(&record);
        let partition =
            match (record.partition, &record.key) {
                (Some(p), _) if (0..partitions).contains(&p) => p,
                (Some(p), _) => {
                    return Err(SendError::NoSuchPartition {
                        topic: record.topic,
                        partition: p,
                        partitions,
                    })
                }
                (None, Some(key)) => partition_for_key(key, partitions),
                (None, None) => inner.sticky.lock().expect("sticky lock").partition(
                    &record.topic,
                    partitions,
                    size,
                ),
            };
        if size > inner.settings.buffer_memory {
            return Err(SendError::RecordTooLarge {
                size,
                buffer_memory: inner.settings.buffer_memory,
            });
        }
        // Back-pressure: wait for room instead of buffering without bound, as long as
        // max.block.ms allows (Java's producer blocks in send() the same way).
        let settings = &inner.settings;
        let _permit = tokio::time::timeout(
            settings.max_block,
            inner
                .buffer
                .acquire_many(u32::try_from(size).unwrap_or(u32::MAX)),
        )
        .await
        .map_err(|_| SendError::BufferExhausted {
            buffer_memory: settings.buffer_memory,
            waited: settings.max_block,
        })?
        .expect("the buffer semaphore is never closed");
        let timestamp = record.timestamp.unwrap_or_else(now_millis);
        let topic = record.topic.clone();
        let rs_record = self.to_rskafka(record, timestamp);
        let policy = RetryPolicy {
            retries: settings.retries,
            backoff: settings.retry_backoff,
            backoff_max: settings.retry_backoff_max,
            deadline: tokio::time::Instant::now() + settings.delivery_timeout,
        };
        // A retried record goes out in a later batch: like Java without idempotence, a retry
        // can land behind records sent after it, and a lost acknowledgement can duplicate it.
        let delivered = policy
            .run(|_attempt| self.produce(&topic, partition, rs_record.clone()))
            .await;
        let offset = delivered.map_err(|undelivered| match undelivered {
            Undelivered::Failed { last, attempts } => SendError::Produce {
                topic: topic.clone(),
                partition,
                reason: last.reason,
                attempts,
            },
            Undelivered::TimedOut { last, attempts } => SendError::DeliveryTimeout {
                topic: topic.clone(),
                partition,
                timeout: settings.delivery_timeout,
                attempts,
                last_error: last.map(|l| l.reason),
            },
        })?;
        Ok(SendResult {
            partition,
            offset,
            timestamp,
        })
    }

    /// Waits until every record handed to the template so far has been acknowledged.
    pub async fn flush(&self) -> Result<(), SendError> {
        let batchers: Vec<_> = self.inner.batchers.lock().await.values().cloned().collect();
        for (client, batcher) in batchers {
            batcher.flush().await.map_err(|e| SendError::Produce {
                topic: client.topic().to_owned(),
                partition: client.partition(),
                reason: e.to_string(),
                attempts: 1,
            })?;
        }
        Ok(())
    }

    async fn produce(
        &self,
        topic: &str,
        partition: i32,
        record: Record,
    ) -> Result<i64, AttemptFailed> {
        let (client, batcher) = self.batcher(topic, partition).await?;
        if record.approximate_size() >= self.inner.settings.batch_size {
            // Java sends a record larger than batch.size as a batch of its own.
            let offsets = client
                .produce(vec![record], self.inner.settings.compression.to_rskafka())
                .await
                .map_err(|e| AttemptFailed::from(&e))?;
            return offsets
                .first()
                .copied()
                .ok_or_else(|| AttemptFailed::fatal("broker returned no offset"));
        }
        batcher
            .produce(record)
            .await
            .map_err(|e| AttemptFailed::from(&e))
    }

    async fn batcher(
        &self,
        topic: &str,
        partition: i32,
    ) -> Result<PartitionProducer, AttemptFailed> {
        let mut batchers = self.inner.batchers.lock().await;
        if let Some(found) = batchers.get(&(topic.to_owned(), partition)) {
            return Ok(found.clone());
        }
        let client = Arc::new(
            self.inner
                .client
                .partition_client(topic, partition, UnknownTopicHandling::Retry)
                .await
                .map_err(|e| AttemptFailed::from(&e))?,
        );
        let batcher = Arc::new(
            BatchProducerBuilder::new(Arc::clone(&client))
                .with_linger(self.inner.settings.linger)
                .with_compression(self.inner.settings.compression.to_rskafka())
                .build(RecordAggregator::new(self.inner.settings.batch_size)),
        );
        batchers.insert(
            (topic.to_owned(), partition),
            (client.clone(), batcher.clone()),
        );
        Ok((client, batcher))
    }

    fn to_rskafka(&self, record: ProducerRecord, timestamp: i64) -> Record {
        let mut headers = BTreeMap::new();
        let mut lossy = false;
        for header in record.headers {
            let value = header.value.map(|v| v.to_vec());
            lossy |= value.is_none() || headers.contains_key(&header.name);
            headers.insert(header.name, value.unwrap_or_default());
        }
        if lossy
            && !self
                .inner
                .lossy_headers_warned
                .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            tracing::warn!(
                topic = %record.topic,
                "rskafka 0.6 cannot produce null header values or repeated header names: null \
                 values are sent empty and only the last of a repeated name is kept"
            );
        }
        Record {
            key: record.key.map(|k| k.to_vec()),
            value: record.value.map(|v| v.to_vec()),
            headers,
            timestamp: Utc
                .timestamp_millis_opt(timestamp)
                .single()
                .unwrap_or_else(|| Utc.timestamp_millis_opt(now_millis()).unwrap()),
        }
    }
}

fn encode_for<T: serde::Serialize + ?Sized>(
    topic: &str,
    serializer: crate::config::Serializer,
    payload: &T,
) -> Result<Option<Bytes>, SendError> {
    encode(serializer, payload).map_err(|e| match e {
        EncodeError::Serde(source) => SendError::Serialize {
            topic: topic.to_owned(),
            source,
        },
        EncodeError::Mismatch(source) => SendError::Serializer {
            topic: topic.to_owned(),
            source,
        },
    })
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn approximate_size(record: &ProducerRecord) -> usize {
    record.key.as_ref().map_or(0, Bytes::len)
        + record.value.as_ref().map_or(0, Bytes::len)
        + record
            .headers
            .iter()
            .map(|h| h.name.len() + h.value.as_ref().map_or(0, Bytes::len))
            .sum::<usize>()
        + 64
}
