//! Record headers as handler arguments: all of them ([`Headers`]), or one by name through a
//! `#[header("name")]` parameter attribute and the [`FromHeader`] trait.
//!
//! Why a parameter attribute: a header's name is a string, and stable Rust has no `&str` const
//! generics (`Header<"trace-id">` does not compile); a marker type per header name would make
//! users declare a type for every header. `#[header("trace-id")] trace: Option<String>` keeps the
//! name next to the parameter that receives it, as Spring's `@Header("trace-id")` does.

use super::payload::decode;
use super::{ExtractError, FromPayload, FromRecord, RecordContext, RecordPart};
use crate::Headers;

/// All headers of the record, in wire order, duplicates and null values included.
impl FromRecord for Headers {
    type Rejection = std::convert::Infallible;
    fn from_record(ctx: &RecordContext) -> Result<Self, Self::Rejection> {
        Ok(ctx.record().headers.clone())
    }
}

/// A type a `#[header("name")]` parameter can have.
///
/// Reads the *last* header with the name (Kafka's `lastHeader`, which Spring uses); take the
/// whole [`Headers`] to see duplicates.
///
/// * `T` for any [`FromPayload`] codec (`String`, `Bytes`, `Vec<u8>`, `Json<T>`, yours):
///   an absent or null header is an error value.
/// * `Option<T>`: `None` when the header is absent or null.
///
/// ```
/// use kafka_listener::kafka_listener;
///
/// #[kafka_listener(topics = "payments", group_id = "ledger")]
/// async fn on_payment(
///     payment: String,
///     #[header("trace-id")] trace_id: Option<String>,
///     #[header("tenant")] tenant: String,
/// ) {
///     println!("{tenant}: {payment} (trace {trace_id:?})");
/// }
/// ```
pub trait FromHeader: Sized {
    /// Reads the header called `name` from the record in `ctx`.
    fn from_header(ctx: &RecordContext, name: &str) -> Result<Self, ExtractError>;
}

impl<T: FromPayload> FromHeader for T {
    fn from_header(ctx: &RecordContext, name: &str) -> Result<Self, ExtractError> {
        let headers = &ctx.record().headers;
        match headers.get_all(name).last() {
            None => Err(ExtractError::MissingHeader { name: name.into() }),
            Some(header) => match &header.value {
                None => Err(ExtractError::NullHeader { name: name.into() }),
                Some(raw) => Ok(decode(ctx, RecordPart::Header(name.into()), raw)?),
            },
        }
    }
}

impl<T: FromPayload> FromHeader for Option<T> {
    fn from_header(ctx: &RecordContext, name: &str) -> Result<Self, ExtractError> {
        match T::from_header(ctx, name) {
            Ok(value) => Ok(Some(value)),
            Err(ExtractError::MissingHeader { .. } | ExtractError::NullHeader { .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }
}
