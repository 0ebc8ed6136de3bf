//! The configured `key-serializer` / `value-serializer` applied to any `serde::Serialize` value,
//! with the byte layouts of Kafka's Java serializers, so a Java consumer configured with the
//! matching deserializer reads what we write.

use bytes::Bytes;
use serde_json::Value;

use crate::config::Serializer;

/// Why a value does not fit the configured serializer.
#[derive(Debug, thiserror::Error)]
#[error("{serializer:?}Serializer cannot write {found}: {hint}")]
pub struct SerializerMismatch {
    /// The configured serializer.
    pub serializer: Serializer,
    /// What the value was (`a JSON object`, `the number 3.5`, …).
    pub found: String,
    /// What to pass instead, or which serializer to configure.
    pub hint: &'static str,
}

/// Encodes `value` as `serializer` would in Java; `None` is Kafka's null.
pub(crate) fn encode<T: serde::Serialize + ?Sized>(
    serializer: Serializer,
    value: &T,
) -> Result<Option<Bytes>, EncodeError> {
    if serializer == Serializer::Json {
        // Spring's JsonSerializer returns Kafka's null for a null object (serde's None / unit);
        // straight to bytes keeps the struct's field order, as Jackson does.
        let json = serde_json::to_vec(value)?;
        return Ok((json != b"null").then(|| Bytes::from(json)));
    }
    let json = serde_json::to_value(value)?;
    let mismatch = |hint| {
        EncodeError::Mismatch(SerializerMismatch {
            serializer,
            found: describe(&json),
            hint,
        })
    };
    if json.is_null() {
        return Ok(None);
    }
    let bytes = match serializer {
        Serializer::Json => unreachable!("handled above"),
        Serializer::Void => return Err(mismatch("VoidSerializer only writes null; pass None")),
        Serializer::String | Serializer::Uuid => match &json {
            Value::String(text) => Bytes::copy_from_slice(text.as_bytes()),
            _ => return Err(mismatch("pass a string, or configure JsonSerializer")),
        },
        Serializer::ByteArray => match &json {
            Value::String(text) => Bytes::copy_from_slice(text.as_bytes()),
            Value::Array(items) => items
                .iter()
                .map(|item| item.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect::<Option<Vec<u8>>>()
                .map(Bytes::from)
                .ok_or_else(|| mismatch("pass bytes (Vec<u8>, &[u8]) or a string"))?,
            _ => return Err(mismatch("pass bytes (Vec<u8>, &[u8]) or a string")),
        },
        Serializer::Long => integer(&json)
            .map(|n| Bytes::copy_from_slice(&n.to_be_bytes()))
            .ok_or_else(|| mismatch("pass an integer that fits in an i64"))?,
        Serializer::Integer => integer(&json)
            .and_then(|n| i32::try_from(n).ok())
            .map(|n| Bytes::copy_from_slice(&n.to_be_bytes()))
            .ok_or_else(|| mismatch("pass an integer that fits in an i32"))?,
        Serializer::Short => integer(&json)
            .and_then(|n| i16::try_from(n).ok())
            .map(|n| Bytes::copy_from_slice(&n.to_be_bytes()))
            .ok_or_else(|| mismatch("pass an integer that fits in an i16"))?,
        Serializer::Double => json
            .as_f64()
            .map(|n| Bytes::copy_from_slice(&n.to_be_bytes()))
            .ok_or_else(|| mismatch("pass a number"))?,
        Serializer::Float => json
            .as_f64()
            .map(|n| Bytes::copy_from_slice(&(n as f32).to_be_bytes()))
            .ok_or_else(|| mismatch("pass a number"))?,
    };
    Ok(Some(bytes))
}

fn integer(json: &Value) -> Option<i64> {
    json.as_i64()
}

fn describe(json: &Value) -> String {
    match json {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(_) => "a string".to_owned(),
        Value::Array(_) => "a JSON array".to_owned(),
        Value::Object(_) => "a JSON object".to_owned(),
    }
}

/// Why [`encode`] failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EncodeError {
    #[error(transparent)]
    Serde(#[from] serde_json::Error),
    #[error(transparent)]
    Mismatch(#[from] SerializerMismatch),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(serializer: Serializer, value: impl serde::Serialize) -> Vec<u8> {
        encode(serializer, &value).unwrap().unwrap().to_vec()
    }

    #[test]
    fn each_serializer_writes_javas_byte_layout() {
        assert_eq!(bytes(Serializer::String, "é"), "é".as_bytes());
        assert_eq!(bytes(Serializer::Long, 1i64), [0, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(bytes(Serializer::Integer, -2), [0xff, 0xff, 0xff, 0xfe]);
        assert_eq!(bytes(Serializer::Short, 258), [1, 2]);
        assert_eq!(bytes(Serializer::Double, 1.5), 1.5f64.to_be_bytes());
        assert_eq!(bytes(Serializer::Float, 1.5), 1.5f32.to_be_bytes());
        assert_eq!(bytes(Serializer::ByteArray, vec![0u8, 255]), [0, 255]);
        assert_eq!(
            bytes(
                Serializer::Json,
                serde_json::json!({"id": 1, "tags": ["a"]})
            ),
            br#"{"id":1,"tags":["a"]}"#
        );
        assert_eq!(bytes(Serializer::Json, "text"), br#""text""#);
    }

    #[test]
    fn none_is_kafkas_null_for_every_serializer() {
        for serializer in [
            Serializer::String,
            Serializer::Json,
            Serializer::Long,
            Serializer::Void,
        ] {
            assert_eq!(
                encode(serializer, &None::<String>).unwrap(),
                None,
                "{serializer:?}"
            );
        }
    }

    #[test]
    fn a_value_the_serializer_cannot_write_is_an_error_naming_both() {
        let err = encode(Serializer::String, &serde_json::json!({"a": 1})).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("StringSerializer"), "{message}");
        assert!(message.contains("JSON object"), "{message}");
        assert!(message.contains("JsonSerializer"), "{message}");
        assert!(encode(Serializer::Integer, &(1i64 << 40)).is_err());
        assert!(encode(Serializer::Void, &"x").is_err());
    }
}
