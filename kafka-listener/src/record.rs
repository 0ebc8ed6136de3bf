//! The record types users see. They model Kafka's record exactly — ordered headers with
//! duplicate names and null values, the timestamp type — so that limits of the data plane below
//! (rskafka 0.6 keeps headers in a map and drops the timestamp type) never leak into user code.

use bytes::Bytes;

/// How a record's timestamp was set, as Kafka's `TimestampType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimestampType {
    /// The producer set the timestamp (Kafka's default).
    #[default]
    CreateTime,
    /// The broker set it when appending (topic config `message.timestamp.type=LogAppendTime`).
    LogAppendTime,
}

impl TimestampType {
    /// The name Java's `TimestampType.toString()` gives, used in Spring's DLT headers.
    ///
    /// ```
    /// use kafka_listener::TimestampType;
    /// assert_eq!(TimestampType::LogAppendTime.java_name(), "LogAppendTime");
    /// ```
    pub fn java_name(self) -> &'static str {
        match self {
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        }
    }
}

/// One record header: a name and an optional (possibly null) value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// The header name. Kafka allows the same name more than once on a record.
    pub name: String,
    /// The header value; `None` is Kafka's null value, distinct from an empty value.
    pub value: Option<Bytes>,
}

/// The header the fetcher sets on the stand-in record of a record batch it could not read (a
/// CRC mismatch, malformed records): the value says why. The stand-in's value is the batch's
/// raw bytes and its offset the batch's last, and it never reaches the handler: the error
/// handler gets it, so a dead-letter recoverer keeps the bytes and the partition moves on.
pub const CORRUPT_BATCH_HEADER: &str = "kafka_listener-corrupt-batch";

/// A record's headers in wire order. Duplicate names and null values are kept.
///
/// ```
/// use kafka_listener::Headers;
/// let mut headers = Headers::new();
/// headers.push("trace", Some("a"));
/// headers.push("trace", Some("b"));
/// headers.push("tombstone-reason", None::<&str>);
/// assert_eq!(headers.len(), 3);
/// assert_eq!(headers.last_value("trace").as_deref(), Some(&b"b"[..]));
/// assert_eq!(headers.get_all("trace").count(), 2);
/// assert!(headers.contains("tombstone-reason"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Headers(Vec<Header>);

impl Headers {
    /// No headers.
    pub fn new() -> Self {
        Self(Vec::new())
    }

    /// Appends a header, keeping any earlier one with the same name.
    pub fn push(&mut self, name: impl Into<String>, value: Option<impl Into<Bytes>>) {
        self.0.push(Header {
            name: name.into(),
            value: value.map(Into::into),
        });
    }

    /// The number of headers, duplicates included.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `true` when the record carries no header.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `true` when a header with this name exists (its value may be null).
    pub fn contains(&self, name: &str) -> bool {
        self.0.iter().any(|h| h.name == name)
    }

    /// Every header with this name, in wire order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Header> + 'a {
        self.0.iter().filter(move |h| h.name == name)
    }

    /// The value of the last header with this name — Kafka's `Headers.lastHeader`, which Spring
    /// uses to read its own headers. `None` when absent or null.
    pub fn last_value(&self, name: &str) -> Option<Bytes> {
        self.0
            .iter()
            .rev()
            .find(|h| h.name == name)
            .and_then(|h| h.value.clone())
    }

    /// Iterates over all headers in wire order.
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.0.iter()
    }
}

impl FromIterator<Header> for Headers {
    fn from_iter<I: IntoIterator<Item = Header>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl IntoIterator for Headers {
    type Item = Header;
    type IntoIter = std::vec::IntoIter<Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// A record as consumed: where it came from and what it carries.
///
/// `K` and `V` default to raw bytes; the `ConsumerRecord<K, V>` extractor deserializes them.
/// A `None` key or value is Kafka's null (a `None` value is a tombstone).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConsumerRecord<K = Bytes, V = Bytes> {
    /// Topic the record was read from.
    pub topic: String,
    /// Partition within the topic.
    pub partition: i32,
    /// Offset within the partition.
    pub offset: i64,
    /// Timestamp in milliseconds since the Unix epoch.
    pub timestamp: i64,
    /// How [`timestamp`](Self::timestamp) was set.
    pub timestamp_type: TimestampType,
    /// The key, `None` for a null key.
    pub key: Option<K>,
    /// The value, `None` for a tombstone.
    pub value: Option<V>,
    /// Headers in wire order.
    pub headers: Headers,
}

impl ConsumerRecord {
    /// Why the fetcher could not read the batch this record stands in for, if it is such a
    /// stand-in (see [`CORRUPT_BATCH_HEADER`]).
    pub fn corrupt_batch_reason(&self) -> Option<String> {
        let reason = self.headers.last_value(CORRUPT_BATCH_HEADER)?;
        Some(String::from_utf8_lossy(&reason).into_owned())
    }
}
