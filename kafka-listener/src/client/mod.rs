//! Connection settings shared by every connection the project opens: rskafka's producer and
//! admin client, the group client, and the consumer's own [`fetch`]er.
//!
//! One [`ConnectionConfig`] builds both rskafka's client and the group client's own
//! connections, so bootstrap servers, client id, timeouts and security (TLS, SASL: see
//! [`SecurityConfig`]) are set in one place.

use std::time::Duration;

pub(crate) mod batch_layout;
mod connection;
// The consumer's fetcher: the container's data plane, not an API.
#[doc(hidden)]
pub mod fetch;
mod security;
mod transport;

// One broker connection on kafka-protocol: what the group client and the fetcher speak over,
// not an API.
#[doc(hidden)]
pub use connection::{BrokerConnection, ConnectionError};
#[cfg(feature = "embedded")]
pub(crate) use security::jwt;
pub use security::{
    is_sensitive_key, ClientCredentialsTokenProvider, JaasConfig, JaasError,
    OAuthBearerTokenProvider, OAuthError, SaslMechanism, SaslSettings, Secret, SecurityConfig,
    SecurityProtocol, Store, TlsError, TlsSettings, TokenError, UnsecuredTokenProvider,
};

/// Errors from building the data-plane client.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No bootstrap server was configured.
    #[error("no bootstrap servers configured: set spring.kafka.bootstrap-servers")]
    NoBootstrapServers,
    /// rskafka could not reach any bootstrap server or failed otherwise.
    #[error("cannot connect to Kafka at {servers}: {source}")]
    Connect {
        /// The bootstrap servers tried, comma-separated.
        servers: String,
        /// rskafka's error.
        #[source]
        source: rskafka::client::error::Error,
    },
}

/// How to reach a Kafka cluster.
///
/// ```
/// use kafka_listener::client::ConnectionConfig;
/// use std::time::Duration;
///
/// let config = ConnectionConfig::new(["127.0.0.1:9092"])
///     .client_id("order-service")
///     .request_timeout(Duration::from_secs(10));
/// assert_eq!(config.bootstrap_servers(), ["127.0.0.1:9092"]);
/// assert_eq!(config.client_id_str(), "order-service");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionConfig {
    bootstrap_servers: Vec<String>,
    client_id: String,
    request_timeout: Duration,
    retry_deadline: Duration,
    security: SecurityConfig,
}

impl ConnectionConfig {
    /// Kafka's default `request.timeout.ms` (30 s).
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

    /// Settings for the given bootstrap servers (`host:port` each), with Kafka's defaults for the
    /// rest.
    pub fn new<I, S>(bootstrap_servers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            bootstrap_servers: bootstrap_servers
                .into_iter()
                .map(Into::into)
                .flat_map(|s| {
                    s.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect::<Vec<_>>()
                })
                .collect(),
            client_id: "kafka-listener".to_owned(),
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            retry_deadline: Self::DEFAULT_REQUEST_TIMEOUT,
            security: SecurityConfig::default(),
        }
    }

    /// The same settings, pointed at other bootstrap servers (`App::bootstrap` and tests
    /// override only the servers; client id and timeouts stay as configured).
    ///
    /// ```
    /// use kafka_listener::client::ConnectionConfig;
    /// let config = ConnectionConfig::new(["a:1"]).client_id("svc").with_bootstrap_servers(["b:2, c:3"]);
    /// assert_eq!(config.bootstrap_servers(), ["b:2", "c:3"]);
    /// assert_eq!(config.client_id_str(), "svc");
    /// ```
    pub fn with_bootstrap_servers<I, S>(mut self, bootstrap_servers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.bootstrap_servers = Self::new(bootstrap_servers).bootstrap_servers;
        self
    }

    /// Sets `client.id`, which brokers log and quota by.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = client_id.into();
        self
    }

    /// Sets `request.timeout.ms`: how long one request may wait for its response. Also bounds
    /// rskafka's retries, whose default never gives up.
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self.retry_deadline = timeout;
        self
    }

    /// Sets the security (TLS, SASL) of every connection built from this configuration, ours
    /// and rskafka's alike.
    pub fn security(mut self, security: SecurityConfig) -> Self {
        self.security = security;
        self
    }

    /// The security settings (`PLAINTEXT` unless [`security`](Self::security) was called).
    pub fn security_config(&self) -> &SecurityConfig {
        &self.security
    }

    /// The bootstrap servers, one `host:port` each.
    pub fn bootstrap_servers(&self) -> &[String] {
        &self.bootstrap_servers
    }

    /// The configured `client.id`.
    pub fn client_id_str(&self) -> &str {
        &self.client_id
    }

    /// The configured `request.timeout.ms`.
    pub fn request_timeout_duration(&self) -> Duration {
        self.request_timeout
    }

    /// Builds rskafka's client for produce, fetch, metadata and topic admin. Its retries are
    /// bounded by the request timeout (rskafka 0.6 retries forever by default).
    pub async fn rskafka_client(&self) -> Result<rskafka::client::Client, ClientError> {
        if self.bootstrap_servers.is_empty() {
            return Err(ClientError::NoBootstrapServers);
        }
        let backoff = rskafka::BackoffConfig {
            init_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
            base: 2.0,
            deadline: Some(self.retry_deadline),
        };
        let mut builder = rskafka::client::ClientBuilder::new(self.bootstrap_servers.clone())
            .client_id(self.client_id.as_str())
            .backoff_config(backoff);
        if let Some(tls) = self.security.tls_client_config() {
            builder = builder.tls_config(tls);
        }
        if let Some(sasl) = self.security.sasl() {
            builder = builder.sasl_config(sasl.rskafka_config());
        }
        builder
            .build()
            .await
            .map_err(|source| ClientError::Connect {
                servers: self.bootstrap_servers.join(","),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comma_separated_bootstrap_servers_are_split_and_trimmed() {
        let config = ConnectionConfig::new(["a:1, b:2", "c:3"]);
        assert_eq!(config.bootstrap_servers(), ["a:1", "b:2", "c:3"]);
    }

    #[tokio::test]
    async fn building_without_bootstrap_servers_is_a_clear_error() {
        let err = ConnectionConfig::new(Vec::<String>::new())
            .rskafka_client()
            .await
            .unwrap_err();
        assert!(err.to_string().contains("spring.kafka.bootstrap-servers"));
    }
}
