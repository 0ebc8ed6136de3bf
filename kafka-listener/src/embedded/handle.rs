//! [`EmbeddedKafka`]: starting, configuring and stopping the broker, and test helpers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::cluster::{BrokerContext, Cluster, ClusterSettings};
use super::coordinator::{Coordinator, CoordinatorConfig};
use super::faults::{FaultInjector, Faults};
use super::group::GroupState;
use super::sasl::SaslServerConfig;
use super::security::{self, TestCertificates};
use super::server::{self, ListenerSecurity};
use super::topics::{new_uuid, BrokerInfo, TopicRegistry};
use super::transactions::Transactions;
use crate::client::{SaslMechanism, SaslSettings, SecurityConfig, SecurityProtocol};

/// Errors of the embedded broker's handle.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedKafkaError {
    /// A listening socket could not be bound.
    #[error(
        "cannot bind the embedded Kafka broker to 127.0.0.1: {0} (is the loopback interface up?)"
    )]
    Bind(#[source] std::io::Error),
    /// The test certificates could not be generated.
    #[error("cannot generate the embedded broker's TLS certificates: {0}")]
    Tls(String),
    /// A test helper waited too long.
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        after: Duration,
    },
    /// Stored records could not be decoded by the helper (compressed with a codec this build
    /// cannot decompress).
    #[error("cannot decode records of {topic}-{partition}: {reason}")]
    Decode {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// Why.
        reason: String,
    },
}

/// A record read back by [`EmbeddedKafka::consume_all`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedRecord {
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// The record timestamp (ms since the epoch).
    pub timestamp: i64,
    /// The key.
    pub key: Option<Bytes>,
    /// The value.
    pub value: Option<Bytes>,
    /// Headers in order, values may be null.
    pub headers: Vec<(String, Option<Bytes>)>,
}

/// Configures an [`EmbeddedKafka`]. Defaults match Apache Kafka's broker defaults except
/// `group.initial.rebalance.delay.ms`, which is 0 as in Kafka's development `server.properties`.
///
/// ```
/// use kafka_listener::embedded::EmbeddedKafka;
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let kafka = EmbeddedKafka::builder()
///     .brokers(3)
///     .default_partitions(6)
///     .auto_create_topics(false)
///     .session_timeout_bounds(Duration::from_millis(100), Duration::from_secs(60))
///     .start()
///     .await;
/// assert_eq!(kafka.bootstrap().split(',').count(), 3);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct EmbeddedKafkaBuilder {
    brokers: usize,
    default_partitions: i32,
    auto_create_topics: bool,
    min_session_timeout: Duration,
    max_session_timeout: Duration,
    initial_rebalance_delay: Duration,
    tls: Option<TlsMode>,
    sasl_mechanisms: Vec<SaslMechanism>,
    sasl_users: BTreeMap<String, String>,
    session_lifetime: Option<Duration>,
}

/// TLS with a server certificate only, or also requiring a client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsMode {
    ServerOnly,
    Mutual,
}

/// The users a SASL-secured embedded broker knows unless the test names its own — the same as
/// `deploy/local/kafka.sh start --security …`, so one test runs against either.
pub const DEFAULT_SASL_USERS: [(&str, &str); 2] =
    [("alice", "alice-secret"), ("bob", "bob-secret")];

impl Default for EmbeddedKafkaBuilder {
    fn default() -> Self {
        Self {
            brokers: 1,
            default_partitions: 1,
            auto_create_topics: true,
            min_session_timeout: Duration::from_secs(6),
            max_session_timeout: Duration::from_secs(1800),
            initial_rebalance_delay: Duration::ZERO,
            tls: None,
            sasl_mechanisms: Vec::new(),
            sasl_users: BTreeMap::new(),
            session_lifetime: None,
        }
    }
}

fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}

impl EmbeddedKafkaBuilder {
    /// Number of brokers (node ids 0..n, one port each); at least 1.
    pub fn brokers(mut self, brokers: usize) -> Self {
        self.brokers = brokers.max(1);
        self
    }

    /// `num.partitions`: partitions of auto-created topics and of CreateTopics with -1.
    pub fn default_partitions(mut self, partitions: i32) -> Self {
        self.default_partitions = partitions.max(1);
        self
    }

    /// `auto.create.topics.enable`.
    pub fn auto_create_topics(mut self, enabled: bool) -> Self {
        self.auto_create_topics = enabled;
        self
    }

    /// `group.min.session.timeout.ms` / `group.max.session.timeout.ms`: JoinGroup with a session
    /// timeout outside answers INVALID_SESSION_TIMEOUT.
    pub fn session_timeout_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.min_session_timeout = min;
        self.max_session_timeout = max;
        self
    }

    /// `group.initial.rebalance.delay.ms`: how long the first rebalance of an empty group waits
    /// for more members.
    pub fn initial_rebalance_delay(mut self, delay: Duration) -> Self {
        self.initial_rebalance_delay = delay;
        self
    }

    /// Requires TLS on every connection, with a CA and server certificate (for `localhost` and
    /// `127.0.0.1`) generated at start; [`EmbeddedKafka::certificates`] has the CA to trust.
    pub fn tls(mut self) -> Self {
        self.tls = Some(TlsMode::ServerOnly);
        self
    }

    /// Like [`tls`](Self::tls), and requires a client certificate signed by the same CA
    /// ([`TestCertificates::client_tls`](crate::embedded::TestCertificates::client_tls)).
    pub fn mutual_tls(mut self) -> Self {
        self.tls = Some(TlsMode::Mutual);
        self
    }

    /// Requires SASL authentication with one of `mechanisms` (PLAIN, SCRAM-SHA-256,
    /// SCRAM-SHA-512, OAUTHBEARER) before any request but ApiVersions; users are
    /// [`DEFAULT_SASL_USERS`] unless [`sasl_user`](Self::sasl_user) names others. OAUTHBEARER
    /// accepts what Kafka's unsecured validator accepts: an unsigned JWT (`alg: none`) with a
    /// `sub` claim and an `exp` in the future (see [`unsecured_token`](super::unsecured_token)).
    ///
    /// ```
    /// use kafka_listener::client::{BrokerConnection, ConnectionConfig, SaslMechanism, SaslSettings};
    /// use kafka_listener::embedded::EmbeddedKafka;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let kafka = EmbeddedKafka::builder().sasl([SaslMechanism::ScramSha256]).start().await;
    /// let security = kafka.client_security(Some(SaslSettings::scram_sha256("alice", "alice-secret")));
    /// let config = ConnectionConfig::new([kafka.bootstrap()]).security(security);
    /// BrokerConnection::connect(&kafka.bootstrap(), &config).await.unwrap();
    /// # }
    /// ```
    pub fn sasl(mut self, mechanisms: impl IntoIterator<Item = SaslMechanism>) -> Self {
        self.sasl_mechanisms = mechanisms.into_iter().collect();
        self
    }

    /// Limits each SASL session to `lifetime`, like Kafka's `connections.max.reauth.ms`
    /// (KIP-368): SaslAuthenticate tells the client, and the first request after the session
    /// expired closes the connection unless the client re-authenticated (or reconnected) in
    /// time. An OAUTHBEARER session also ends when its token expires, if that is sooner.
    ///
    /// ```
    /// use kafka_listener::client::{BrokerConnection, ConnectionConfig, SaslMechanism, SaslSettings};
    /// use kafka_listener::embedded::EmbeddedKafka;
    /// use std::time::Duration;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let kafka = EmbeddedKafka::builder()
    ///     .sasl([SaslMechanism::Plain])
    ///     .session_lifetime(Duration::from_secs(5))
    ///     .start()
    ///     .await;
    /// let security = kafka.client_security(Some(SaslSettings::plain("alice", "alice-secret")));
    /// let config = ConnectionConfig::new([kafka.bootstrap()]).security(security);
    /// let connection = BrokerConnection::connect(&kafka.bootstrap(), &config).await.unwrap();
    /// assert_eq!(connection.session_lifetime(), Some(Duration::from_secs(5)));
    /// # }
    /// ```
    pub fn session_lifetime(mut self, lifetime: Duration) -> Self {
        self.session_lifetime = Some(lifetime);
        self
    }

    /// Adds a SASL user (replacing the default users once any is added).
    pub fn sasl_user(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.sasl_users.insert(user.into(), password.into());
        self
    }

    /// Binds every broker and starts serving. Panics with a clear message if it cannot bind
    /// (this is test infrastructure); see [`try_start`](Self::try_start).
    pub async fn start(self) -> EmbeddedKafka {
        match self.try_start().await {
            Ok(kafka) => kafka,
            Err(e) => panic!("{e}"),
        }
    }

    /// Binds every broker and starts serving.
    pub async fn try_start(self) -> Result<EmbeddedKafka, EmbeddedKafkaError> {
        let mut listeners = Vec::with_capacity(self.brokers);
        let mut infos = Vec::with_capacity(self.brokers);
        for node_id in 0..self.brokers {
            let listener = TcpListener::bind("127.0.0.1:0")
                .await
                .map_err(EmbeddedKafkaError::Bind)?;
            let port = listener
                .local_addr()
                .map_err(EmbeddedKafkaError::Bind)?
                .port();
            infos.push(BrokerInfo {
                node_id: node_id as i32,
                host: "127.0.0.1".to_owned(),
                port: i32::from(port),
            });
            listeners.push(listener);
        }
        let certificates = match self.tls {
            None => None,
            Some(mode) => Some(
                TestCertificates::generate(mode == TlsMode::Mutual)
                    .map_err(EmbeddedKafkaError::Tls)?,
            ),
        };
        let sasl = (!self.sasl_mechanisms.is_empty()).then(|| {
            let users = if self.sasl_users.is_empty() {
                DEFAULT_SASL_USERS
                    .iter()
                    .map(|(u, p)| ((*u).to_owned(), (*p).to_owned()))
                    .collect()
            } else {
                self.sasl_users.clone()
            };
            SaslServerConfig::new(self.sasl_mechanisms.clone(), users, self.session_lifetime)
        });
        let listener_security = ListenerSecurity {
            tls: certificates.as_ref().map(|c| Arc::clone(&c.server)),
            sasl,
        };
        let tasks = TaskTracker::new();
        let cancel = CancellationToken::new();
        let coordinator = Coordinator::new(
            CoordinatorConfig {
                min_session_timeout_ms: millis(self.min_session_timeout),
                max_session_timeout_ms: millis(self.max_session_timeout),
                initial_rebalance_delay_ms: millis(self.initial_rebalance_delay),
            },
            tasks.clone(),
            cancel.clone(),
        );
        let cluster = Arc::new(Cluster {
            cluster_id: format!("embedded-{}", new_uuid().simple()),
            settings: ClusterSettings {
                auto_create_topics: self.auto_create_topics,
                default_partitions: self.default_partitions,
            },
            topics: TopicRegistry::new(infos.clone()),
            coordinator,
            transactions: Transactions::new(),
            faults: FaultInjector::default(),
        });
        for (listener, info) in listeners.into_iter().zip(&infos) {
            let ctx = BrokerContext {
                node_id: info.node_id,
                cluster: Arc::clone(&cluster),
            };
            tasks.spawn(server::accept_loop(
                listener,
                ctx,
                tasks.clone(),
                cancel.clone(),
                listener_security.clone(),
            ));
        }
        let bootstrap = infos
            .iter()
            .map(|b| format!("{}:{}", b.host, b.port))
            .collect::<Vec<_>>()
            .join(",");
        tracing::info!(%bootstrap, brokers = infos.len(), "embedded Kafka started");
        Ok(EmbeddedKafka {
            bootstrap,
            cluster,
            tasks,
            cancel,
            certificates,
            mutual_tls: self.tls == Some(TlsMode::Mutual),
            sasl_enabled: !self.sasl_mechanisms.is_empty(),
        })
    }
}

/// A running in-process Kafka cluster. Dropping it (or [`shutdown`](Self::shutdown)) closes
/// every socket and stops every task.
#[derive(Debug)]
pub struct EmbeddedKafka {
    bootstrap: String,
    pub(crate) cluster: Arc<Cluster>,
    tasks: TaskTracker,
    cancel: CancellationToken,
    certificates: Option<TestCertificates>,
    mutual_tls: bool,
    sasl_enabled: bool,
}

impl Drop for EmbeddedKafka {
    fn drop(&mut self) {
        self.cancel.cancel();
        self.tasks.close();
    }
}

impl EmbeddedKafka {
    /// Starts a one-broker cluster on a free `127.0.0.1` port with Kafka's defaults.
    pub async fn start() -> EmbeddedKafka {
        Self::builder().start().await
    }

    /// A builder for other settings.
    pub fn builder() -> EmbeddedKafkaBuilder {
        EmbeddedKafkaBuilder::default()
    }

    /// The generated certificates of a broker started with [`EmbeddedKafkaBuilder::tls`] or
    /// [`mutual_tls`](EmbeddedKafkaBuilder::mutual_tls).
    pub fn certificates(&self) -> Option<&TestCertificates> {
        self.certificates.as_ref()
    }

    /// The security protocol clients must use.
    pub fn security_protocol(&self) -> SecurityProtocol {
        match (self.certificates.is_some(), self.sasl_enabled) {
            (false, false) => SecurityProtocol::Plaintext,
            (true, false) => SecurityProtocol::Ssl,
            (false, true) => SecurityProtocol::SaslPlaintext,
            (true, true) => SecurityProtocol::SaslSsl,
        }
    }

    /// Client security for this broker: TLS trusting its CA (with the client certificate
    /// under mutual TLS) when it requires TLS, and `sasl` when it requires SASL.
    pub fn client_security(&self, sasl: Option<SaslSettings>) -> SecurityConfig {
        security::client_security(
            self.certificates.as_ref(),
            self.mutual_tls,
            sasl.filter(|_| self.sasl_enabled),
        )
    }

    /// The bootstrap servers, `host:port` of every broker, comma-separated.
    pub fn bootstrap(&self) -> String {
        self.bootstrap.clone()
    }

    /// Creates a topic (no-op if it exists with any partition count). Panics on an invalid
    /// name or count, which is a bug in the calling test.
    pub async fn create_topic(&self, name: &str, partitions: i32) {
        match self.cluster.topics.create(name, partitions, false) {
            Ok(_) => {}
            Err((super::codes::TOPIC_ALREADY_EXISTS, _)) => {}
            Err((_, message)) => panic!("cannot create topic {name:?}: {message}"),
        }
    }

    /// Appends records (key, value) to one partition as one uncompressed batch, creating the
    /// topic with the default partition count if needed; returns the first record's offset.
    /// When it returns the records are visible to every fetch.
    pub async fn produce<K, V, I>(&self, topic: &str, partition: i32, records: I) -> i64
    where
        I: IntoIterator<Item = (Option<K>, Option<V>)>,
        K: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        if self.cluster.topics.get(topic).is_none() {
            self.create_topic(topic, self.cluster.settings.default_partitions)
                .await;
        }
        let log = self
            .cluster
            .topics
            .get(topic)
            .and_then(|t| t.partition(partition))
            .unwrap_or_else(|| panic!("topic {topic:?} has no partition {partition}"));
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        let records: Vec<Record> = records
            .into_iter()
            .enumerate()
            .map(|(i, (key, value))| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                sequence: -1,
                timestamp: now,
                key: key.map(|k| Bytes::copy_from_slice(k.as_ref())),
                value: value.map(|v| Bytes::copy_from_slice(v.as_ref())),
                headers: IndexMap::new(),
            })
            .collect();
        let mut buf = BytesMut::new();
        RecordBatchEncoder::encode(
            &mut buf,
            &records,
            &RecordEncodeOptions {
                version: 2,
                compression: Compression::None,
            },
        )
        .expect("encoding an uncompressed batch cannot fail");
        log.append(&buf)
            .expect("a freshly encoded batch is well-formed")
            .base_offset
    }

    /// Every record of every partition of `topic`, in partition then offset order. Panics if
    /// the records cannot be decoded; see [`try_consume_all`](Self::try_consume_all).
    pub async fn consume_all(&self, topic: &str) -> Vec<ConsumedRecord> {
        self.try_consume_all(topic)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every record of every partition of `topic` (empty if it does not exist).
    pub async fn try_consume_all(
        &self,
        topic: &str,
    ) -> Result<Vec<ConsumedRecord>, EmbeddedKafkaError> {
        let Some(topic_ref) = self.cluster.topics.get(topic) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for partition in 0..topic_ref.partition_count() {
            let Some(log) = topic_ref.partition(partition) else {
                continue;
            };
            let start = log.log_start_offset();
            let Some(read) = log.read(start, usize::MAX, true, false) else {
                continue;
            };
            let mut bytes = read.records;
            while !bytes.is_empty() {
                let set = RecordBatchDecoder::decode(&mut bytes).map_err(|e| {
                    EmbeddedKafkaError::Decode {
                        topic: topic.to_owned(),
                        partition,
                        reason: e.to_string(),
                    }
                })?;
                for r in set.records.into_iter().filter(|r| !r.control) {
                    out.push(ConsumedRecord {
                        partition,
                        offset: r.offset,
                        timestamp: r.timestamp,
                        key: r.key,
                        value: r.value,
                        headers: r
                            .headers
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), v))
                            .collect(),
                    });
                }
            }
        }
        Ok(out)
    }

    /// The high watermark (next offset) of a partition, if it exists.
    pub fn high_watermark(&self, topic: &str, partition: i32) -> Option<i64> {
        Some(
            self.cluster
                .topics
                .get(topic)?
                .partition(partition)?
                .high_watermark(),
        )
    }

    /// Fault injection: make this cluster fail, delay, stall or drop requests, move a group's
    /// coordinator or fence a group member (see [`Faults`]).
    pub fn faults(&self) -> Faults {
        Faults::new(Arc::clone(&self.cluster))
    }

    /// The node id of the broker coordinating `group` (a group or transactional id), as
    /// FindCoordinator answers.
    pub fn coordinator_of(&self, group: &str) -> i32 {
        self.cluster.coordinator_for(group)
    }

    /// The committed offsets of a group: (topic, partition) → offset.
    pub fn committed_offsets(&self, group: &str) -> BTreeMap<(String, i32), i64> {
        self.cluster.coordinator.read_groups(|groups| {
            groups
                .get(group)
                .map(|g| {
                    g.offsets
                        .iter()
                        .map(|(k, v)| (k.clone(), v.offset))
                        .collect()
                })
                .unwrap_or_default()
        })
    }

    /// The state of a group (`"Stable"`, `"Empty"`, …; `"Dead"` if unknown) and its member ids.
    pub fn group_state(&self, group: &str) -> (String, Vec<String>) {
        self.cluster
            .coordinator
            .read_groups(|groups| match groups.get(group) {
                Some(g) => (
                    g.state.name().to_owned(),
                    g.members.keys().cloned().collect(),
                ),
                None => ("Dead".to_owned(), Vec::new()),
            })
    }

    /// Waits until `group` is Stable with exactly `members` members.
    pub async fn wait_for_stable_group(
        &self,
        group: &str,
        members: usize,
        timeout: Duration,
    ) -> Result<(), EmbeddedKafkaError> {
        let mut changes = self.cluster.coordinator.subscribe();
        let check = || {
            self.cluster.coordinator.read_groups(|groups| {
                groups
                    .get(group)
                    .is_some_and(|g| g.state == GroupState::Stable && g.members.len() == members)
            })
        };
        let wait = async {
            loop {
                if check() {
                    return;
                }
                if changes.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| EmbeddedKafkaError::Timeout {
                what: format!(
                    "group {group} to be Stable with {members} member(s), now {:?}",
                    self.group_state(group)
                ),
                after: timeout,
            })
    }

    /// Stops accepting, closes every connection and waits for every task to end.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }
}
