//! [`ProducerSettings`]: what the template honours, and how `spring.kafka.producer.*` maps to it.

use std::time::Duration;

use rskafka::client::partition::Compression;

use crate::config::{KafkaProperties, Serializer};

/// `spring.kafka.producer.*` settings the template honours, with Kafka 4's defaults.
///
/// ```
/// use kafka_listener::config::{KafkaProperties, Serializer};
/// use kafka_listener::producer::{Acks, CompressionType, ProducerSettings};
/// use std::time::Duration;
///
/// let props = KafkaProperties::from_yaml_str(r#"
/// spring.kafka:
///   producer:
///     acks: all
///     batch-size: 32KB
///     compression-type: lz4
///     value-serializer: org.springframework.kafka.support.serializer.JsonSerializer
///     properties.linger.ms: 20
///   template.default-topic: orders
/// "#).unwrap();
/// let settings = ProducerSettings::from_properties(&props);
/// assert_eq!(settings.acks, Acks::All);
/// assert_eq!(settings.batch_size, 32 * 1024);
/// assert_eq!(settings.compression, CompressionType::Lz4);
/// assert_eq!(settings.linger, Duration::from_millis(20));
/// assert_eq!(settings.value_serializer, Serializer::Json);
/// assert_eq!(settings.default_topic.as_deref(), Some("orders"));
/// assert_eq!(settings.buffer_memory, 32 * 1024 * 1024); // Kafka's default
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerSettings {
    /// `acks`. rskafka 0.6 always produces with `acks=all`; a weaker setting is logged and
    /// the stronger guarantee kept.
    pub acks: Acks,
    /// `linger.ms`: how long a batch waits for more records (Kafka 4 default 5 ms).
    pub linger: Duration,
    /// `batch.size` in bytes per partition batch (16 KiB).
    pub batch_size: usize,
    /// `compression.type`.
    pub compression: CompressionType,
    /// `buffer.memory`: bytes of records awaiting delivery before `send` waits (32 MiB).
    pub buffer_memory: usize,
    /// `max.block.ms`: how long `send` waits for buffer memory before failing (60 s).
    pub max_block: Duration,
    /// `delivery.timeout.ms`: how long a send may take, retries included (120 s).
    pub delivery_timeout: Duration,
    /// `retries`: how often a send failed by a retriable error is tried again, within
    /// `delivery_timeout` (Kafka's default: `i32::MAX`, i.e. until the timeout).
    pub retries: u32,
    /// `retry.backoff.ms`: the first wait before a retry (100 ms), doubling per attempt.
    pub retry_backoff: Duration,
    /// `retry.backoff.max.ms`: the longest wait between retries (1 s).
    pub retry_backoff_max: Duration,
    /// `key-serializer`: how [`KafkaTemplate::send_serialized`](super::KafkaTemplate::send_serialized)
    /// encodes keys (`StringSerializer` by default).
    pub key_serializer: Serializer,
    /// `value-serializer`: how `send_serialized` encodes values.
    pub value_serializer: Serializer,
    /// The topic of [`KafkaTemplate::send_default`](super::KafkaTemplate::send_default)
    /// (`spring.kafka.template.default-topic`).
    pub default_topic: Option<String>,
}

impl Default for ProducerSettings {
    fn default() -> Self {
        Self {
            acks: Acks::All,
            linger: Duration::from_millis(5),
            batch_size: 16 * 1024,
            compression: CompressionType::None,
            buffer_memory: 32 * 1024 * 1024,
            max_block: Duration::from_secs(60),
            delivery_timeout: Duration::from_secs(120),
            retries: i32::MAX as u32,
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_secs(1),
            key_serializer: Serializer::String,
            value_serializer: Serializer::String,
            default_topic: None,
        }
    }
}

impl ProducerSettings {
    /// The settings `spring.kafka.producer.*` (and `spring.kafka.template.default-topic`)
    /// describe; unset keys keep Kafka's defaults. Bad values were already refused, with the
    /// YAML path and the accepted values, when the [`KafkaProperties`] were loaded.
    pub fn from_properties(props: &KafkaProperties) -> Self {
        let producer = &props.producer;
        let defaults = Self::default();
        let acks = match producer.acks.as_deref() {
            Some("0") => Acks::None,
            Some("1") => Acks::Leader,
            _ => Acks::All,
        };
        if acks != Acks::All {
            tracing::warn!(
                acks = acks.as_str(),
                "spring.kafka.producer.acks asks for a weaker acknowledgement than the producer \
                 gives: rskafka 0.6 always produces with acks=all (every in-sync replica), so \
                 records stay durable but sends wait for replication"
            );
        }
        let bytes = |value: Option<u64>, default: usize| {
            value.map_or(default, |v| usize::try_from(v).unwrap_or(usize::MAX))
        };
        Self {
            acks,
            linger: producer.linger.unwrap_or(defaults.linger),
            batch_size: bytes(producer.batch_size, defaults.batch_size),
            compression: producer
                .compression_type
                .as_deref()
                .and_then(CompressionType::from_kafka_name)
                .unwrap_or_default(),
            buffer_memory: bytes(producer.buffer_memory, defaults.buffer_memory),
            max_block: producer.max_block.unwrap_or(defaults.max_block),
            delivery_timeout: producer
                .delivery_timeout
                .unwrap_or(defaults.delivery_timeout),
            retries: producer.retries.unwrap_or(defaults.retries),
            retry_backoff: producer.retry_backoff.unwrap_or(defaults.retry_backoff),
            retry_backoff_max: producer
                .retry_backoff_max
                .unwrap_or(defaults.retry_backoff_max),
            key_serializer: producer.key_serializer,
            value_serializer: producer.value_serializer,
            default_topic: props.template.default_topic.clone(),
        }
    }
}

/// `acks`: how many replicas must have a record before the broker acknowledges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Acks {
    /// `acks=0`: no acknowledgement.
    None,
    /// `acks=1`: the leader only.
    Leader,
    /// `acks=all` / `-1`: every in-sync replica (Kafka 3+'s default).
    #[default]
    All,
}

impl Acks {
    /// Kafka's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        }
    }
}

/// `compression.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CompressionType {
    /// No compression (Kafka's default).
    #[default]
    None,
    /// gzip.
    Gzip,
    /// snappy.
    Snappy,
    /// lz4.
    Lz4,
    /// zstd.
    Zstd,
}

impl CompressionType {
    /// The type Kafka calls `name` (`none`, `gzip`, `snappy`, `lz4`, `zstd`; any case).
    pub fn from_kafka_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "none" => Some(Self::None),
            "gzip" => Some(Self::Gzip),
            "snappy" => Some(Self::Snappy),
            "lz4" => Some(Self::Lz4),
            "zstd" => Some(Self::Zstd),
            _ => None,
        }
    }

    pub(crate) fn to_rskafka(self) -> Compression {
        match self {
            CompressionType::None => Compression::NoCompression,
            CompressionType::Gzip => Compression::Gzip,
            CompressionType::Snappy => Compression::Snappy,
            CompressionType::Lz4 => Compression::Lz4,
            CompressionType::Zstd => Compression::Zstd,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(yaml: &str) -> ProducerSettings {
        ProducerSettings::from_properties(&KafkaProperties::from_yaml_str(yaml).unwrap())
    }

    #[test]
    fn unset_keys_keep_kafkas_defaults() {
        assert_eq!(
            settings("spring.kafka.producer.client-id: x"),
            ProducerSettings::default()
        );
    }

    #[test]
    fn every_producer_key_reaches_the_settings() {
        let s = settings(
            r#"
spring.kafka.producer:
  acks: -1
  retries: 3
  batch-size: 1KB
  buffer-memory: 1MB
  compression-type: ZSTD
  key-serializer: org.apache.kafka.common.serialization.ByteArraySerializer
  value-serializer: org.springframework.kafka.support.serializer.JacksonJsonSerializer
  linger-ms: 9
  properties:
    delivery.timeout.ms: 15000
    retry.backoff.ms: 50
    retry.backoff.max.ms: 400
    max.block.ms: 2500
"#,
        );
        assert_eq!(s.acks, Acks::All);
        assert_eq!(s.retries, 3);
        assert_eq!(s.batch_size, 1024);
        assert_eq!(s.buffer_memory, 1024 * 1024);
        assert_eq!(s.compression, CompressionType::Zstd);
        assert_eq!(s.key_serializer, Serializer::ByteArray);
        assert_eq!(s.value_serializer, Serializer::Json);
        assert_eq!(s.linger, Duration::from_millis(9));
        assert_eq!(s.delivery_timeout, Duration::from_secs(15));
        assert_eq!(s.retry_backoff, Duration::from_millis(50));
        assert_eq!(s.retry_backoff_max, Duration::from_millis(400));
        assert_eq!(s.max_block, Duration::from_millis(2500));
    }

    #[test]
    fn producer_properties_win_over_typed_keys_which_win_over_global_properties() {
        let s = settings(
            r#"
spring.kafka:
  properties: {linger.ms: 1, batch.size: 100, retries: 1, compression.type: gzip}
  producer:
    linger-ms: 2
    batch-size: 200
    properties: {linger.ms: 3}
"#,
        );
        assert_eq!(
            s.linger,
            Duration::from_millis(3),
            "producer.properties wins"
        );
        assert_eq!(s.batch_size, 200, "the typed key beats the global map");
        assert_eq!(s.retries, 1, "the global map beats the default");
        assert_eq!(s.compression, CompressionType::Gzip);
    }

    #[test]
    fn weaker_acks_are_recorded_as_written() {
        assert_eq!(settings("spring.kafka.producer.acks: 1").acks, Acks::Leader);
        assert_eq!(
            settings("spring.kafka.producer.properties.acks: 0").acks,
            Acks::None
        );
    }

    #[test]
    fn bad_values_name_the_yaml_path_and_the_accepted_values() {
        let cases = [
            (
                "spring.kafka.producer.acks: some",
                "spring.kafka.producer.acks",
                "all, -1, 0, 1",
            ),
            (
                "spring.kafka.producer.properties.linger.ms: soon",
                "spring.kafka.producer.properties.linger.ms",
                "milliseconds",
            ),
            (
                "spring.kafka.properties.compression.type: brotli",
                "spring.kafka.properties.compression.type",
                "none, gzip, snappy, lz4, zstd",
            ),
            (
                "spring.kafka.producer.properties.batch.size: 16KB",
                "spring.kafka.producer.properties.batch.size",
                "bytes",
            ),
            (
                "spring.kafka.producer.retries: -1",
                "spring.kafka.producer.retries",
                "whole number",
            ),
            (
                "spring.kafka.producer.value-serializer: com.example.Avro",
                "spring.kafka.producer.value-serializer",
                "JsonSerializer",
            ),
            (
                "spring.kafka.producer.linger-ms: 5ms",
                "spring.kafka.producer.linger-ms",
                "milliseconds",
            ),
        ];
        for (yaml, path, expected) in cases {
            let message = KafkaProperties::from_yaml_str(yaml)
                .unwrap_err()
                .to_string();
            assert!(message.contains(path), "{yaml}: {message}");
            assert!(message.contains(expected), "{yaml}: {message}");
            assert!(message.contains("<string>:1:"), "{yaml}: {message}");
        }
    }

    #[test]
    fn a_bad_global_value_is_reported_even_when_the_producer_overrides_it() {
        let err = KafkaProperties::from_yaml_str(
            "spring.kafka:\n  properties.linger.ms: x\n  producer.properties.linger.ms: 5\n",
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("spring.kafka.properties.linger.ms"),
            "{err}"
        );
    }
}
