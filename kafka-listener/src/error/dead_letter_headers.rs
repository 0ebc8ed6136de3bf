//! The headers Spring Kafka's `DeadLetterPublishingRecoverer` adds to a dead-lettered record,
//! with its exact names and value encodings, so Spring tooling reading our DLTs decodes them.

use bytes::Bytes;

use crate::record::{ConsumerRecord, Headers};

/// Header names (Spring's `KafkaHeaders.DLT_*`).
pub mod names {
    /// Topic the record was consumed from (UTF-8).
    pub const ORIGINAL_TOPIC: &str = "kafka_dlt-original-topic";
    /// Its partition (4-byte big-endian int).
    pub const ORIGINAL_PARTITION: &str = "kafka_dlt-original-partition";
    /// Its offset (8-byte big-endian long).
    pub const ORIGINAL_OFFSET: &str = "kafka_dlt-original-offset";
    /// Its timestamp (8-byte big-endian long).
    pub const ORIGINAL_TIMESTAMP: &str = "kafka_dlt-original-timestamp";
    /// Its timestamp type (`CreateTime` / `LogAppendTime`, UTF-8).
    pub const ORIGINAL_TIMESTAMP_TYPE: &str = "kafka_dlt-original-timestamp-type";
    /// The consuming group (UTF-8).
    pub const ORIGINAL_CONSUMER_GROUP: &str = "kafka_dlt-original-consumer-group";
    /// The failure's type name (UTF-8): Java's exception class name, here the Rust error type.
    pub const EXCEPTION_FQCN: &str = "kafka_dlt-exception-fqcn";
    /// The cause's type name (UTF-8), when known.
    pub const EXCEPTION_CAUSE_FQCN: &str = "kafka_dlt-exception-cause-fqcn";
    /// The failure's message (UTF-8).
    pub const EXCEPTION_MESSAGE: &str = "kafka_dlt-exception-message";
    /// The failure with its cause chain (UTF-8), in place of Java's stack trace.
    pub const EXCEPTION_STACKTRACE: &str = "kafka_dlt-exception-stacktrace";

    /// Every exception header; stripped from a record before new ones are added, as Spring's
    /// `stripPreviousExceptionHeaders` (default true) does.
    pub const EXCEPTION_HEADERS: [&str; 4] = [
        EXCEPTION_FQCN,
        EXCEPTION_CAUSE_FQCN,
        EXCEPTION_MESSAGE,
        EXCEPTION_STACKTRACE,
    ];
}

/// What is known of a failure, for the exception headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureDescription {
    /// The error's type name (e.g. `std::any::type_name::<E>()`).
    pub type_name: String,
    /// The error's message (`Display`).
    pub message: String,
    /// The cause's type name, when the error knows it.
    pub cause_type_name: Option<String>,
    /// The `source()` chain's messages, outermost first.
    pub causes: Vec<String>,
    /// `false` for a failure that would repeat on every delivery (deserialization, an error
    /// marked [`Fatal`](crate::error::Fatal)): retry topics send it straight to the DLT.
    pub retryable: bool,
}

impl FailureDescription {
    /// Describes `error` and its `source()` chain.
    ///
    /// ```
    /// use kafka_listener::error::FailureDescription;
    /// let io = std::io::Error::new(std::io::ErrorKind::Other, "disk full");
    /// let failure = FailureDescription::of(&io);
    /// assert_eq!(failure.type_name, "std::io::error::Error");
    /// assert_eq!(failure.message, "disk full");
    /// ```
    pub fn of<E: std::error::Error + ?Sized>(error: &E) -> Self {
        let mut causes = Vec::new();
        let mut source = error.source();
        while let Some(cause) = source {
            causes.push(cause.to_string());
            source = cause.source();
        }
        Self {
            type_name: std::any::type_name::<E>().to_owned(),
            message: error.to_string(),
            cause_type_name: None,
            causes,
            retryable: true,
        }
    }

    /// The failure and its causes in the layout of a Java stack trace's first lines.
    pub fn stack_text(&self) -> String {
        let mut text = format!("{}: {}", self.type_name, self.message);
        for cause in &self.causes {
            text.push_str("\nCaused by: ");
            text.push_str(cause);
        }
        text
    }
}

/// The headers of the dead-letter copy of `original`: its own headers (minus exception headers
/// of an earlier hop) followed by Spring's `kafka_dlt-*` headers.
///
/// ```
/// use kafka_listener::error::{dead_letter_headers, FailureDescription};
/// use kafka_listener::ConsumerRecord;
///
/// let record = ConsumerRecord { topic: "orders".into(), partition: 3, offset: 42, ..Default::default() };
/// let failure = FailureDescription { type_name: "OrderError".into(), message: "bad sku".into(),
///     cause_type_name: None, causes: vec![], retryable: true };
/// let headers = dead_letter_headers(&record, &failure, Some("order-service"));
/// assert_eq!(headers.last_value("kafka_dlt-original-partition").as_deref(), Some(&3i32.to_be_bytes()[..]));
/// assert_eq!(headers.last_value("kafka_dlt-original-offset").as_deref(), Some(&42i64.to_be_bytes()[..]));
/// ```
pub fn dead_letter_headers(
    original: &ConsumerRecord,
    failure: &FailureDescription,
    group_id: Option<&str>,
) -> Headers {
    let mut headers: Headers = original
        .headers
        .iter()
        .filter(|h| !names::EXCEPTION_HEADERS.contains(&h.name.as_str()))
        .cloned()
        .collect();
    let text = |s: &str| Some(Bytes::copy_from_slice(s.as_bytes()));
    headers.push(names::ORIGINAL_TOPIC, text(&original.topic));
    headers.push(
        names::ORIGINAL_PARTITION,
        Some(Bytes::copy_from_slice(&original.partition.to_be_bytes())),
    );
    headers.push(
        names::ORIGINAL_OFFSET,
        Some(Bytes::copy_from_slice(&original.offset.to_be_bytes())),
    );
    headers.push(
        names::ORIGINAL_TIMESTAMP,
        Some(Bytes::copy_from_slice(&original.timestamp.to_be_bytes())),
    );
    headers.push(
        names::ORIGINAL_TIMESTAMP_TYPE,
        text(original.timestamp_type.java_name()),
    );
    if let Some(group_id) = group_id {
        headers.push(names::ORIGINAL_CONSUMER_GROUP, text(group_id));
    }
    headers.push(names::EXCEPTION_FQCN, text(&failure.type_name));
    if let Some(cause) = &failure.cause_type_name {
        headers.push(names::EXCEPTION_CAUSE_FQCN, text(cause));
    }
    headers.push(names::EXCEPTION_MESSAGE, text(&failure.message));
    headers.push(names::EXCEPTION_STACKTRACE, text(&failure.stack_text()));
    headers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::TimestampType;

    fn failure() -> FailureDescription {
        FailureDescription {
            type_name: "app::OrderError".into(),
            message: "sku unknown".into(),
            cause_type_name: Some("app::DbError".into()),
            causes: vec!["row missing".into()],
            retryable: true,
        }
    }

    fn record() -> ConsumerRecord {
        let mut headers = Headers::new();
        headers.push("trace-id", Some("t-1"));
        headers.push(names::EXCEPTION_MESSAGE, Some("from an earlier hop"));
        ConsumerRecord {
            topic: "orders".into(),
            partition: 1,
            offset: 7,
            timestamp: 1_700_000_000_000,
            timestamp_type: TimestampType::LogAppendTime,
            headers,
            ..Default::default()
        }
    }

    #[test]
    fn dlt_headers_use_springs_names_and_binary_encodings() {
        let headers = dead_letter_headers(&record(), &failure(), Some("g"));
        let value = |name| headers.last_value(name).unwrap();
        assert_eq!(&value(names::ORIGINAL_TOPIC)[..], b"orders");
        assert_eq!(&value(names::ORIGINAL_PARTITION)[..], &[0, 0, 0, 1]);
        assert_eq!(&value(names::ORIGINAL_OFFSET)[..], &7i64.to_be_bytes());
        assert_eq!(
            &value(names::ORIGINAL_TIMESTAMP)[..],
            &1_700_000_000_000i64.to_be_bytes()
        );
        assert_eq!(&value(names::ORIGINAL_TIMESTAMP_TYPE)[..], b"LogAppendTime");
        assert_eq!(&value(names::ORIGINAL_CONSUMER_GROUP)[..], b"g");
        assert_eq!(&value(names::EXCEPTION_FQCN)[..], b"app::OrderError");
        assert_eq!(&value(names::EXCEPTION_CAUSE_FQCN)[..], b"app::DbError");
        assert_eq!(&value(names::EXCEPTION_MESSAGE)[..], b"sku unknown");
        assert_eq!(
            &value(names::EXCEPTION_STACKTRACE)[..],
            b"app::OrderError: sku unknown\nCaused by: row missing"
        );
    }

    #[test]
    fn dlt_headers_keep_original_headers_first_and_strip_old_exception_headers() {
        let headers = dead_letter_headers(&record(), &failure(), None);
        assert_eq!(headers.iter().next().unwrap().name, "trace-id");
        assert_eq!(headers.get_all(names::EXCEPTION_MESSAGE).count(), 1);
        assert!(!headers.contains(names::ORIGINAL_CONSUMER_GROUP));
    }
}
