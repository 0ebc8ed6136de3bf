//! The seam between a listener's generated adapter and the listener container: the adapter's
//! function types and the [`HandlerError`] value a failed delivery becomes.

use crate::extract::{BatchContext, BoxError, ExtractError, RecordContext};
use std::future::Future;
use std::pin::Pin;

/// The future a listener adapter returns: extract the arguments, run the handler.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<(), HandlerError>> + Send + 'static>>;

/// A record listener's adapter: one delivered record in, the handler's outcome out.
pub type RecordHandler = fn(RecordContext) -> HandlerFuture;

/// A batch listener's adapter: one delivered batch in, the handler's outcome out.
pub type BatchHandler = fn(BatchContext) -> HandlerFuture;

/// How the container invokes a listener: per record or per batch (`batch = true`).
#[derive(Debug, Clone, Copy)]
pub enum ListenerHandler {
    /// Called once per record.
    Record(RecordHandler),
    /// Called once per poll with all its records.
    Batch(BatchHandler),
}

/// Why a delivery failed: an argument could not be extracted, or the handler returned `Err`.
///
/// Both are values the container hands to the error handler (retry, recover, dead-letter);
/// neither panics.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandlerError {
    /// The argument `argument` could not be extracted from the record or batch.
    #[error("cannot extract the handler argument `{argument}`: {source}")]
    Extract {
        /// The parameter's name in the handler (or `#n` for a pattern).
        argument: &'static str,
        /// Why extraction failed.
        #[source]
        source: ExtractError,
    },
    /// The handler returned `Err(error)`.
    #[error("the handler failed: {source}")]
    Failed {
        /// The Rust type of the handler's error (`std::any::type_name`), the counterpart of the
        /// exception class Spring writes into dead-letter headers.
        error_type: &'static str,
        /// The handler's error; downcast it to classify retryable failures.
        #[source]
        source: BoxError,
    },
}

impl HandlerError {
    /// The handler's own error, when it returned `Err`.
    ///
    /// ```
    /// use kafka_listener::registry::HandlerError;
    /// use kafka_listener::registry::IntoHandlerResult;
    ///
    /// let failed: Result<(), std::io::Error> = Err(std::io::Error::other("disk full"));
    /// let err = failed.into_handler_result().unwrap_err();
    /// let io = err.handler_error().unwrap().downcast_ref::<std::io::Error>().unwrap();
    /// assert_eq!(io.to_string(), "disk full");
    /// ```
    pub fn handler_error(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        match self {
            HandlerError::Failed { source, .. } => Some(source.as_ref()),
            HandlerError::Extract { .. } => None,
        }
    }

    /// The extraction failure, when an argument could not be extracted.
    pub fn extract_error(&self) -> Option<&ExtractError> {
        match self {
            HandlerError::Extract { source, .. } => Some(source),
            HandlerError::Failed { .. } => None,
        }
    }

    /// `true` when redelivering the same record can succeed. Extraction failures
    /// (deserialization, tombstones, missing headers) fail the same way every time, so Spring's
    /// `DefaultErrorHandler` does not retry them; the handler's own errors are retried unless
    /// marked [`Fatal`](crate::error::Fatal).
    ///
    /// ```
    /// use kafka_listener::error::Fatal;
    /// use kafka_listener::registry::IntoHandlerResult;
    ///
    /// let transient: Result<(), std::io::Error> = Err(std::io::Error::other("timeout"));
    /// assert!(transient.into_handler_result().unwrap_err().is_retryable());
    /// let fatal: Result<(), Fatal> = Err(Fatal::new("unknown sku"));
    /// assert!(!fatal.into_handler_result().unwrap_err().is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        match self {
            HandlerError::Failed { source, .. } => !crate::error::is_fatal(source.as_ref()),
            HandlerError::Extract { .. } => false,
        }
    }
}

/// What a listener function may return: `()` or `Result<T, E>` whose `E` converts into a boxed
/// error (`E: std::error::Error + Send + Sync + 'static`, `String`, `&str`, `anyhow::Error`, …).
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a listener return type",
    label = "return `()` or `Result<T, E>`",
    note = "the error type `E` must convert into `Box<dyn std::error::Error + Send + Sync>`"
)]
pub trait IntoHandlerResult {
    /// The handler's outcome as the container sees it.
    fn into_handler_result(self) -> Result<(), HandlerError>;
}

impl IntoHandlerResult for () {
    fn into_handler_result(self) -> Result<(), HandlerError> {
        Ok(())
    }
}

impl<T, E: Into<BoxError>> IntoHandlerResult for Result<T, E> {
    fn into_handler_result(self) -> Result<(), HandlerError> {
        self.map(drop).map_err(|e| HandlerError::Failed {
            error_type: std::any::type_name::<E>(),
            source: e.into(),
        })
    }
}
