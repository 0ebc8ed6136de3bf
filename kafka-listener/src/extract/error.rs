//! What goes wrong while extracting handler arguments. Every failure is a value the adapter
//! hands to the caller (and later to the error handler), never a panic.

use bytes::Bytes;
use std::fmt;

/// A boxed error from a codec or a user's extractor.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Which part of a record failed to deserialize.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RecordPart {
    /// The record value (payload).
    Value,
    /// The record key.
    Key,
    /// The value of the header with this name.
    Header(String),
}

impl fmt::Display for RecordPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecordPart::Value => f.write_str("value"),
            RecordPart::Key => f.write_str("key"),
            RecordPart::Header(name) => write!(f, "header `{name}`"),
        }
    }
}

/// A key, value or header that could not be turned into the type the handler asked for.
///
/// It keeps the raw bytes so a recoverer can publish them unchanged to a dead-letter topic, as
/// Spring's `ErrorHandlingDeserializer` does. Deserialization failures are not retryable: the
/// same bytes will fail the same way.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot deserialize the {part} of record {topic}-{partition}@{offset} as `{target}`: {source}"
)]
pub struct DeserializationError {
    /// Topic of the record.
    pub topic: String,
    /// Partition of the record.
    pub partition: i32,
    /// Offset of the record.
    pub offset: i64,
    /// The part that failed.
    pub part: RecordPart,
    /// The Rust type the handler asked for.
    pub target: &'static str,
    /// The bytes as received.
    pub raw: Bytes,
    /// The codec's error.
    #[source]
    pub source: BoxError,
}

/// Why a handler argument could not be extracted from a record or batch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractError {
    /// The key, value or a header did not deserialize.
    #[error(transparent)]
    Deserialization(Box<DeserializationError>),
    /// The record is a tombstone (null value) but the handler's payload type cannot be empty.
    #[error(
        "record {topic}-{partition}@{offset} has a null value (tombstone) but the handler takes \
         `{target}`: take `Option<{target}>` to receive tombstones"
    )]
    NullValue {
        /// Topic of the record.
        topic: String,
        /// Partition of the record.
        partition: i32,
        /// Offset of the record.
        offset: i64,
        /// The payload type the handler asked for.
        target: &'static str,
    },
    /// The record has a null key but the handler's `Key<T>` cannot be empty.
    #[error(
        "record {topic}-{partition}@{offset} has a null key but the handler takes `Key<{target}>`: \
         take `Option<Key<{target}>>` to accept records without a key"
    )]
    NullKey {
        /// Topic of the record.
        topic: String,
        /// Partition of the record.
        partition: i32,
        /// Offset of the record.
        offset: i64,
        /// The key type the handler asked for.
        target: &'static str,
    },
    /// A required header is absent.
    #[error("the record has no header `{name}`: take `Option<…>` if the header is optional")]
    MissingHeader {
        /// The header's name.
        name: String,
    },
    /// A required header is present with a null value.
    #[error(
        "the record's header `{name}` has a null value: take `Option<…>` to accept null headers"
    )]
    NullHeader {
        /// The header's name.
        name: String,
    },
    /// The handler asks for `State<T>` but the application holds no value of type `T`.
    #[error("no application state of type `{type_name}`: register one with the app's `state(…)`")]
    MissingState {
        /// The type asked for.
        type_name: &'static str,
    },
    /// One record of a batch failed to extract (`Vec<T>` fails the whole batch on the first bad
    /// record; take `Batch<T>` to handle bad records yourself).
    #[error("record #{index} of the batch: {source}")]
    InBatch {
        /// Position of the record within the batch.
        index: usize,
        /// Why it failed.
        #[source]
        source: Box<ExtractError>,
    },
    /// A user-defined extractor rejected the record.
    #[error(transparent)]
    Custom(BoxError),
    /// The record stands in for a record batch the fetcher could not read (CRC mismatch,
    /// malformed records). Its value is the batch's raw bytes, so a dead-letter recoverer keeps
    /// them; its offset is the batch's last, so consumption moves past the batch.
    #[error("{reason}; the batch's raw bytes are the record's value")]
    CorruptBatch {
        /// What was wrong with the batch.
        reason: String,
    },
}

impl ExtractError {
    /// Wraps the rejection of a user-defined extractor.
    ///
    /// ```
    /// use kafka_listener::extract::ExtractError;
    /// let err = ExtractError::custom("tenant header is not a UUID");
    /// assert_eq!(err.to_string(), "tenant header is not a UUID");
    /// ```
    pub fn custom(error: impl Into<BoxError>) -> Self {
        ExtractError::Custom(error.into())
    }

    /// The deserialization failure behind this error, if it is one (also inside a batch).
    pub fn as_deserialization(&self) -> Option<&DeserializationError> {
        match self {
            ExtractError::Deserialization(e) => Some(e),
            ExtractError::InBatch { source, .. } => source.as_deserialization(),
            _ => None,
        }
    }
}

impl From<DeserializationError> for ExtractError {
    fn from(error: DeserializationError) -> Self {
        ExtractError::Deserialization(Box::new(error))
    }
}

impl From<std::convert::Infallible> for ExtractError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}
