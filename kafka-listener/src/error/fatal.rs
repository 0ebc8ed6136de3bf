//! Marking a handler's error as fatal: it would fail the same way on every delivery, so the
//! error handler skips the retries (blocking or retry topics) and runs the recoverer at once.
//!
//! Every handler error is retryable unless marked; deserialization and other extraction
//! failures are fatal without marking, as in Spring's `DefaultErrorHandler`.

use std::fmt;

use crate::extract::BoxError;

/// A handler error that must not be retried: the recoverer (log, dead-letter topic) runs after
/// the first failed delivery.
///
/// Wrap the error where it arises, with [`Fatal::new`] or the [`FatalExt::fatal`] shorthand on
/// a `Result`; the wrapper is found anywhere in the error's `source()` chain, so an error enum
/// may also carry it as a variant's source (`#[error("invalid order")] Invalid(#[source] Fatal)`;
/// not `#[error(transparent)]`, which hides the wrapper from the chain). The dead-letter
/// headers name the wrapped error's type, not `Fatal`.
///
/// ```
/// use kafka_listener::error::{Fatal, FatalExt};
/// use kafka_listener::{kafka_listener, Json};
///
/// #[derive(serde::Deserialize)]
/// struct Order { sku: String }
///
/// #[derive(Debug, thiserror::Error)]
/// #[error("unknown sku {0}")]
/// struct UnknownSku(String);
///
/// fn price(sku: &str) -> Result<u64, UnknownSku> {
///     Err(UnknownSku(sku.to_owned()))
/// }
///
/// #[kafka_listener(topics = "orders", group_id = "billing")]
/// async fn on_order(order: Json<Order>) -> Result<(), Fatal> {
///     // No retry can make an unknown SKU known: straight to the recoverer.
///     let _price = price(&order.sku).fatal()?;
///     Ok(())
/// }
///
/// // In a handler returning a boxed error, `Fatal::new` marks one failure among others.
/// fn check(quantity: i64) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
///     if quantity < 0 {
///         return Err(Fatal::new("negative quantity").into());
///     }
///     Ok(())
/// }
/// assert!(kafka_listener::error::is_fatal(check(-1).unwrap_err().as_ref()));
/// ```
pub struct Fatal {
    error: BoxError,
    type_name: &'static str,
}

impl Fatal {
    /// Marks `error` as fatal, remembering its type for the dead-letter headers.
    pub fn new<E: Into<BoxError>>(error: E) -> Self {
        Self {
            error: error.into(),
            type_name: std::any::type_name::<E>(),
        }
    }

    /// The wrapped error's Rust type (`std::any::type_name`).
    pub fn type_name(&self) -> &'static str {
        self.type_name
    }

    /// The wrapped error.
    pub fn inner(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self.error.as_ref()
    }

    /// Unwraps the error.
    pub fn into_inner(self) -> BoxError {
        self.error
    }
}

impl fmt::Debug for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Fatal").field(&self.error).finish()
    }
}

impl fmt::Display for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Transparent: the message is the wrapped error's, as users wrote it.
        fmt::Display::fmt(&self.error, f)
    }
}

impl std::error::Error for Fatal {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// `.fatal()` on a `Result`: marks its error [`Fatal`].
pub trait FatalExt<T> {
    /// The same result with the error wrapped in [`Fatal`].
    fn fatal(self) -> Result<T, Fatal>;
}

impl<T, E: Into<BoxError>> FatalExt<T> for Result<T, E> {
    fn fatal(self) -> Result<T, Fatal> {
        self.map_err(Fatal::new)
    }
}

/// `true` if `error` or any error in its `source()` chain is a [`Fatal`].
pub fn is_fatal(error: &(dyn std::error::Error + 'static)) -> bool {
    find_fatal(error).is_some()
}

/// The [`Fatal`] marker in `error`'s chain, if any.
fn find_fatal<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Fatal> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(fatal) = error.downcast_ref::<Fatal>() {
            return Some(fatal);
        }
        current = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("row missing")]
    struct RowMissing;

    #[derive(Debug, thiserror::Error)]
    enum OrderError {
        #[error("database: {0}")]
        Database(#[source] RowMissing),
        #[error("invalid order")]
        Invalid(#[source] Fatal),
    }

    #[test]
    fn a_fatal_error_is_transparent_and_remembers_the_wrapped_type() {
        let fatal = Fatal::new(RowMissing);
        assert_eq!(fatal.to_string(), "row missing");
        assert!(fatal.type_name().ends_with("RowMissing"));
        assert!(is_fatal(&fatal));
    }

    #[test]
    fn the_marker_is_found_inside_an_error_enum_and_absent_errors_stay_retryable() {
        let marked = OrderError::Invalid(Fatal::new("negative quantity"));
        assert!(is_fatal(&marked));
        assert!(!is_fatal(&OrderError::Database(RowMissing)));
        let boxed: BoxError = Box::new(marked);
        assert!(is_fatal(boxed.as_ref()));
    }

    #[test]
    fn fatal_ext_wraps_only_the_error() {
        let ok: Result<u8, RowMissing> = Ok(1);
        assert_eq!(ok.fatal().unwrap(), 1);
        let failed: Result<u8, RowMissing> = Err(RowMissing);
        let error = failed.fatal().unwrap_err();
        assert!(error.inner().is::<RowMissing>());
    }
}
