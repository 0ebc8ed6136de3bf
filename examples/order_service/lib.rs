//! The order service: an HTTP API hands orders to Kafka, one listener splits each order into a
//! work unit per item, another processes the units in parallel and records them done.
//!
//! ```text
//! POST /orders ──► orders ──► split_order ──► order-items ──► process_unit ×N ──► OrderStore
//!                 (key: id)                  (key: order id)   (MANUAL ack)        ▲
//! GET /orders/{id} ────────────────────────────────────────────────────────────────┘
//! ```
//!
//! `main.rs` runs it; `tests/order_service.rs` includes this file too and drives the same
//! service over HTTP. Settings come from `application.yml` beside this file:
//!
//! | key | default | what |
//! |---|---|---|
//! | `server.address`, `server.port` | `127.0.0.1`, `${PORT:8080}` | where the API listens |
//! | `order-service.topics.orders` | `orders` | the orders topic |
//! | `order-service.topics.order-items` | `order-items` | the work-unit topic |
//! | `order-service.topics.partitions`, `.replicas` | `6`, `1` | for topics created at start-up |
//! | `order-service.groups.split`, `.items` | `order-service-split`, `order-service-items` | consumer groups |
//! | `order-service.items.concurrency` | `3` | consumers of `order-items` |
//! | `order-service.items.work-time-ms` | `50` | simulated I/O per unit |

mod http;
mod model;
mod pipeline;
mod store;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use kafka_listener::config::{ConfigError, KafkaProperties};
use kafka_listener::embedded::EmbeddedKafka;
use kafka_listener::producer::{KafkaTemplate, ProducerSettings, SendError};
use kafka_listener::{App, NewTopic, RunningApp};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use model::{InvalidOrder, NewOrder, OrderLine, OrderPlaced, WorkUnit};
pub use pipeline::{Pipeline, SplitError, WorkGauge, SPLIT_LISTENER, WORK_LISTENER};
pub use store::{Completion, OrderStatus, OrderStore, Progress};

/// How long start-up waits for both listeners to be assigned partitions.
const ASSIGNMENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// `application.yml` could not be read or bound.
    #[error(transparent)]
    Config(Box<ConfigError>),
    /// One of the service's own settings is not valid.
    #[error("{key} = {value:?} is not valid: {reason}")]
    Setting {
        /// The key, e.g. `server.port`.
        key: &'static str,
        /// What was given.
        value: String,
        /// What is accepted.
        reason: &'static str,
    },
    /// The listeners could not start (or stopped with an error).
    #[error("listeners: {0}")]
    Listeners(Box<kafka_listener::Error>),
    /// The producer could not connect.
    #[error("producer: {0}")]
    Producer(Box<SendError>),
    /// A listener got no partitions in time.
    #[error("listener {listener} got no partitions within {timeout:?}; check that the cluster at {bootstrap} is reachable")]
    NotAssigned {
        /// The listener's id.
        listener: &'static str,
        /// How long start-up waited.
        timeout: Duration,
        /// Where the service looked for Kafka.
        bootstrap: String,
    },
    /// The HTTP port could not be bound.
    #[error("cannot listen on {address}: {source}; set PORT (or server.port) to a free port")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP server failed.
    #[error("HTTP server: {0}")]
    Http(#[source] std::io::Error),
}

// Boxed: the runtime's errors are large, and these travel up every `?`.
impl From<ConfigError> for ServiceError {
    fn from(error: ConfigError) -> Self {
        Self::Config(Box::new(error))
    }
}

impl From<kafka_listener::Error> for ServiceError {
    fn from(error: kafka_listener::Error) -> Self {
        Self::Listeners(Box::new(error))
    }
}

impl From<SendError> for ServiceError {
    fn from(error: SendError) -> Self {
        Self::Producer(Box::new(error))
    }
}

/// Everything the service needs to start. Build it from `application.yml`'s properties, then
/// override what a caller decides (the tests: the broker, a free port, a shared store).
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    properties: KafkaProperties,
    bootstrap: Option<String>,
    bind: SocketAddr,
    partitions: i32,
    replicas: i16,
    work_time: Duration,
    store: Arc<OrderStore>,
}

impl ServiceConfig {
    /// Reads `server.*` and `order-service.*` from the loaded configuration.
    pub fn from_properties(properties: KafkaProperties) -> Result<Self, ServiceError> {
        let address: IpAddr = setting(&properties, "server.address", "an IP address")?
            .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let port: u16 =
            setting(&properties, "server.port", "a port number (0 to 65535)")?.unwrap_or(8080);
        let partitions: i32 = setting(
            &properties,
            "order-service.topics.partitions",
            "a positive number of partitions",
        )?
        .unwrap_or(6);
        if partitions < 1 {
            return Err(ServiceError::Setting {
                key: "order-service.topics.partitions",
                value: partitions.to_string(),
                reason: "a positive number of partitions",
            });
        }
        let replicas: i16 = setting(
            &properties,
            "order-service.topics.replicas",
            "a positive replication factor",
        )?
        .unwrap_or(1);
        if replicas < 1 {
            return Err(ServiceError::Setting {
                key: "order-service.topics.replicas",
                value: replicas.to_string(),
                reason: "a positive replication factor",
            });
        }
        let work_ms: u64 = setting(
            &properties,
            "order-service.items.work-time-ms",
            "milliseconds as a whole number",
        )?
        .unwrap_or(50);
        Ok(Self {
            properties,
            bootstrap: None,
            bind: SocketAddr::new(address, port),
            partitions,
            replicas,
            work_time: Duration::from_millis(work_ms),
            store: Arc::new(OrderStore::new()),
        })
    }

    /// Uses these bootstrap servers for every client, whatever the configuration says
    /// (`main` passes `KAFKA_BOOTSTRAP_SERVERS`; tests their broker).
    pub fn bootstrap(mut self, servers: impl Into<String>) -> Self {
        self.bootstrap = Some(servers.into());
        self
    }

    /// Where the API will listen.
    pub fn address(&self) -> SocketAddr {
        self.bind
    }

    /// Listens on this address instead of `server.address:server.port` (port 0: any free one).
    pub fn bind(mut self, address: SocketAddr) -> Self {
        self.bind = address;
        self
    }

    /// Records progress in this store (shared with a later instance, as a database would be).
    pub fn store(mut self, store: Arc<OrderStore>) -> Self {
        self.store = store;
        self
    }

    /// The simulated I/O time of one work unit.
    pub fn work_time(mut self, work_time: Duration) -> Self {
        self.work_time = work_time;
        self
    }

    /// Where the service will look for Kafka: the explicit bootstrap servers, else those the
    /// configuration names (`spring.kafka.bootstrap-servers`, or the seed's per-client
    /// `consumer.` / `producer.bootstrap-servers`), else an embedded broker.
    pub fn kafka(&self) -> Result<KafkaTarget, ServiceError> {
        if let Some(servers) = &self.bootstrap {
            return Ok(KafkaTarget::Servers(servers.clone()));
        }
        let properties = &self.properties;
        let global = properties
            .get("spring.kafka.bootstrap-servers")?
            .filter(|s| !s.trim().is_empty());
        let per_client = properties.consumer.bootstrap_servers.is_some()
            || properties.producer.bootstrap_servers.is_some();
        Ok(if global.is_some() || per_client {
            KafkaTarget::Configured
        } else {
            KafkaTarget::Embedded
        })
    }
}

/// Which Kafka the service talks to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KafkaTarget {
    /// These bootstrap servers, for every client.
    Servers(String),
    /// The servers `application.yml` (or its environment overrides) names.
    Configured,
    /// An in-process broker the service starts and stops.
    Embedded,
}

/// `key` parsed as `T`, `None` when unset.
fn setting<T: std::str::FromStr>(
    properties: &KafkaProperties,
    key: &'static str,
    reason: &'static str,
) -> Result<Option<T>, ServiceError> {
    match properties.get(key)? {
        None => Ok(None),
        Some(value) => value
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| ServiceError::Setting { key, value, reason }),
    }
}

/// The topic a listener subscribes to, with its placeholder resolved.
fn listener_topic(id: &str, properties: &KafkaProperties) -> Result<String, ServiceError> {
    let spec = kafka_listener::registry::find(id)
        .unwrap_or_else(|| panic!("listener {id} is declared in pipeline.rs"));
    Ok(properties.resolve_placeholders(spec.topics[0])?)
}

/// A running order service: its HTTP API, its listeners, and the embedded broker if it
/// started one.
pub struct RunningService {
    address: SocketAddr,
    bootstrap: String,
    store: Arc<OrderStore>,
    template: KafkaTemplate,
    gauge: Arc<WorkGauge>,
    app: RunningApp,
    http: JoinHandle<std::io::Result<()>>,
    stop_http: oneshot::Sender<()>,
    embedded: Option<EmbeddedKafka>,
}

impl std::fmt::Debug for RunningService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningService")
            .field("address", &self.address)
            .field("bootstrap", &self.bootstrap)
            .field("embedded", &self.embedded.is_some())
            .finish_non_exhaustive()
    }
}

impl RunningService {
    /// Where the HTTP API listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The Kafka bootstrap servers in use.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    /// `true` when the service runs its own in-process broker.
    pub fn is_embedded(&self) -> bool {
        self.embedded.is_some()
    }

    /// The store the service records progress in.
    pub fn store(&self) -> &Arc<OrderStore> {
        &self.store
    }

    /// The most work units this instance processed at the same time.
    pub fn peak_parallel_units(&self) -> usize {
        self.gauge.peak()
    }

    /// Stops accepting requests, lets in-flight units finish and commits them, leaves the
    /// groups, then stops the embedded broker if there is one. Units still unacknowledged are
    /// delivered again to the next instance.
    pub async fn shutdown(self) -> Result<(), ServiceError> {
        let _ = self.stop_http.send(());
        let http = match self.http.await {
            Ok(result) => result.map_err(ServiceError::Http),
            Err(join) => Err(ServiceError::Http(std::io::Error::other(join))),
        };
        let listeners = self.app.shutdown().await;
        let flushed = self.template.flush().await;
        if let Some(kafka) = self.embedded {
            kafka.shutdown().await;
        }
        http?;
        listeners?;
        flushed?;
        tracing::info!("order service stopped");
        Ok(())
    }
}

/// Starts the service: the broker (embedded unless one is configured), the listeners (waiting
/// until both hold partitions), then the HTTP API.
pub async fn start(config: ServiceConfig) -> Result<RunningService, ServiceError> {
    // The port first: a port conflict is the likeliest start-up failure and needs no broker.
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|source| ServiceError::Bind {
            address: config.bind,
            source,
        })?;
    let address = listener.local_addr().map_err(ServiceError::Http)?;
    let (bootstrap, embedded) = match config.kafka()? {
        KafkaTarget::Servers(servers) => (Some(servers), None),
        KafkaTarget::Configured => (None, None),
        KafkaTarget::Embedded => {
            let kafka = EmbeddedKafka::start().await;
            tracing::info!(bootstrap = %kafka.bootstrap(), "no Kafka configured: embedded broker started");
            (Some(kafka.bootstrap()), Some(kafka))
        }
    };
    let ServiceConfig {
        properties,
        partitions,
        replicas,
        work_time,
        store,
        ..
    } = config;
    let orders_topic = listener_topic(SPLIT_LISTENER, &properties)?;
    let items_topic = listener_topic(WORK_LISTENER, &properties)?;
    let mut producer = properties.producer_connection();
    if let Some(servers) = &bootstrap {
        producer = producer.with_bootstrap_servers(servers.split(','));
    }
    let bootstrap_text = producer.bootstrap_servers().join(",");
    let template = KafkaTemplate::connect(producer, ProducerSettings::default()).await?;

    let gauge = Arc::new(WorkGauge::default());
    let mut app = App::new(properties)
        .state(Pipeline {
            template: template.clone(),
            items_topic: items_topic.clone(),
            work_time,
            gauge: Arc::clone(&gauge),
        })
        .shared_state(Arc::clone(&store))
        .topic(
            NewTopic::new(&orders_topic)
                .partitions(partitions)
                .replicas(replicas),
        )
        .topic(
            NewTopic::new(&items_topic)
                .partitions(partitions)
                .replicas(replicas),
        )
        .listeners([SPLIT_LISTENER, WORK_LISTENER]);
    if let Some(servers) = &bootstrap {
        app = app.bootstrap(servers.as_str());
    }
    let app = app.start().await?;
    for listener in [SPLIT_LISTENER, WORK_LISTENER] {
        if app
            .wait_for_assignment(listener, ASSIGNMENT_TIMEOUT)
            .await
            .is_none()
        {
            let _ = app.shutdown().await;
            return Err(ServiceError::NotAssigned {
                listener,
                timeout: ASSIGNMENT_TIMEOUT,
                bootstrap: bootstrap_text,
            });
        }
    }

    let router = http::router(Arc::new(http::Api {
        template: template.clone(),
        orders_topic: orders_topic.clone(),
        store: Arc::clone(&store),
    }));
    let (stop_http, stopped) = oneshot::channel::<()>();
    let http = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    tracing::info!(
        %address,
        bootstrap = %bootstrap_text,
        orders = %orders_topic,
        items = %items_topic,
        "order service started"
    );
    Ok(RunningService {
        address,
        bootstrap: bootstrap_text,
        store,
        template,
        gauge,
        app,
        http,
        stop_http,
        embedded,
    })
}
