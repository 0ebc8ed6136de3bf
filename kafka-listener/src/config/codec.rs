//! Java (de)serializer class names → the codecs this crate implements.
//!
//! Spring Boot users name Kafka's and Spring's classes in `key-deserializer`,
//! `value-serializer`, …; we accept the fully-qualified names (and the bare class names) of the
//! ones we can honour and refuse any other, listing the supported names, because silently
//! decoding with the wrong codec would corrupt data.

use std::fmt;

/// How a consumer turns record bytes into a value.
///
/// ```
/// use kafka_listener::config::Deserializer;
///
/// let codec = Deserializer::from_class_name("org.apache.kafka.common.serialization.LongDeserializer");
/// assert_eq!(codec, Some(Deserializer::Long));
/// assert_eq!(Deserializer::from_class_name("com.example.Custom"), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Deserializer {
    /// UTF-8 text (`StringDeserializer`).
    String,
    /// The raw bytes (`ByteArrayDeserializer`, `BytesDeserializer`, `ByteBufferDeserializer`).
    ByteArray,
    /// 8-byte big-endian signed integer (`LongDeserializer`).
    Long,
    /// 4-byte big-endian signed integer (`IntegerDeserializer`).
    Integer,
    /// 2-byte big-endian signed integer (`ShortDeserializer`).
    Short,
    /// 8-byte IEEE 754 (`DoubleDeserializer`).
    Double,
    /// 4-byte IEEE 754 (`FloatDeserializer`).
    Float,
    /// A UUID in its text form (`UUIDDeserializer`).
    Uuid,
    /// Always null (`VoidDeserializer`).
    Void,
    /// JSON (Spring's `JsonDeserializer` / `JacksonJsonDeserializer`; trusted packages and type
    /// mappings are Java concerns and are ignored).
    Json,
    /// Spring's `ErrorHandlingDeserializer`: a failure becomes an error value routed to the
    /// error handler instead of stopping the consumer. Wraps the delegate named by
    /// `spring.deserializer.{key,value}.delegate.class`.
    ErrorHandling(Box<Deserializer>),
}

/// How a producer turns a value into record bytes.
///
/// ```
/// use kafka_listener::config::Serializer;
///
/// assert_eq!(
///     Serializer::from_class_name("org.springframework.kafka.support.serializer.JsonSerializer"),
///     Some(Serializer::Json)
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Serializer {
    /// UTF-8 text.
    String,
    /// The raw bytes.
    ByteArray,
    /// 8-byte big-endian signed integer.
    Long,
    /// 4-byte big-endian signed integer.
    Integer,
    /// 2-byte big-endian signed integer.
    Short,
    /// 8-byte IEEE 754.
    Double,
    /// 4-byte IEEE 754.
    Float,
    /// A UUID in its text form.
    Uuid,
    /// Always null.
    Void,
    /// JSON.
    Json,
}

const KAFKA: &str = "org.apache.kafka.common.serialization.";
const SPRING: &str = "org.springframework.kafka.support.serializer.";

/// The class name that marks Spring's error-handling wrapper.
pub(crate) const ERROR_HANDLING_DESERIALIZER: &str =
    "org.springframework.kafka.support.serializer.ErrorHandlingDeserializer";

const DESERIALIZERS: &[(&str, &str, Deserializer)] = &[
    (KAFKA, "StringDeserializer", Deserializer::String),
    (KAFKA, "ByteArrayDeserializer", Deserializer::ByteArray),
    (KAFKA, "BytesDeserializer", Deserializer::ByteArray),
    (KAFKA, "ByteBufferDeserializer", Deserializer::ByteArray),
    (KAFKA, "LongDeserializer", Deserializer::Long),
    (KAFKA, "IntegerDeserializer", Deserializer::Integer),
    (KAFKA, "ShortDeserializer", Deserializer::Short),
    (KAFKA, "DoubleDeserializer", Deserializer::Double),
    (KAFKA, "FloatDeserializer", Deserializer::Float),
    (KAFKA, "UUIDDeserializer", Deserializer::Uuid),
    (KAFKA, "VoidDeserializer", Deserializer::Void),
    (SPRING, "JsonDeserializer", Deserializer::Json),
    (SPRING, "JacksonJsonDeserializer", Deserializer::Json),
];

const SERIALIZERS: &[(&str, &str, Serializer)] = &[
    (KAFKA, "StringSerializer", Serializer::String),
    (KAFKA, "ByteArraySerializer", Serializer::ByteArray),
    (KAFKA, "BytesSerializer", Serializer::ByteArray),
    (KAFKA, "ByteBufferSerializer", Serializer::ByteArray),
    (KAFKA, "LongSerializer", Serializer::Long),
    (KAFKA, "IntegerSerializer", Serializer::Integer),
    (KAFKA, "ShortSerializer", Serializer::Short),
    (KAFKA, "DoubleSerializer", Serializer::Double),
    (KAFKA, "FloatSerializer", Serializer::Float),
    (KAFKA, "UUIDSerializer", Serializer::Uuid),
    (KAFKA, "VoidSerializer", Serializer::Void),
    (SPRING, "JsonSerializer", Serializer::Json),
    (SPRING, "JacksonJsonSerializer", Serializer::Json),
];

fn lookup<T: Clone>(table: &[(&str, &str, T)], class_name: &str) -> Option<T> {
    let class_name = class_name.trim();
    table
        .iter()
        .find(|(package, simple, _)| {
            class_name == *simple
                || class_name
                    .strip_prefix(package)
                    .is_some_and(|rest| rest == *simple)
        })
        .map(|(_, _, codec)| codec.clone())
}

fn names<T>(table: &[(&str, &str, T)]) -> String {
    table
        .iter()
        .map(|(package, simple, _)| format!("{package}{simple}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `class_name` is Spring's `ErrorHandlingDeserializer` (either spelling).
pub(crate) fn is_error_handling(class_name: &str) -> bool {
    let class_name = class_name.trim();
    class_name == ERROR_HANDLING_DESERIALIZER || class_name == "ErrorHandlingDeserializer"
}

impl Deserializer {
    /// The codec for a Java deserializer class name (fully qualified or bare), if supported.
    /// `ErrorHandlingDeserializer` needs its delegate and is resolved by the binder.
    pub fn from_class_name(class_name: &str) -> Option<Self> {
        lookup(DESERIALIZERS, class_name)
    }

    /// Every supported class name, comma-separated, for error messages.
    pub fn supported_class_names() -> String {
        format!("{}, {ERROR_HANDLING_DESERIALIZER}", names(DESERIALIZERS))
    }

    /// The class names `ErrorHandlingDeserializer` can delegate to (all but itself).
    pub fn supported_delegate_class_names() -> String {
        names(DESERIALIZERS)
    }
}

impl Serializer {
    /// The codec for a Java serializer class name (fully qualified or bare), if supported.
    pub fn from_class_name(class_name: &str) -> Option<Self> {
        lookup(SERIALIZERS, class_name)
    }

    /// Every supported class name, comma-separated, for error messages.
    pub fn supported_class_names() -> String {
        names(SERIALIZERS)
    }
}

impl fmt::Display for Deserializer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Deserializer::ErrorHandling(inner) => write!(f, "ErrorHandling({inner})"),
            other => write!(f, "{other:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_json_spellings_map_to_json() {
        for name in [
            "org.springframework.kafka.support.serializer.JsonDeserializer",
            "org.springframework.kafka.support.serializer.JacksonJsonDeserializer",
            "JsonDeserializer",
        ] {
            assert_eq!(
                Deserializer::from_class_name(name),
                Some(Deserializer::Json),
                "{name}"
            );
        }
    }

    #[test]
    fn a_class_in_the_wrong_package_is_not_accepted() {
        assert_eq!(
            Deserializer::from_class_name("com.example.StringDeserializer"),
            None
        );
    }
}
