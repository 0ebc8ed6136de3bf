//! [`KafkaProperties`]: everything under `spring.kafka`, bound and checked.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::bind;
use super::binder::{placeholder_error, resolve_in, Binder};
use super::environment::Environment;
use super::error::ConfigError;
use super::loader::ConfigLoader;
use super::model::{
    AdminProperties, ConsumerProperties, ListenerProperties, ParallelismProperties,
    ProducerProperties, RetryTopicProperties, SecurityProtocol, TemplateProperties,
};
use super::origin::Origin;
use super::properties_map::Properties;
use super::security;
use super::warning::ConfigWarning;
use crate::client::{ConnectionConfig, OAuthBearerTokenProvider, SaslMechanism, SecurityConfig};

/// Spring Boot's default `spring.kafka.bootstrap-servers`.
pub const DEFAULT_BOOTSTRAP_SERVERS: &str = "localhost:9092";

/// `spring.kafka.*` as Spring Boot 4 binds it.
///
/// ```
/// use kafka_listener::config::{AckMode, Deserializer, KafkaProperties};
/// use std::time::Duration;
///
/// let props = KafkaProperties::from_yaml_str(r#"
/// spring:
///   kafka:
///     bootstrap-servers: [kafka-1:9092, kafka-2:9092]
///     consumer:
///       groupId: orders
///       value-deserializer: org.springframework.kafka.support.serializer.JsonDeserializer
///     listener:
///       ack-mode: manual_immediate
///       poll-timeout: PT3S
/// "#).unwrap();
/// assert_eq!(props.bootstrap_servers, ["kafka-1:9092", "kafka-2:9092"]);
/// assert_eq!(props.consumer.group_id.as_deref(), Some("orders"));
/// assert_eq!(props.consumer.value_deserializer, Deserializer::Json);
/// assert_eq!(props.listener.ack_mode, AckMode::ManualImmediate);
/// assert_eq!(props.listener.poll_timeout, Duration::from_secs(3));
/// assert_eq!(props.listener.ack_time, Duration::from_secs(5)); // Spring's default
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct KafkaProperties {
    /// `bootstrap-servers` (default `localhost:9092`).
    pub bootstrap_servers: Vec<String>,
    /// `client-id`.
    pub client_id: Option<String>,
    /// `properties.*`: raw Kafka properties shared by every client.
    pub properties: Properties,
    /// `security.protocol`.
    pub security_protocol: Option<SecurityProtocol>,
    /// `consumer.*`.
    pub consumer: ConsumerProperties,
    /// `producer.*`.
    pub producer: ProducerProperties,
    /// `admin.*`.
    pub admin: AdminProperties,
    /// `listener.*`.
    pub listener: ListenerProperties,
    /// `template.*`.
    pub template: TemplateProperties,
    /// `retry.topic.*`.
    pub retry_topic: RetryTopicProperties,
    /// `kafka-listener.parallelism.*` (this crate's own keys).
    pub parallelism: ParallelismProperties,
    security: ClientSecurity,
    warnings: Vec<ConfigWarning>,
    environment: Arc<Environment>,
}

/// Each client's security, every level of `security.protocol`, `ssl.*` and `sasl.*` applied.
#[derive(Debug, Clone)]
struct ClientSecurity {
    consumer: SecurityConfig,
    producer: SecurityConfig,
    admin: SecurityConfig,
}

/// Every field but the merged sources, which hold raw values (secrets included); secrets in the
/// fields are redacted ([`Properties`], [`SecurityConfig`]).
impl std::fmt::Debug for KafkaProperties {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaProperties")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("client_id", &self.client_id)
            .field("properties", &self.properties)
            .field("security_protocol", &self.security_protocol)
            .field("consumer", &self.consumer)
            .field("producer", &self.producer)
            .field("admin", &self.admin)
            .field("listener", &self.listener)
            .field("template", &self.template)
            .field("retry_topic", &self.retry_topic)
            .field("parallelism", &self.parallelism)
            .field("security", &self.security)
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

impl KafkaProperties {
    /// Loads `application.yml` (or `.yaml`) and, for the active profiles,
    /// `application-{profile}.yml` beside it, with the process environment's overrides.
    /// Use [`ConfigLoader`] to choose profiles or the environment.
    pub fn from_yaml_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        ConfigLoader::new().load_yaml_file(path)
    }

    /// Loads YAML text (with the process environment's overrides).
    pub fn from_yaml_str(text: &str) -> Result<Self, ConfigError> {
        ConfigLoader::new().load_yaml_str(text)
    }

    /// Loads `application.properties` and its profile files.
    pub fn from_properties_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        ConfigLoader::new().load_properties_file(path)
    }

    /// Loads Java properties text.
    ///
    /// ```
    /// use kafka_listener::config::KafkaProperties;
    ///
    /// let props = KafkaProperties::from_properties_str(
    ///     "spring.kafka.consumer.group-id=orders\nspring.kafka.listener.concurrency: 3\n",
    /// ).unwrap();
    /// assert_eq!(props.consumer.group_id.as_deref(), Some("orders"));
    /// assert_eq!(props.listener.concurrency, Some(3));
    /// ```
    pub fn from_properties_str(text: &str) -> Result<Self, ConfigError> {
        ConfigLoader::new().load_properties_str(text)
    }

    /// Binds every `spring.kafka` key of `environment`.
    pub(crate) fn bind(environment: Environment) -> Result<Self, ConfigError> {
        let mut binder = Binder::new(&environment);
        bind::mark_unsupported(&mut binder);
        let global_properties = binder.map("spring.kafka.properties")?;
        let bootstrap_servers = binder
            .list("spring.kafka.bootstrap-servers")?
            .unwrap_or_else(|| vec![DEFAULT_BOOTSTRAP_SERVERS.to_owned()]);
        let client_id = binder.string("spring.kafka.client-id")?.map(|l| l.value);
        let security_protocol = bind::security_protocol(&mut binder, "security.protocol")?;
        let consumer = bind::consumer(&mut binder, &global_properties)?;
        let producer = bind::producer(&mut binder, &global_properties)?;
        let admin = bind::admin(&mut binder, &global_properties)?;
        let (listener, ack_mode_origin) = bind::listener(&mut binder)?;
        bind::check_manual_ack(&mut binder, &listener, ack_mode_origin)?;
        let retry_topic = bind::retry_topic(&mut binder)?;
        let template = bind::template(&mut binder)?;
        let parallelism = bind::parallelism(&mut binder)?;
        let mut providers = security::TokenProviders::default();
        let (consumer_security, mut ignored) =
            security::bind(&mut binder, "consumer", &mut providers)?;
        let (producer_security, more) = security::bind(&mut binder, "producer", &mut providers)?;
        ignored.extend(more);
        let (admin_security, more) = security::bind(&mut binder, "admin", &mut providers)?;
        ignored.extend(more);
        let mut warnings = binder.unknown_keys("spring.kafka");
        let mut seen = std::collections::BTreeSet::new();
        for warning in ignored {
            if seen.insert(warning.key.clone()) {
                tracing::warn!(key = %warning.key, origin = %warning.origin, "{warning}");
                warnings.push(warning);
            }
        }
        // The rest of `kafka-listener.*` (error handlers) is checked where it is bound.
        warnings.extend(binder.unknown_file_keys(&format!("{}.parallelism", bind::EXTENSION_ROOT)));
        Ok(Self {
            bootstrap_servers,
            client_id,
            properties: global_properties
                .into_iter()
                .map(|(k, v)| (k, v.value))
                .collect::<BTreeMap<_, _>>()
                .into(),
            security_protocol,
            consumer,
            producer,
            admin,
            listener,
            template,
            retry_topic,
            parallelism,
            security: ClientSecurity {
                consumer: consumer_security,
                producer: producer_security,
                admin: admin_security,
            },
            warnings,
            environment: Arc::new(environment),
        })
    }

    /// The merged sources, for binders of keys outside `spring.kafka`.
    pub(crate) fn environment(&self) -> &Environment {
        &self.environment
    }

    /// Keys under `spring.kafka` that nothing reads (already logged with `tracing::warn!`).
    pub fn warnings(&self) -> &[ConfigWarning] {
        &self.warnings
    }

    /// Resolves `${NAME}` / `${NAME:default}` in `text` (e.g. a `#[kafka_listener]` attribute)
    /// against the same environment variables and properties the configuration was loaded from.
    ///
    /// ```
    /// use kafka_listener::config::ConfigLoader;
    ///
    /// let props = ConfigLoader::new()
    ///     .env([("TOPIC_PREFIX", "prod")])
    ///     .load_yaml_str("app.topic: ${TOPIC_PREFIX}-orders")
    ///     .unwrap();
    /// assert_eq!(props.resolve_placeholders("${app.topic}").unwrap(), "prod-orders");
    /// assert_eq!(props.resolve_placeholders("${GROUP:billing}").unwrap(), "billing");
    /// assert!(props.resolve_placeholders("${NOWHERE}").is_err());
    /// ```
    pub fn resolve_placeholders(&self, text: &str) -> Result<String, ConfigError> {
        resolve_in(&self.environment, text).map_err(|e| placeholder_error(text, &Origin::Code, e))
    }

    /// The resolved value of any key in the loaded sources (environment overrides included),
    /// e.g. an application's own `app.topic`.
    pub fn get(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.environment.get(key) {
            Some(raw) => resolve_in(&self.environment, &raw.value)
                .map(Some)
                .map_err(|e| placeholder_error(key, &raw.origin, e)),
            None => Ok(None),
        }
    }

    /// Every client configured for SASL `OAUTHBEARER` takes its tokens from `provider`, instead
    /// of the token endpoint or unsecured tokens the configuration names (if any). Clients with
    /// another mechanism are left alone. [`App::oauthbearer_token_provider`] calls this.
    ///
    /// [`App::oauthbearer_token_provider`]: crate::App::oauthbearer_token_provider
    ///
    /// ```
    /// use kafka_listener::client::UnsecuredTokenProvider;
    /// use kafka_listener::config::ConfigLoader;
    /// use std::{sync::Arc, time::Duration};
    ///
    /// let props = ConfigLoader::new()
    ///     .env(Vec::<(String, String)>::new())
    ///     .load_yaml_str(r#"
    /// spring.kafka:
    ///   security.protocol: SASL_SSL
    ///   properties:
    ///     sasl.mechanism: OAUTHBEARER
    ///     sasl.jaas.config: org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required;
    /// "#)
    ///     .unwrap();
    /// assert!(!props.consumer_connection().security_config().sasl().unwrap().has_token_provider());
    /// let props = props.with_oauthbearer_token_provider(Arc::new(
    ///     UnsecuredTokenProvider::new("alice", Duration::from_secs(60)),
    /// ));
    /// for connection in [props.consumer_connection(), props.producer_connection(), props.admin_connection()] {
    ///     assert!(connection.security_config().sasl().unwrap().has_token_provider());
    /// }
    /// ```
    pub fn with_oauthbearer_token_provider(
        mut self,
        provider: Arc<dyn OAuthBearerTokenProvider>,
    ) -> Self {
        for security in [
            &mut self.security.consumer,
            &mut self.security.producer,
            &mut self.security.admin,
        ] {
            if let Some(sasl) = security
                .sasl()
                .filter(|s| s.mechanism() == SaslMechanism::OAuthBearer)
            {
                let sasl = sasl.clone().with_token_provider(Arc::clone(&provider));
                *security = security.clone().with_sasl(sasl);
            }
        }
        self
    }

    /// Whether any client uses SASL `OAUTHBEARER` without a token source, so that connecting
    /// would fail until a provider is registered in code.
    pub(crate) fn lacks_oauthbearer_token_provider(&self) -> bool {
        [
            &self.security.consumer,
            &self.security.producer,
            &self.security.admin,
        ]
        .iter()
        .filter_map(|s| s.sasl())
        .any(|s| s.mechanism() == SaslMechanism::OAuthBearer && !s.has_token_provider())
    }

    /// Connection settings for consumers: `consumer.bootstrap-servers` and `consumer.client-id`
    /// override the global ones, as in Spring Boot; `request.timeout.ms` from the properties
    /// maps sets the request timeout.
    ///
    /// ```
    /// use kafka_listener::config::KafkaProperties;
    ///
    /// let props = KafkaProperties::from_yaml_str(
    ///     "spring.kafka:\n  bootstrap-servers: global:9092\n  consumer.bootstrap-servers: a:1,b:2\n",
    /// ).unwrap();
    /// assert_eq!(props.consumer_connection().bootstrap_servers(), ["a:1", "b:2"]);
    /// assert_eq!(props.producer_connection().bootstrap_servers(), ["global:9092"]);
    /// ```
    pub fn consumer_connection(&self) -> ConnectionConfig {
        let consumer = &self.consumer;
        self.connection(
            consumer.bootstrap_servers.as_ref(),
            consumer.client_id.as_ref(),
            consumer.request_timeout,
            &self.security.consumer,
        )
    }

    /// Connection settings for producers (`producer.*` overrides the global ones).
    pub fn producer_connection(&self) -> ConnectionConfig {
        let producer = &self.producer;
        self.connection(
            producer.bootstrap_servers.as_ref(),
            producer.client_id.as_ref(),
            producer.request_timeout,
            &self.security.producer,
        )
    }

    /// Connection settings for the admin client (`admin.*` overrides the global ones).
    pub fn admin_connection(&self) -> ConnectionConfig {
        let admin = &self.admin;
        self.connection(
            admin.bootstrap_servers.as_ref(),
            admin.client_id.as_ref(),
            admin.request_timeout,
            &self.security.admin,
        )
    }

    fn connection(
        &self,
        servers: Option<&Vec<String>>,
        client_id: Option<&String>,
        request_timeout: Option<Duration>,
        security: &SecurityConfig,
    ) -> ConnectionConfig {
        let servers = servers
            .filter(|s| !s.is_empty())
            .unwrap_or(&self.bootstrap_servers);
        let mut config = ConnectionConfig::new(servers.iter().cloned()).security(security.clone());
        if let Some(id) = client_id.or(self.client_id.as_ref()) {
            config = config.client_id(id.clone());
        }
        if let Some(timeout) = request_timeout {
            config = config.request_timeout(timeout);
        }
        config
    }
}
