//! The crate-level error type returned by the application-facing API.

/// Everything that can stop an application from starting or running.
///
/// Each layer (configuration, group client, broker I/O) has its own error enum; this one wraps
/// them so `main` can use `?` on all of them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration could not be loaded or is invalid.
    #[error("configuration: {0}")]
    Config(String),
    /// Talking to Kafka failed.
    #[error("kafka: {0}")]
    Kafka(String),
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
