//! Record values as handler arguments: the [`FromPayload`] codecs (`Json<T>`, `String`,
//! `Bytes`, `Vec<u8>`) and tombstone-aware `Option<T>`.
//!
//! Every codec is also usable for keys ([`Key<T>`](super::Key)) and header values
//! ([`FromHeader`](super::FromHeader)).

use super::{BoxError, DeserializationError, ExtractError, FromRecord, RecordContext, RecordPart};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use std::ops::{Deref, DerefMut};

/// Decodes the non-null bytes of a value, key or header into `Self`.
///
/// Implement it for your own codec (Avro, Protobuf, …) and the type becomes usable as a
/// payload, in `Key<T>`, in `Option<T>`, in `#[header]` parameters and in batches.
///
/// ```
/// use kafka_listener::extract::{BoxError, FromPayload};
/// use bytes::Bytes;
///
/// /// A big-endian u64 counter value.
/// struct Count(u64);
///
/// impl FromPayload for Count {
///     fn from_payload(bytes: &Bytes) -> Result<Self, BoxError> {
///         let array: [u8; 8] = bytes.as_ref().try_into()?;
///         Ok(Count(u64::from_be_bytes(array)))
///     }
/// }
/// assert_eq!(Count::from_payload(&Bytes::from_static(&[0, 0, 0, 0, 0, 0, 1, 0])).unwrap().0, 256);
/// assert!(Count::from_payload(&Bytes::from_static(b"short")).is_err());
/// ```
pub trait FromPayload: Sized {
    /// Decodes `bytes`; the error becomes the cause of a [`DeserializationError`].
    fn from_payload(bytes: &Bytes) -> Result<Self, BoxError>;
}

/// A JSON payload deserialized with serde (Spring's `JsonDeserializer`). Dereferences to `T`.
///
/// ```
/// use kafka_listener::extract::FromPayload;
/// use kafka_listener::Json;
/// use bytes::Bytes;
///
/// #[derive(serde::Deserialize)]
/// struct Order { id: u64 }
///
/// let Json(order) = Json::<Order>::from_payload(&Bytes::from_static(br#"{"id":7}"#)).unwrap();
/// assert_eq!(order.id, 7);
/// assert!(Json::<Order>::from_payload(&Bytes::from_static(b"not json")).is_err());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    /// The deserialized value.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for Json<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: DeserializeOwned> FromPayload for Json<T> {
    fn from_payload(bytes: &Bytes) -> Result<Self, BoxError> {
        Ok(Json(serde_json::from_slice(bytes)?))
    }
}

impl FromPayload for String {
    fn from_payload(bytes: &Bytes) -> Result<Self, BoxError> {
        Ok(std::str::from_utf8(bytes)?.to_owned())
    }
}

impl FromPayload for Bytes {
    fn from_payload(bytes: &Bytes) -> Result<Self, BoxError> {
        Ok(bytes.clone())
    }
}

impl FromPayload for Vec<u8> {
    fn from_payload(bytes: &Bytes) -> Result<Self, BoxError> {
        Ok(bytes.to_vec())
    }
}

/// Decodes one part of the record in `ctx`, turning a codec failure into a
/// [`DeserializationError`] (as an [`ExtractError`]) that keeps the raw bytes and the record's position.
pub(crate) fn decode<T: FromPayload>(
    ctx: &RecordContext,
    part: RecordPart,
    raw: &Bytes,
) -> Result<T, ExtractError> {
    T::from_payload(raw).map_err(|source| {
        let record = ctx.record();
        DeserializationError {
            topic: record.topic.clone(),
            partition: record.partition,
            offset: record.offset,
            part,
            target: std::any::type_name::<T>(),
            raw: raw.clone(),
            source,
        }
        .into()
    })
}

/// The record value decoded as `T`; a tombstone is an error (take `Option<T>` to accept one).
impl<T: FromPayload> FromRecord for T {
    type Rejection = ExtractError;
    fn from_record(ctx: &RecordContext) -> Result<Self, ExtractError> {
        Option::<T>::from_record(ctx)?.ok_or_else(|| {
            let record = ctx.record();
            ExtractError::NullValue {
                topic: record.topic.clone(),
                partition: record.partition,
                offset: record.offset,
                target: std::any::type_name::<T>(),
            }
        })
    }
}

/// The record value decoded as `T`, or `None` for a tombstone (null value).
impl<T: FromPayload> FromRecord for Option<T> {
    type Rejection = ExtractError;
    fn from_record(ctx: &RecordContext) -> Result<Self, ExtractError> {
        match &ctx.record().value {
            None => Ok(None),
            Some(raw) => Ok(Some(decode(ctx, RecordPart::Value, raw)?)),
        }
    }
}
