//! What a key or value becomes on the wire: the Rust side of Kafka's serializers.

use bytes::Bytes;

use crate::extract::Json;

/// A key or value that can be produced. The encodings match Kafka's Java serializers, so Java
/// consumers read what we write: strings as UTF-8 (`StringSerializer`), byte arrays as they are
/// (`ByteArraySerializer`), `i32`/`i64` big-endian (`IntegerSerializer`/`LongSerializer`),
/// [`Json`](crate::Json) as Jackson would write it, `None` as Kafka's null.
///
/// ```
/// use kafka_listener::producer::ToPayload;
/// use kafka_listener::Json;
/// assert_eq!("a".to_payload().unwrap().as_deref(), Some(&b"a"[..]));
/// assert_eq!(7i64.to_payload().unwrap().unwrap().len(), 8);
/// assert_eq!(None::<String>.to_payload().unwrap(), None);
/// let json = Json(serde_json::json!({"id": 1})).to_payload().unwrap().unwrap();
/// assert_eq!(&json[..], br#"{"id":1}"#);
/// ```
pub trait ToPayload {
    /// The serialized bytes, or `None` for Kafka's null.
    fn to_payload(&self) -> Result<Option<Bytes>, serde_json::Error>;
}

/// [`Json`] is the same type handlers take: it deserializes on the way in and serializes on
/// the way out, like Spring's `JsonDeserializer` / `JsonSerializer`.
impl<T: serde::Serialize> ToPayload for Json<T> {
    fn to_payload(&self) -> Result<Option<Bytes>, serde_json::Error> {
        serde_json::to_vec(&self.0).map(|v| Some(Bytes::from(v)))
    }
}

impl ToPayload for str {
    fn to_payload(&self) -> Result<Option<Bytes>, serde_json::Error> {
        Ok(Some(Bytes::copy_from_slice(self.as_bytes())))
    }
}

impl ToPayload for String {
    fn to_payload(&self) -> Result<Option<Bytes>, serde_json::Error> {
        self.as_str().to_payload()
    }
}

impl ToPayload for [u8] {
    fn to_payload(&self) -> Result<Option<Bytes>, serde_json::Error> {
        Ok(Some(Bytes::copy_from_slice(self)))
    }
}

impl<const N: usize> ToPayload for [u8; N] {
    fn to_payload(&self) -> Result<Option<Bytes>, serde_json::Error> {
        self.as_slice().to_payload()
    }
}

impl ToPayload for Vec<u8> {
    fn to_payload(&self) -> Result<Option<Bytes>, serde_json::Error> {
        self.as_slice().to_payload()
    }
}

impl ToPayload for Bytes {
    fn to_payload(&self) -> Result<Option<Bytes>, serde_json::Error> {
        Ok(Some(self.clone()))
    }
}

impl ToPayload for i32 {
    fn to_payload(&self) -> Result<Option<Bytes>, serde_json::Error> {
        Ok(Some(Bytes::copy_from_slice(&self.to_be_bytes())))
    }
}

impl ToPayload for i64 {
    fn to_payload(&self) -> Result<Option<Bytes>, serde_json::Error> {
        Ok(Some(Bytes::copy_from_slice(&self.to_be_bytes())))
    }
}

impl<T: ToPayload> ToPayload for Option<T> {
    fn to_payload(&self) -> Result<Option<Bytes>, serde_json::Error> {
        match self {
            Some(inner) => inner.to_payload(),
            None => Ok(None),
        }
    }
}

impl<T: ToPayload + ?Sized> ToPayload for &T {
    fn to_payload(&self) -> Result<Option<Bytes>, serde_json::Error> {
        (**self).to_payload()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_big_endian_like_javas_serializers() {
        assert_eq!(
            258i32.to_payload().unwrap().as_deref(),
            Some(&[0, 0, 1, 2][..])
        );
        assert_eq!(
            (-1i64).to_payload().unwrap().as_deref(),
            Some(&[0xff; 8][..])
        );
    }

    #[test]
    fn byte_payloads_are_passed_through_unchanged() {
        let raw = vec![0u8, 159, 146, 150];
        assert_eq!(raw.to_payload().unwrap().as_deref(), Some(&raw[..]));
        assert_eq!(
            Bytes::from_static(b"x").to_payload().unwrap().as_deref(),
            Some(&b"x"[..])
        );
    }
}
