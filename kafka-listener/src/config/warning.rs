//! Warnings about keys under `spring.kafka` that nothing reads.

use std::fmt;

use super::origin::Origin;

/// A key under `spring.kafka` that nothing binds: a typo, or a Spring Boot key this crate does
/// not act on. Loading logs each one with `tracing::warn!` and keeps them for inspection.
///
/// ```
/// use kafka_listener::config::KafkaProperties;
///
/// let props = KafkaProperties::from_yaml_str("spring.kafka.listener.ack-mod: RECORD").unwrap();
/// let warning = &props.warnings()[0];
/// assert_eq!(warning.suggestion.as_deref(), Some("spring.kafka.listener.ack-mode"));
/// assert!(warning.to_string().contains("did you mean spring.kafka.listener.ack-mode?"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The key as written.
    pub key: String,
    /// Where it was written.
    pub origin: Origin,
    /// The known key it most resembles, if any.
    pub suggestion: Option<String>,
    /// A real Spring Boot key (e.g. under `spring.kafka.streams`) that this crate does not use yet.
    pub unsupported: bool,
    /// Why a known key has no effect here (e.g. `sasl.*` with `security.protocol: PLAINTEXT`).
    pub ignored_because: Option<String>,
}

impl ConfigWarning {
    /// A known key that has no effect for `reason`.
    pub(crate) fn ignored(key: String, origin: Origin, reason: String) -> Self {
        Self {
            key,
            origin,
            suggestion: None,
            unsupported: false,
            ignored_because: Some(reason),
        }
    }
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(reason) = &self.ignored_because {
            return write!(f, "{} at {} has no effect: {reason}", self.key, self.origin);
        }
        if self.unsupported {
            return write!(
                f,
                "{} at {} is a Spring Boot key this crate does not support yet; it has no effect",
                self.key, self.origin
            );
        }
        write!(
            f,
            "unknown key {} at {}; it has no effect",
            self.key, self.origin
        )?;
        match &self.suggestion {
            Some(suggestion) => write!(f, "; did you mean {suggestion}?"),
            None => Ok(()),
        }
    }
}
