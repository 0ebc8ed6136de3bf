//! Helpers shared by the workspace's integration tests (`tests/*.rs`) and examples.
//!
//! Integration tests run against the embedded broker by default and against real Kafka when
//! `KAFKA_BOOTSTRAP_SERVERS` is set; the same test code covers both. A secured cluster's client
//! settings come from `SPRING_CONFIG_ADDITIONAL_LOCATION` (the file `deploy/local/kafka.sh start
//! --security …` prints), read by the project's config loader exactly as `App` reads it.

use std::future::Future;
use std::time::{Duration, Instant};

use rskafka::client::partition::{OffsetAt, UnknownTopicHandling};

pub mod raw_produce;

/// The environment variable that points tests at a real Kafka cluster.
pub const BOOTSTRAP_ENV: &str = "KAFKA_BOOTSTRAP_SERVERS";

/// The real cluster's bootstrap servers, when the tests should run against one.
pub fn real_kafka_bootstrap() -> Option<String> {
    std::env::var(BOOTSTRAP_ENV)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// A name no other test run has used: topics and groups on a shared real cluster must not collide
/// across tests or across runs.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{nanos:x}-{n}", std::process::id())
}

/// Polls `condition` until it returns `true`, panicking with `what` if `timeout` passes first.
/// Tests wait on conditions, never on bare sleeps.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if condition().await {
            return;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The broker one test talks to: the embedded broker by default, real Kafka when
/// [`BOOTSTRAP_ENV`] is set. Dropping it stops an embedded broker.
pub struct TestKafka {
    bootstrap: String,
    connection: kafka_listener::client::ConnectionConfig,
    /// The embedded broker, when not on real Kafka; dropping it stops the broker.
    embedded: Option<kafka_listener::embedded::EmbeddedKafka>,
}

impl TestKafka {
    /// The group's committed offset of one partition, read with OffsetFetch as an outside
    /// observer (no membership); `None` when nothing is committed.
    pub async fn committed_offset(&self, group: &str, topic: &str, partition: i32) -> Option<i64> {
        use kafka_listener::group::{GroupConfig, GroupMember, TopicPartition};
        let member = GroupMember::new(self.connection.clone(), GroupConfig::new(group));
        let tp = TopicPartition::new(topic, partition);
        member
            .committed(std::slice::from_ref(&tp))
            .await
            .unwrap_or_else(|e| panic!("OffsetFetch for {group}: {e}"))
            .remove(&tp)
            .flatten()
            .map(|o| o.offset)
    }

    /// A producer template with default settings, connected to this broker.
    pub async fn template(&self) -> kafka_listener::producer::KafkaTemplate {
        kafka_listener::producer::KafkaTemplate::connect(
            self.connection.clone(),
            kafka_listener::producer::ProducerSettings::default(),
        )
        .await
        .expect("connect the producer template")
    }

    /// Connects to real Kafka if [`BOOTSTRAP_ENV`] is set, else starts an embedded broker.
    pub async fn start() -> Self {
        let (bootstrap, embedded) = match real_kafka_bootstrap() {
            Some(bootstrap) => (bootstrap, None),
            None => {
                let kafka = start_embedded().await;
                (kafka.bootstrap(), Some(kafka))
            }
        };
        let connection = match &embedded {
            Some(_) => kafka_listener::client::ConnectionConfig::new([bootstrap.as_str()]),
            None => real_kafka_connection(&bootstrap),
        }
        .client_id("kafka-listener-tests")
        .request_timeout(Duration::from_secs(20));
        Self {
            bootstrap,
            connection,
            embedded,
        }
    }

    /// The embedded broker, when the tests run against it (for its test helpers).
    pub fn embedded(&self) -> Option<&kafka_listener::embedded::EmbeddedKafka> {
        self.embedded.as_ref()
    }

    /// `true` when this is a real cluster rather than the embedded broker.
    pub fn is_real_kafka(&self) -> bool {
        real_kafka_bootstrap().is_some()
    }

    /// The bootstrap servers, comma-separated.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// Connection settings for this broker.
    pub fn connection(&self) -> &kafka_listener::client::ConnectionConfig {
        &self.connection
    }

    /// Creates a topic with replication factor 1 through the admin API (CreateTopics), on either
    /// broker, and waits until its partitions have leaders.
    pub async fn create_topic(&self, name: &str, partitions: i32) {
        let client = self
            .connection
            .rskafka_client()
            .await
            .expect("connect for create_topic");
        client
            .controller_client()
            .expect("controller client")
            .create_topic(name, partitions, 1, 10_000)
            .await
            .unwrap_or_else(|e| panic!("create topic {name}: {e}"));
        eventually(
            &format!("topic {name} to have {partitions} partitions with leaders"),
            Duration::from_secs(20),
            || async {
                match client.list_topics().await {
                    Ok(topics) => topics
                        .iter()
                        .any(|t| t.name == name && t.partitions.len() == partitions as usize),
                    Err(_) => false,
                }
            },
        )
        .await;
        // Metadata can list the topic before its leaders have loaded the partitions (KRaft
        // propagates to each broker on its own); a successful ListOffsets from every leader
        // means the topic is ready for produce and fetch.
        for partition in 0..partitions {
            let leader = client
                .partition_client(name, partition, UnknownTopicHandling::Retry)
                .await
                .unwrap_or_else(|e| panic!("topic {name} partition {partition}: {e}"));
            leader
                .get_offset(OffsetAt::Latest)
                .await
                .unwrap_or_else(|e| panic!("topic {name} partition {partition} not ready: {e}"));
        }
    }
}

/// Connection settings for the real cluster at `bootstrap`: whatever security the process's
/// configuration sources give (`SPRING_CONFIG_ADDITIONAL_LOCATION`, `SPRING_KAFKA_…`), loaded by
/// the same loader `App::from_yaml_str` uses, so helpers and apps reach the cluster alike.
fn real_kafka_connection(bootstrap: &str) -> kafka_listener::client::ConnectionConfig {
    kafka_listener::config::ConfigLoader::new()
        .load_yaml_str("{}")
        .unwrap_or_else(|e| panic!("the real cluster's client configuration: {e}"))
        .consumer_connection()
        .with_bootstrap_servers([bootstrap])
}

async fn start_embedded() -> kafka_listener::embedded::EmbeddedKafka {
    kafka_listener::embedded::EmbeddedKafka::start().await
}
