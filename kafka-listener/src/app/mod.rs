//! The application: configuration + state + the selected `#[kafka_listener]`s → running
//! consumers, and their orderly shutdown.

mod container_settings;
mod error_handlers;
mod retry_topics;
mod running;
mod start;
mod topics;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use running::RunningApp;
pub use topics::NewTopic;

use crate::client::OAuthBearerTokenProvider;
use crate::config::KafkaProperties;
use crate::error::{ErrorHandler, RetryTopicConfig};
use crate::extract::AppState;
use crate::result::Result;

/// Builds and starts the listeners of a service, configured as Spring Boot configures Spring
/// Kafka.
///
/// ```no_run
/// use kafka_listener::{kafka_listener, App, Json};
///
/// #[kafka_listener(topics = "orders", group_id = "order-service")]
/// async fn on_order(order: Json<serde_json::Value>) {
///     println!("{:?}", order.0);
/// }
///
/// # async fn run() -> kafka_listener::Result<()> {
/// App::from_yaml_file("application.yml")?
///     .run_until_ctrl_c()
///     .await
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct App {
    properties: KafkaProperties,
    state: AppState,
    listeners: Option<Vec<String>>,
    bootstrap: Option<String>,
    topics: Vec<NewTopic>,
    error_handler: Option<ErrorHandler>,
    listener_error_handlers: HashMap<String, ErrorHandler>,
    retry_topics: Option<RetryTopicConfig>,
    shutdown_timeout: Duration,
}

impl App {
    /// An app configured by `properties`.
    pub fn new(properties: KafkaProperties) -> Self {
        Self {
            properties,
            state: AppState::new(),
            listeners: None,
            bootstrap: None,
            topics: Vec::new(),
            error_handler: None,
            listener_error_handlers: HashMap::new(),
            retry_topics: None,
            shutdown_timeout: Duration::from_secs(10),
        }
    }

    /// Reads `spring.kafka.*` from a Spring Boot `application.yml` (with its profiles and
    /// environment overrides).
    pub fn from_yaml_file(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self::new(KafkaProperties::from_yaml_file(path)?))
    }

    /// Like [`from_yaml_file`](Self::from_yaml_file), from text.
    pub fn from_yaml_str(yaml: &str) -> Result<Self> {
        Ok(Self::new(KafkaProperties::from_yaml_str(yaml)?))
    }

    /// Reads `spring.kafka.*` from an `application.properties` file.
    pub fn from_properties_file(path: impl AsRef<Path>) -> Result<Self> {
        Ok(Self::new(KafkaProperties::from_properties_file(path)?))
    }

    /// Adds a value handlers can take as `State<T>`.
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(value);
        self
    }

    /// Adds a value the caller keeps a handle to; handlers take it as `State<T>`.
    ///
    /// ```
    /// use std::sync::{atomic::AtomicU64, Arc};
    /// let processed = Arc::new(AtomicU64::new(0));
    /// let app = kafka_listener::App::from_yaml_str("spring.kafka.consumer.group-id: g")
    ///     .unwrap()
    ///     .shared_state(Arc::clone(&processed));
    /// ```
    pub fn shared_state<T: Send + Sync + 'static>(mut self, value: Arc<T>) -> Self {
        self.state.insert_arc(value);
        self
    }

    /// Runs only these listeners (by id) instead of every registered one with `auto_startup`.
    pub fn listeners<I, S>(mut self, ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.listeners = Some(ids.into_iter().map(Into::into).collect());
        self
    }

    /// Overrides every configured bootstrap server (tests point the app at their broker).
    pub fn bootstrap(mut self, servers: impl Into<String>) -> Self {
        self.bootstrap = Some(servers.into());
        self
    }

    /// Creates `topic` at start-up if it does not exist.
    pub fn topic(mut self, topic: NewTopic) -> Self {
        self.topics.push(topic);
        self
    }

    /// The error handler of every listener without its own (default: Spring's — 10 deliveries,
    /// then log). Overrides `kafka-listener.error-handler.*`; a listener's own
    /// `kafka-listener.listeners.<id>.error-handler.*` keys still win for that listener.
    pub fn error_handler(mut self, handler: ErrorHandler) -> Self {
        self.error_handler = Some(handler);
        self
    }

    /// The error handler of listener `id` alone; overrides every other setting for it.
    ///
    /// ```
    /// use kafka_listener::error::{ErrorHandler, FixedBackOff, Recoverer};
    /// use std::time::Duration;
    /// let app = kafka_listener::App::from_yaml_str("spring.kafka.consumer.group-id: g")
    ///     .unwrap()
    ///     .listener_error_handler(
    ///         "order-listener",
    ///         ErrorHandler::new(FixedBackOff::new(Duration::from_secs(1), 2), Recoverer::LogAndSkip),
    ///     );
    /// ```
    pub fn listener_error_handler(mut self, id: impl Into<String>, handler: ErrorHandler) -> Self {
        self.listener_error_handlers.insert(id.into(), handler);
        self
    }

    /// Non-blocking retries through retry topics for every listener without its own
    /// `retry_topic(...)` attribute (overrides `spring.kafka.retry.topic.*`).
    ///
    /// ```
    /// use kafka_listener::error::RetryTopicConfig;
    /// use std::time::Duration;
    /// let app = kafka_listener::App::from_yaml_str("spring.kafka.consumer.group-id: g")
    ///     .unwrap()
    ///     .retry_topics(RetryTopicConfig::default().attempts(4).fixed(Duration::from_secs(2)));
    /// ```
    pub fn retry_topics(mut self, config: RetryTopicConfig) -> Self {
        self.retry_topics = Some(config);
        self
    }

    /// Every connection the app opens (consumers, group coordinator, producers, retry and
    /// dead-letter publishers, replies, topic creation) that is configured for SASL
    /// `OAUTHBEARER` takes its tokens from `provider`. It wins over a token endpoint in the
    /// configuration. The provider is asked once per authentication: cache tokens in it.
    ///
    /// ```
    /// use kafka_listener::client::{OAuthBearerTokenProvider, TokenError};
    /// use std::{future::Future, pin::Pin};
    ///
    /// struct FromVault;
    /// impl OAuthBearerTokenProvider for FromVault {
    ///     fn token(&self) -> Pin<Box<dyn Future<Output = Result<String, TokenError>> + Send + '_>> {
    ///         Box::pin(async { Ok("eyJhbGciOi…".to_owned()) })
    ///     }
    /// }
    ///
    /// let app = kafka_listener::App::from_yaml_str(r#"
    /// spring.kafka:
    ///   security.protocol: SASL_SSL
    ///   properties:
    ///     sasl.mechanism: OAUTHBEARER
    ///     sasl.jaas.config: org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;
    /// "#)
    /// .unwrap()
    /// .oauthbearer_token_provider(FromVault);
    /// assert!(app.properties().consumer_connection().security_config().sasl().unwrap().has_token_provider());
    /// ```
    pub fn oauthbearer_token_provider(mut self, provider: impl OAuthBearerTokenProvider) -> Self {
        self.properties = self
            .properties
            .with_oauthbearer_token_provider(Arc::new(provider));
        self
    }

    /// How long shutdown waits for in-flight handlers before giving up on them (default 10 s).
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// The configuration in use.
    pub fn properties(&self) -> &KafkaProperties {
        &self.properties
    }

    /// Starts the listeners and returns at once; [`RunningApp::shutdown`] stops them.
    pub async fn start(self) -> Result<RunningApp> {
        start::start(self).await
    }

    /// Starts the listeners and runs until Ctrl-C, then shuts down gracefully (drain, commit,
    /// leave the group). A second Ctrl-C aborts the drain.
    pub async fn run_until_ctrl_c(self) -> Result<()> {
        let running = self.start().await?;
        tokio::signal::ctrl_c()
            .await
            .map_err(crate::Error::Signal)?;
        tracing::info!("Ctrl-C: shutting down (press again to abort)");
        tokio::select! {
            result = running.shutdown() => result,
            _ = tokio::signal::ctrl_c() => {
                tracing::warn!("second Ctrl-C: aborting without draining");
                Ok(())
            }
        }
    }
}
