//! The headers Spring Kafka's retry-topic recoverer writes on each hop, with its names and
//! encodings: `retry_topic-*` (attempts as a 4-byte int, timestamps as Java `BigInteger`
//! bytes), `kafka_original-*` (the main topic's coordinates, written once) and
//! `kafka_exception-*` (the latest failure, replaced on each hop).

use bytes::Bytes;

use crate::error::FailureDescription;
use crate::record::{ConsumerRecord, Headers};

/// Header names (Spring's `RetryTopicHeaders` and `KafkaHeaders.ORIGINAL_*` / `EXCEPTION_*`).
pub mod names {
    /// When the record is due on its retry topic: ms since the epoch, `BigInteger` bytes.
    pub const BACKOFF_TIMESTAMP: &str = "retry_topic-backoff-timestamp";
    /// The attempt the record is on next (4-byte big-endian int; 1 when absent).
    pub const ATTEMPTS: &str = "retry_topic-attempts";
    /// The main topic record's timestamp, `BigInteger` bytes.
    pub const ORIGINAL_TIMESTAMP: &str = "retry_topic-original-timestamp";
    /// The main topic (UTF-8), written on the first hop only.
    pub const KAFKA_ORIGINAL_TOPIC: &str = "kafka_original-topic";
    /// Its partition (4-byte big-endian int).
    pub const KAFKA_ORIGINAL_PARTITION: &str = "kafka_original-partition";
    /// Its offset (8-byte big-endian long).
    pub const KAFKA_ORIGINAL_OFFSET: &str = "kafka_original-offset";
    /// Its timestamp (8-byte big-endian long).
    pub const KAFKA_ORIGINAL_TIMESTAMP: &str = "kafka_original-timestamp";
    /// Its timestamp type (`CreateTime` / `LogAppendTime`).
    pub const KAFKA_ORIGINAL_TIMESTAMP_TYPE: &str = "kafka_original-timestamp-type";
    /// The main listener's group; Spring's `KafkaHeaders.ORIGINAL_CONSUMER_GROUP` keeps the
    /// `kafka_dlt-` name.
    pub const KAFKA_ORIGINAL_CONSUMER_GROUP: &str = "kafka_dlt-original-consumer-group";
    /// The latest failure's type.
    pub const EXCEPTION_FQCN: &str = "kafka_exception-fqcn";
    /// Its cause's type, when known.
    pub const EXCEPTION_CAUSE_FQCN: &str = "kafka_exception-cause-fqcn";
    /// Its message.
    pub const EXCEPTION_MESSAGE: &str = "kafka_exception-message";
    /// It with its cause chain.
    pub const EXCEPTION_STACKTRACE: &str = "kafka_exception-stacktrace";
}

/// Java's `BigInteger.valueOf(n).toByteArray()`: the shortest big-endian two's complement.
///
/// ```
/// use kafka_listener::error::{big_integer_bytes, parse_big_integer};
/// assert_eq!(big_integer_bytes(0), [0]);
/// assert_eq!(big_integer_bytes(128), [0, 128]);
/// assert_eq!(big_integer_bytes(-1), [255]);
/// assert_eq!(parse_big_integer(&big_integer_bytes(1_700_000_000_123)), Some(1_700_000_000_123));
/// ```
pub fn big_integer_bytes(value: i64) -> Vec<u8> {
    let bytes = value.to_be_bytes();
    let mut start = 0;
    // Drop a leading byte while the next one's sign bit still says the same sign.
    while start < 7 {
        let (lead, next) = (bytes[start], bytes[start + 1]);
        let redundant = (lead == 0x00 && next & 0x80 == 0) || (lead == 0xff && next & 0x80 != 0);
        if !redundant {
            break;
        }
        start += 1;
    }
    bytes[start..].to_vec()
}

/// Reads `BigInteger` bytes of at most 8 bytes (sign-extended); `None` when empty or longer.
pub fn parse_big_integer(bytes: &[u8]) -> Option<i64> {
    if bytes.is_empty() || bytes.len() > 8 {
        return None;
    }
    let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0x00 };
    let mut full = [fill; 8];
    full[8 - bytes.len()..].copy_from_slice(bytes);
    Some(i64::from_be_bytes(full))
}

/// The record's `retry_topic-attempts`, read as Spring reads it: a 4-byte int (or a 1-byte
/// value from older versions) between 1 and `i16::MAX`; otherwise 1.
pub fn attempts_of(record: &ConsumerRecord) -> u32 {
    let raw = match record.headers.last_value(names::ATTEMPTS) {
        Some(value) if value.len() == 1 => value[0] as i64,
        Some(value) if value.len() == 4 => {
            i32::from_be_bytes([value[0], value[1], value[2], value[3]]) as i64
        }
        _ => return 1,
    };
    if (1..=i16::MAX as i64).contains(&raw) {
        raw as u32
    } else {
        1
    }
}

/// When the record is due on its retry topic (ms since the epoch), if it says.
pub fn due_time_of(record: &ConsumerRecord) -> Option<i64> {
    parse_big_integer(&record.headers.last_value(names::BACKOFF_TIMESTAMP)?)
}

/// The headers of `record`'s copy on its next stage: its own headers, the failure replacing
/// any earlier one, the main topic's coordinates if not yet present, and the retry headers
/// appended (readers take the last value) — as Spring's retry-topic recoverer writes them.
pub fn forward_headers(
    record: &ConsumerRecord,
    failure: &FailureDescription,
    group_id: Option<&str>,
    now_ms: i64,
    delay_ms: i64,
) -> Headers {
    let exception_names = [
        names::EXCEPTION_FQCN,
        names::EXCEPTION_CAUSE_FQCN,
        names::EXCEPTION_MESSAGE,
        names::EXCEPTION_STACKTRACE,
    ];
    let mut headers: Headers = record
        .headers
        .iter()
        .filter(|h| !exception_names.contains(&h.name.as_str()))
        .cloned()
        .collect();
    let text = |s: &str| Some(Bytes::copy_from_slice(s.as_bytes()));
    let bytes = |b: &[u8]| Some(Bytes::copy_from_slice(b));
    headers.push(names::EXCEPTION_FQCN, text(&failure.type_name));
    if let Some(cause) = &failure.cause_type_name {
        headers.push(names::EXCEPTION_CAUSE_FQCN, text(cause));
    }
    headers.push(names::EXCEPTION_MESSAGE, text(&failure.message));
    headers.push(names::EXCEPTION_STACKTRACE, text(&failure.stack_text()));
    let originals = [
        (names::KAFKA_ORIGINAL_TOPIC, text(&record.topic)),
        (
            names::KAFKA_ORIGINAL_PARTITION,
            bytes(&record.partition.to_be_bytes()),
        ),
        (
            names::KAFKA_ORIGINAL_OFFSET,
            bytes(&record.offset.to_be_bytes()),
        ),
        (
            names::KAFKA_ORIGINAL_TIMESTAMP,
            bytes(&record.timestamp.to_be_bytes()),
        ),
        (
            names::KAFKA_ORIGINAL_TIMESTAMP_TYPE,
            text(record.timestamp_type.java_name()),
        ),
        (
            names::KAFKA_ORIGINAL_CONSUMER_GROUP,
            group_id.and_then(text),
        ),
    ];
    for (name, value) in originals {
        if value.is_some() && !headers.contains(name) {
            headers.push(name, value);
        }
    }
    // The first hop's timestamp travels on; a malformed header is replaced by the record's.
    let original_timestamp = record
        .headers
        .last_value(names::ORIGINAL_TIMESTAMP)
        .filter(|v| parse_big_integer(v).is_some())
        .unwrap_or_else(|| Bytes::from(big_integer_bytes(record.timestamp)));
    headers.push(names::ORIGINAL_TIMESTAMP, Some(original_timestamp));
    let next_attempt = attempts_of(record) as i32 + 1;
    headers.push(names::ATTEMPTS, bytes(&next_attempt.to_be_bytes()));
    headers.push(
        names::BACKOFF_TIMESTAMP,
        Some(Bytes::from(big_integer_bytes(
            now_ms.saturating_add(delay_ms),
        ))),
    );
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_integer_bytes_match_javas_to_byte_array() {
        // Values from java.math.BigInteger.valueOf(n).toByteArray().
        assert_eq!(big_integer_bytes(127), [0x7f]);
        assert_eq!(big_integer_bytes(255), [0x00, 0xff]);
        assert_eq!(big_integer_bytes(-128), [0x80]);
        assert_eq!(big_integer_bytes(-129), [0xff, 0x7f]);
        assert_eq!(
            big_integer_bytes(1_700_000_000_000),
            [0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00]
        );
        assert_eq!(big_integer_bytes(i64::MIN), i64::MIN.to_be_bytes());
        for n in [0, 1, -1, 300, -300, i64::MAX, i64::MIN, 1_764_000_000_000] {
            assert_eq!(parse_big_integer(&big_integer_bytes(n)), Some(n), "{n}");
        }
        assert_eq!(parse_big_integer(&[]), None);
        assert_eq!(parse_big_integer(&[0; 9]), None);
    }

    fn failure(message: &str) -> FailureDescription {
        FailureDescription {
            type_name: "app::Timeout".into(),
            message: message.into(),
            cause_type_name: None,
            causes: vec![],
            retryable: true,
        }
    }

    #[test]
    fn each_hop_keeps_the_originals_replaces_the_failure_and_counts_attempts() {
        let main = ConsumerRecord {
            topic: "orders".into(),
            partition: 2,
            offset: 41,
            timestamp: 1_000,
            ..Default::default()
        };
        let first = forward_headers(&main, &failure("first"), Some("billing"), 5_000, 1_000);
        assert_eq!(
            &first.last_value(names::ATTEMPTS).unwrap()[..],
            [0, 0, 0, 2]
        );
        assert_eq!(
            parse_big_integer(&first.last_value(names::BACKOFF_TIMESTAMP).unwrap()),
            Some(6_000)
        );
        let retried = ConsumerRecord {
            topic: "orders-retry".into(),
            partition: 2,
            offset: 7,
            timestamp: 5_001,
            headers: first,
            ..Default::default()
        };
        assert_eq!(attempts_of(&retried), 2);
        let second = forward_headers(
            &retried,
            &failure("second"),
            Some("billing-retry"),
            9_000,
            0,
        );
        let value = |name| second.last_value(name).unwrap();
        assert_eq!(&value(names::KAFKA_ORIGINAL_TOPIC)[..], b"orders");
        assert_eq!(
            &value(names::KAFKA_ORIGINAL_OFFSET)[..],
            41i64.to_be_bytes()
        );
        assert_eq!(&value(names::KAFKA_ORIGINAL_CONSUMER_GROUP)[..], b"billing");
        assert_eq!(second.get_all(names::KAFKA_ORIGINAL_TOPIC).count(), 1);
        assert_eq!(second.get_all(names::EXCEPTION_MESSAGE).count(), 1);
        assert_eq!(&value(names::EXCEPTION_MESSAGE)[..], b"second");
        assert_eq!(&value(names::ATTEMPTS)[..], [0, 0, 0, 3]);
        assert_eq!(
            second.get_all(names::ATTEMPTS).count(),
            2,
            "appended per hop"
        );
        assert_eq!(
            parse_big_integer(&value(names::ORIGINAL_TIMESTAMP)),
            Some(1_000),
            "the main record's timestamp travels on"
        );
    }

    #[test]
    fn malformed_attempts_count_as_the_first() {
        let mut headers = Headers::new();
        headers.push(names::ATTEMPTS, Some(&b"xx"[..]));
        let record = ConsumerRecord {
            headers,
            ..Default::default()
        };
        assert_eq!(attempts_of(&record), 1);
        let mut headers = Headers::new();
        headers.push(names::ATTEMPTS, Some(&[3u8][..]));
        assert_eq!(
            attempts_of(&ConsumerRecord {
                headers,
                ..Default::default()
            }),
            3
        );
    }
}
