//! The crate-level error type returned by the application-facing API.

use crate::registry::{ListenerLocation, ValidationErrors};

/// Everything that can stop an application from starting or running.
///
/// Each layer (configuration, registry, group client, data plane) has its own error enum; this
/// one wraps them so `main` can use `?` on all of them.
///
/// ```
/// use kafka_listener::config::KafkaProperties;
///
/// fn start() -> kafka_listener::Result<()> {
///     let _props = KafkaProperties::from_yaml_str("spring.kafka.listener.ack-count: lots")?;
///     Ok(())
/// }
/// let err = start().unwrap_err();
/// assert!(err.to_string().contains("spring.kafka.listener.ack-count"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration could not be loaded or is invalid.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// One or more `#[kafka_listener]` declarations are invalid.
    #[error(transparent)]
    Listeners(#[from] ValidationErrors),
    /// A listener takes a `State<T>` that was never registered with `App::state` /
    /// `App::shared_state`: every record would fail to extract, so the app does not start.
    #[error("listener {listener} takes `State<{type_name}>`, but no `{type_name}` was registered: add `.state(…)` or `.shared_state(…)` to the App before `start()`")]
    MissingState {
        /// The listener function.
        listener: crate::registry::ListenerLocation,
        /// The state's type.
        type_name: &'static str,
    },
    /// `App::listeners` named an id no `#[kafka_listener]` has.
    #[error("no listener with id `{id}`; registered listeners: {known}")]
    UnknownListener {
        /// The id asked for.
        id: String,
        /// The registered ids, comma-separated.
        known: String,
    },
    /// A listener setting given as a `${…}` placeholder did not resolve to a valid value.
    #[error("listener {listener}: `{setting}` = {value:?} is not valid: {reason}")]
    ListenerSetting {
        /// The listener.
        listener: ListenerLocation,
        /// The attribute.
        setting: &'static str,
        /// The resolved value.
        value: String,
        /// Why it is invalid.
        reason: String,
    },
    /// `spring.kafka.listener.missing-topics-fatal` is true and topics do not exist.
    #[error("topics {topics:?} do not exist and spring.kafka.listener.missing-topics-fatal is true: create them or declare them with App::topic")]
    MissingTopics {
        /// The missing topics.
        topics: Vec<String>,
    },
    /// A declared topic could not be created.
    #[error("cannot create topic {topic}: {reason}")]
    CreateTopic {
        /// The topic.
        topic: String,
        /// The broker's answer.
        reason: String,
    },
    /// The data-plane client could not be built.
    #[error(transparent)]
    Client(#[from] crate::client::ClientError),
    /// The consumer-group client failed.
    #[error(transparent)]
    Group(#[from] crate::group::GroupError),
    /// The producer that forwards failed records to retry topics could not connect.
    #[error("cannot connect the retry-topic producer: {0}")]
    Producer(#[from] crate::producer::SendError),
    /// The cluster could not be asked for its topics.
    #[error("cannot list topics: {0}")]
    Metadata(String),
    /// SASL `OAUTHBEARER` is configured with neither a token endpoint
    /// (`sasl.oauthbearer.token.endpoint.url`) nor a provider registered in code.
    #[error("SASL OAUTHBEARER is configured but no token source is: set spring.kafka.properties.sasl.oauthbearer.token.endpoint.url (with clientId and clientSecret in sasl.jaas.config) or register a provider with App::oauthbearer_token_provider")]
    MissingTokenProvider,
    /// Waiting for the process's Ctrl-C signal failed.
    #[error("cannot listen for Ctrl-C: {0}")]
    Signal(#[source] std::io::Error),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
