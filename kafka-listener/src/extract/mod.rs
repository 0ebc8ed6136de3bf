//! Handler arguments: the [`FromRecord`] and [`FromBatch`] extractor traits and their
//! implementations (axum's `FromRequestParts` idea).
//!
//! A `#[kafka_listener]` handler is a plain `async fn`; each of its parameters is a type that
//! implements [`FromRecord`] (record listeners) or [`FromBatch`] (batch listeners), and the
//! adapter the macro generates extracts each one before calling the function. Extraction reads
//! the in-memory record, so it is synchronous. A failure is an [`ExtractError`] value — for a
//! payload that does not deserialize, a [`DeserializationError`] with the raw bytes — which the
//! listener container routes to the error handler; it never panics.
//!
//! | parameter type | gets |
//! |---|---|
//! | `Json<T>`, `String`, `Bytes`, `Vec<u8>`, any [`FromPayload`] | the value (tombstone → error) |
//! | `Option<Json<T>>`, `Option<String>`, … | the value, `None` for a tombstone |
//! | `Key<T>` / `Option<Key<T>>` | the key (null key → error / `None`) |
//! | `Headers` | all headers, ordered, duplicates and nulls kept |
//! | `#[header("name")] T` / `Option<T>` | one header's last value ([`FromHeader`]) |
//! | `RecordMeta` | topic, partition, offset, timestamp, timestamp type |
//! | `ConsumerRecord<K, V>` | the whole record, key and value decoded |
//! | `Acknowledgment` | manual acknowledgment of this record |
//! | `State<T>` | application state registered on the app |
//! | `ListenerInfo` | the listener's id and group |
//! | batch: `Vec<T>`, `Batch<T>`, `BatchAcknowledgment`, `State<T>`, `ListenerInfo` | |

mod batch;
mod context;
mod error;
mod headers;
mod key;
mod meta;
mod payload;
mod state;

#[cfg(test)]
mod tests;

pub use batch::{Batch, BatchEntry};
pub use context::{BatchContext, ListenerInfo, RecordContext};
pub use error::{BoxError, DeserializationError, ExtractError, RecordPart};
pub use headers::FromHeader;
pub use key::Key;
pub use meta::RecordMeta;
pub use payload::{FromPayload, Json};
pub use state::{AppState, RequiredState, State};

/// A type a record listener's parameter can have: it is extracted from the delivered record.
///
/// Implement it for your own extractors:
///
/// ```
/// use kafka_listener::extract::{ExtractError, FromRecord, RecordContext};
/// use kafka_listener::kafka_listener;
///
/// /// The tenant a record belongs to, from its `tenant` header.
/// struct Tenant(String);
///
/// impl FromRecord for Tenant {
///     type Rejection = ExtractError;
///     fn from_record(ctx: &RecordContext) -> Result<Self, ExtractError> {
///         let value = ctx.record().headers.last_value("tenant")
///             .ok_or_else(|| ExtractError::custom("record has no tenant header"))?;
///         let name = std::str::from_utf8(&value).map_err(ExtractError::custom)?;
///         Ok(Tenant(name.to_owned()))
///     }
/// }
///
/// #[kafka_listener(topics = "invoices", group_id = "billing")]
/// async fn on_invoice(tenant: Tenant, invoice: String) {
///     println!("{}: {invoice}", tenant.0);
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be extracted from a record",
    label = "not a record extractor",
    note = "record listener parameters must implement `FromRecord`: `Json<T>`, `String`, `Bytes`, \
            `Vec<u8>`, `Key<T>`, `Headers`, `RecordMeta`, `ConsumerRecord<K, V>`, \
            `Acknowledgment`, `State<T>`, `Option<…>` of a payload, or your own `FromRecord` type"
)]
pub trait FromRecord: Sized {
    /// Why extraction can fail; [`std::convert::Infallible`] when it cannot.
    type Rejection: Into<ExtractError>;
    /// Extracts the argument from the record in `ctx`.
    fn from_record(ctx: &RecordContext) -> Result<Self, Self::Rejection>;

    /// The application state the parameter needs, checked when the app starts: a listener
    /// whose [`State<T>`](State) was never registered does not start. `None` for everything
    /// else (the default).
    fn required_state() -> Option<RequiredState> {
        None
    }
}

/// A type a batch listener's parameter can have: it is extracted from the delivered batch.
///
/// ```
/// use kafka_listener::extract::{BatchContext, FromBatch};
///
/// /// How many records the batch holds.
/// struct BatchSize(usize);
///
/// impl FromBatch for BatchSize {
///     type Rejection = std::convert::Infallible;
///     fn from_batch(ctx: &BatchContext) -> Result<Self, Self::Rejection> {
///         Ok(BatchSize(ctx.records().len()))
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be extracted from a batch",
    label = "not a batch extractor",
    note = "batch listener parameters must implement `FromBatch`: `Vec<T>` or `Batch<T>` of a \
            record extractor (`Vec<Json<T>>`, `Vec<String>`, `Vec<ConsumerRecord<K, V>>`, …), \
            `BatchAcknowledgment`, `State<T>`, or your own `FromBatch` type"
)]
pub trait FromBatch: Sized {
    /// Why extraction can fail; [`std::convert::Infallible`] when it cannot.
    type Rejection: Into<ExtractError>;
    /// Extracts the argument from the batch in `ctx`.
    fn from_batch(ctx: &BatchContext) -> Result<Self, Self::Rejection>;

    /// The application state the parameter needs, checked when the app starts; see
    /// [`FromRecord::required_state`].
    fn required_state() -> Option<RequiredState> {
        None
    }
}
