//! The typed form of `spring.kafka.*`, with Spring Boot 4's keys and defaults.

use std::time::Duration;

use super::codec::{Deserializer, Serializer};
use super::properties_map::Properties;

/// `spring.kafka.listener.ack-mode` and `spring.kafka.consumer.auto-offset-reset`: the shared
/// vocabulary.
pub use crate::vocabulary::{AckMode, AutoOffsetReset};

/// `spring.kafka.listener.type`: one record or one poll's records per handler call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListenerType {
    /// One record per call (default).
    #[default]
    Single,
    /// All records of a poll per call.
    Batch,
}

/// `spring.kafka.consumer.isolation-level`: the fetcher's own type, so the vocabulary is defined
/// once.
pub use crate::client::fetch::IsolationLevel;

/// `security.protocol`: the connection layer's type, so configuration and connections share one
/// vocabulary.
pub use crate::client::SecurityProtocol;

/// A partition assignor named in `partition.assignment.strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assignor {
    /// `org.apache.kafka.clients.consumer.RangeAssignor` (protocol name `range`).
    Range,
    /// `org.apache.kafka.clients.consumer.RoundRobinAssignor` (`roundrobin`).
    RoundRobin,
    /// `org.apache.kafka.clients.consumer.StickyAssignor` (`sticky`).
    Sticky,
    /// `org.apache.kafka.clients.consumer.CooperativeStickyAssignor` (`cooperative-sticky`).
    CooperativeSticky,
}

impl Assignor {
    /// The protocol name members advertise in JoinGroup.
    pub fn protocol_name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
            Assignor::Sticky => "sticky",
            Assignor::CooperativeSticky => "cooperative-sticky",
        }
    }

    /// Kafka's default list: range, then cooperative-sticky.
    pub const KAFKA_DEFAULT: [Assignor; 2] = [Assignor::Range, Assignor::CooperativeSticky];

    pub(crate) fn from_class_name(name: &str) -> Option<Self> {
        let simple = name.trim().rsplit('.').next().unwrap_or_default();
        match simple {
            "RangeAssignor" | "range" => Some(Assignor::Range),
            "RoundRobinAssignor" | "roundrobin" => Some(Assignor::RoundRobin),
            "StickyAssignor" | "sticky" => Some(Assignor::Sticky),
            "CooperativeStickyAssignor" | "cooperative-sticky" => Some(Assignor::CooperativeSticky),
            _ => None,
        }
    }
}

/// Group-membership settings the group client reads, with Kafka's precedence applied:
/// `consumer.properties.*` over the typed `consumer.*` key over `spring.kafka.properties.*` over
/// Kafka's default.
///
/// ```
/// use kafka_listener::config::{Assignor, KafkaProperties};
/// use std::time::Duration;
///
/// let props = KafkaProperties::from_yaml_str(r#"
/// spring.kafka.consumer.properties:
///   session.timeout.ms: 15000
///   partition.assignment.strategy: org.apache.kafka.clients.consumer.CooperativeStickyAssignor
///   group.instance.id: worker-1
/// "#).unwrap();
/// let group = &props.consumer.group;
/// assert_eq!(group.session_timeout, Duration::from_secs(15));
/// assert_eq!(group.heartbeat_interval, Duration::from_secs(3)); // Kafka's default
/// assert_eq!(group.partition_assignment_strategy, [Assignor::CooperativeSticky]);
/// assert_eq!(group.group_instance_id.as_deref(), Some("worker-1"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupSettings {
    /// `session.timeout.ms` (Kafka default 45 s).
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms` (default 3 s).
    pub heartbeat_interval: Duration,
    /// `max.poll.interval.ms` (default 5 min).
    pub max_poll_interval: Duration,
    /// `partition.assignment.strategy` (default range, cooperative-sticky).
    pub partition_assignment_strategy: Vec<Assignor>,
    /// `group.instance.id`: static membership when set.
    pub group_instance_id: Option<String>,
}

/// `spring.kafka.consumer.*`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ConsumerProperties {
    /// Overrides the global bootstrap servers for consumers.
    pub bootstrap_servers: Option<Vec<String>>,
    /// Overrides the global client id for consumers.
    pub client_id: Option<String>,
    /// `group-id`.
    pub group_id: Option<String>,
    /// `auto-offset-reset` (unset: Kafka's `latest`).
    pub auto_offset_reset: Option<AutoOffsetReset>,
    /// `enable-auto-commit` (unset: Spring turns it off).
    pub enable_auto_commit: Option<bool>,
    /// `auto-commit-interval`.
    pub auto_commit_interval: Option<Duration>,
    /// `key-deserializer` (default `StringDeserializer`).
    pub key_deserializer: Deserializer,
    /// `value-deserializer` (default `StringDeserializer`).
    pub value_deserializer: Deserializer,
    /// `max-poll-records`.
    pub max_poll_records: Option<u32>,
    /// `max-poll-interval`.
    pub max_poll_interval: Option<Duration>,
    /// `fetch-min-size` in bytes.
    pub fetch_min_size: Option<u64>,
    /// `fetch-max-wait`.
    pub fetch_max_wait: Option<Duration>,
    /// `heartbeat-interval`.
    pub heartbeat_interval: Option<Duration>,
    /// `isolation-level` (unset: read_uncommitted).
    pub isolation_level: Option<IsolationLevel>,
    /// `security.protocol` for consumers.
    pub security_protocol: Option<SecurityProtocol>,
    /// `properties.*`: raw Kafka consumer properties.
    pub properties: Properties,
    /// `request.timeout.ms` from the properties maps, if set.
    pub request_timeout: Option<Duration>,
    /// The group-membership settings with precedence applied.
    pub group: GroupSettings,
}

impl ConsumerProperties {
    /// Whether the consumer commits on its own: only when the user set `enable-auto-commit:
    /// true`, since Spring turns it off otherwise.
    pub fn auto_commit(&self) -> bool {
        self.enable_auto_commit.unwrap_or(false)
    }
}

/// `spring.kafka.producer.*`.
///
/// The Kafka settings among these can also be written as raw Kafka properties; as in Spring
/// Boot, `producer.properties.<name>` wins over the typed key, which wins over
/// `spring.kafka.properties.<name>`. The fields hold the value that won.
///
/// ```
/// use kafka_listener::config::KafkaProperties;
/// use std::time::Duration;
///
/// let props = KafkaProperties::from_yaml_str(r#"
/// spring.kafka:
///   properties: {linger.ms: 20, batch.size: 1024}
///   producer:
///     batch-size: 64KB
///     properties: {linger.ms: 7, delivery.timeout.ms: 30000}
/// "#).unwrap();
/// assert_eq!(props.producer.linger, Some(Duration::from_millis(7)));
/// assert_eq!(props.producer.batch_size, Some(64 * 1024));
/// assert_eq!(props.producer.delivery_timeout, Some(Duration::from_secs(30)));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProducerProperties {
    /// Overrides the global bootstrap servers for producers.
    pub bootstrap_servers: Option<Vec<String>>,
    /// Overrides the global client id for producers.
    pub client_id: Option<String>,
    /// `acks` / `acks`: `all`, `-1`, `0` or `1` as written.
    pub acks: Option<String>,
    /// `batch-size` / `batch.size` in bytes.
    pub batch_size: Option<u64>,
    /// `buffer-memory` / `buffer.memory` in bytes.
    pub buffer_memory: Option<u64>,
    /// `compression-type` / `compression.type`: none, gzip, snappy, lz4, zstd (lower case).
    pub compression_type: Option<String>,
    /// `key-serializer` (default `StringSerializer`).
    pub key_serializer: Serializer,
    /// `value-serializer` (default `StringSerializer`).
    pub value_serializer: Serializer,
    /// `retries` / `retries`.
    pub retries: Option<u32>,
    /// `linger.ms` from the properties maps, or `linger-ms` (not a Spring Boot key, but widely
    /// written, so it is accepted rather than ignored).
    pub linger: Option<Duration>,
    /// `delivery.timeout.ms` from the properties maps.
    pub delivery_timeout: Option<Duration>,
    /// `retry.backoff.ms` from the properties maps.
    pub retry_backoff: Option<Duration>,
    /// `retry.backoff.max.ms` from the properties maps.
    pub retry_backoff_max: Option<Duration>,
    /// `max.block.ms` from the properties maps: how long a send may wait for buffer memory.
    pub max_block: Option<Duration>,
    /// `transaction-id-prefix`.
    pub transaction_id_prefix: Option<String>,
    /// `security.protocol` for producers.
    pub security_protocol: Option<SecurityProtocol>,
    /// `properties.*`: raw Kafka producer properties.
    pub properties: Properties,
    /// `request.timeout.ms` from the properties maps, if set.
    pub request_timeout: Option<Duration>,
}

/// `spring.kafka.admin.*`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AdminProperties {
    /// Overrides the global bootstrap servers for the admin client.
    pub bootstrap_servers: Option<Vec<String>>,
    /// Overrides the global client id for the admin client.
    pub client_id: Option<String>,
    /// `close-timeout`.
    pub close_timeout: Option<Duration>,
    /// `operation-timeout`.
    pub operation_timeout: Option<Duration>,
    /// `fail-fast` (default false): fail start-up if the broker is unreachable.
    pub fail_fast: bool,
    /// `auto-create` (default true): create declared topics.
    pub auto_create: bool,
    /// `modify-topic-configs` (default false).
    pub modify_topic_configs: bool,
    /// `security.protocol` for the admin client.
    pub security_protocol: Option<SecurityProtocol>,
    /// `properties.*`: raw Kafka admin properties.
    pub properties: Properties,
    /// `request.timeout.ms` from the properties maps, if set.
    pub request_timeout: Option<Duration>,
}

/// `spring.kafka.listener.*`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ListenerProperties {
    /// `type` (default single).
    pub listener_type: ListenerType,
    /// `ack-mode` (default BATCH).
    pub ack_mode: AckMode,
    /// `ack-count` (default 1).
    pub ack_count: u32,
    /// `ack-time` (default 5 s).
    pub ack_time: Duration,
    /// `poll-timeout` (default 5 s).
    pub poll_timeout: Duration,
    /// `concurrency` (unset: 1).
    pub concurrency: Option<u32>,
    /// `client-id` prefix for listener consumers.
    pub client_id: Option<String>,
    /// `missing-topics-fatal` (default false).
    pub missing_topics_fatal: bool,
    /// `idle-between-polls` (default 0).
    pub idle_between_polls: Duration,
    /// `idle-event-interval`.
    pub idle_event_interval: Option<Duration>,
    /// `idle-partition-event-interval`.
    pub idle_partition_event_interval: Option<Duration>,
    /// `monitor-interval` (a bare number is seconds, as in Spring Boot).
    pub monitor_interval: Option<Duration>,
    /// `no-poll-threshold`.
    pub no_poll_threshold: Option<f64>,
    /// `async-acks`: acknowledgments may arrive out of order.
    pub async_acks: Option<bool>,
    /// `log-container-config`.
    pub log_container_config: Option<bool>,
    /// `immediate-stop` (default false): stop after the current record, not the current poll.
    pub immediate_stop: bool,
    /// `auto-startup` (default true).
    pub auto_startup: bool,
}

/// `spring.kafka.retry.topic.*` (non-blocking retries through retry topics).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryTopicProperties {
    /// `enabled` (default false).
    pub enabled: bool,
    /// `attempts` (default 3), the first delivery included.
    pub attempts: u32,
    /// `backoff.delay` (default 1 s).
    pub delay: Duration,
    /// `backoff.multiplier` (default 1.0: fixed delay).
    pub multiplier: f64,
    /// `backoff.max-delay` (default 30 s).
    pub max_delay: Duration,
    /// `backoff.jitter` (default 0).
    pub jitter: Duration,
}

/// `spring.kafka.template.*`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TemplateProperties {
    /// `default-topic` for sends without a topic.
    pub default_topic: Option<String>,
    /// `transaction-id-prefix`.
    pub transaction_id_prefix: Option<String>,
}

/// `kafka-listener.parallelism.*`: this crate's own keys (Spring has no counterpart) for
/// key-ordered parallel processing inside a partition, app-wide; a listener's `parallelism` /
/// `ordering` attributes override them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ParallelismProperties {
    /// `max-in-flight`: records of one partition handled at once (default 1: sequential).
    pub max_in_flight: Option<u32>,
    /// `ordering`: `key` (default), `partition` or `unordered`.
    pub ordering: Option<crate::vocabulary::DispatchOrdering>,
}
