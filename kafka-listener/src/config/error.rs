//! Configuration errors: each names the key, where it was written, and what to write instead.

use std::path::PathBuf;

use super::origin::Origin;

/// Why the configuration could not be loaded. Every variant's message names the key (as a YAML
/// path), the position (`file:line:column` or the environment variable) and the fix.
///
/// ```
/// use kafka_listener::config::{ConfigError, KafkaProperties};
///
/// let err = KafkaProperties::from_yaml_str("spring.kafka.listener.ack-mode: SOMETIMES").unwrap_err();
/// assert!(matches!(err, ConfigError::InvalidValue { .. }));
/// let message = err.to_string();
/// assert!(message.contains("spring.kafka.listener.ack-mode"));
/// assert!(message.contains("<string>:1:33"));
/// assert!(message.contains("MANUAL_IMMEDIATE"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A configuration file exists but could not be read.
    #[error("cannot read configuration file {path}: {source}; check the path and its permissions")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The YAML is malformed or has a shape no Spring configuration has.
    #[error("{origin}: invalid YAML: {message}")]
    Yaml {
        /// Where the parser stopped.
        origin: Origin,
        /// What is wrong.
        message: String,
    },
    /// The properties file is malformed.
    #[error("{origin}: invalid properties syntax: {message}")]
    Properties {
        /// Where.
        origin: Origin,
        /// What is wrong.
        message: String,
    },
    /// A value cannot be read as its key's type.
    #[error("{key} at {origin}: invalid value `{value}`; expected {expected}")]
    InvalidValue {
        /// The key as a YAML path, e.g. `spring.kafka.listener.ack-mode`.
        key: String,
        /// Where the value was written.
        origin: Origin,
        /// The value (placeholders resolved).
        value: String,
        /// The accepted values or format.
        expected: String,
    },
    /// A (de)serializer class this crate has no codec for.
    #[error("{key} at {origin}: unsupported class `{class_name}`; use one of: {supported}")]
    UnsupportedCodec {
        /// The key, e.g. `spring.kafka.consumer.value-deserializer`.
        key: String,
        /// Where it was written.
        origin: Origin,
        /// The class named.
        class_name: String,
        /// Every supported class name.
        supported: String,
    },
    /// `ErrorHandlingDeserializer` without the delegate it wraps.
    #[error(
        "{key} at {origin}: ErrorHandlingDeserializer needs a delegate; set {delegate_key} to one of: {supported}"
    )]
    MissingDelegate {
        /// The key naming ErrorHandlingDeserializer.
        key: String,
        /// Where it was written.
        origin: Origin,
        /// The property to set, e.g.
        /// `spring.kafka.consumer.properties.spring.deserializer.value.delegate.class`.
        delegate_key: String,
        /// Every supported delegate class name.
        supported: String,
    },
    /// `${NAME}` without a default, and no variable or property `NAME`.
    #[error(
        "{key} at {origin}: cannot resolve placeholder `${{{name}}}`; set the environment variable or property `{name}`, or give a default: `${{{name}:default}}`"
    )]
    UnresolvedPlaceholder {
        /// The key whose value holds the placeholder.
        key: String,
        /// Where it was written.
        origin: Origin,
        /// The placeholder's name.
        name: String,
    },
    /// Placeholders that refer to each other in a loop.
    #[error(
        "{key} at {origin}: placeholders refer to each other in a loop ({chain}); break the cycle"
    )]
    CircularPlaceholder {
        /// The key whose value starts the loop.
        key: String,
        /// Where it was written.
        origin: Origin,
        /// The names in the loop, `a -> b -> a`.
        chain: String,
    },
    /// A key Spring Boot removed, which would otherwise be silently ignored.
    #[error(
        "{key} at {origin} is no longer supported (Spring Boot 2.4+); write {replacement} instead"
    )]
    ReplacedKey {
        /// The key as written, e.g. `spring.profiles`.
        key: String,
        /// Where it was written.
        origin: Origin,
        /// The key to use instead.
        replacement: String,
    },
    /// A TLS or SASL setting that cannot work: a missing or unreadable store, a JKS file, a
    /// malformed `sasl.jaas.config`, SASL without credentials. The message never contains a
    /// secret.
    #[error("{key} at {origin}: {message}")]
    Security {
        /// The key at fault, or `security.protocol` when a required key is missing.
        key: String,
        /// Where it was written.
        origin: Origin,
        /// What is wrong and what to write.
        message: String,
    },
    /// A manual ack mode while the consumer commits on its own: Spring refuses to start.
    #[error(
        "spring.kafka.listener.ack-mode is {ack_mode} at {ack_mode_origin}, but spring.kafka.consumer.enable-auto-commit is true at {auto_commit_origin}: manual acknowledgment needs auto-commit off; set enable-auto-commit to false (or remove it) or use another ack mode"
    )]
    ManualAckWithAutoCommit {
        /// The manual mode configured.
        ack_mode: String,
        /// Where the ack mode was written.
        ack_mode_origin: Origin,
        /// Where enable-auto-commit was written.
        auto_commit_origin: Origin,
    },
}
