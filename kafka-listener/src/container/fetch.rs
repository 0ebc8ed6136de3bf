//! Fetching one partition through rskafka and turning its records into [`ConsumerRecord`]s.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rskafka::client::error::{Error as RsError, ProtocolError};
use rskafka::client::partition::{OffsetAt, PartitionClient};
use rskafka::record::RecordAndOffset;

use crate::record::{ConsumerRecord, Header, Headers, TimestampType};

/// Fetch sizes and wait, from `spring.kafka.consumer.fetch-min-size`, `fetch-max-wait` and
/// `max.partition.fetch.bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchSettings {
    /// The broker answers once this many bytes are available (Kafka's `fetch.min.bytes`, 1).
    pub min_bytes: i32,
    /// The most bytes one fetch returns for the partition (`max.partition.fetch.bytes`, 1 MiB).
    pub max_bytes: i32,
    /// How long the broker may wait for `min_bytes` (`fetch.max.wait.ms`, 500 ms).
    pub max_wait: Duration,
}

impl Default for FetchSettings {
    fn default() -> Self {
        Self {
            min_bytes: 1,
            max_bytes: 1024 * 1024,
            max_wait: Duration::from_millis(500),
        }
    }
}

/// Why a fetch returned no records.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The position is outside the partition's log: `auto.offset.reset` decides what next.
    #[error("offset {offset} is out of range for {topic}-{partition}")]
    OffsetOutOfRange {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// The position that was asked for.
        offset: i64,
    },
    /// Any other failure of the data plane; the fetch loop backs off and tries again.
    #[error("fetch from {topic}-{partition} at offset {offset} failed: {source}")]
    Broker {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// The position that was asked for.
        offset: i64,
        /// rskafka's error.
        #[source]
        source: RsError,
    },
}

/// Records of one fetch, and where the partition's log ends.
#[derive(Debug)]
pub struct Fetched {
    /// Records at or after the requested position, in offset order.
    pub records: Vec<ConsumerRecord>,
    /// The partition's high watermark when the broker answered.
    pub high_watermark: i64,
}

/// Fetches one partition.
#[derive(Debug, Clone)]
pub struct PartitionFetcher {
    client: Arc<PartitionClient>,
    topic: Arc<str>,
    settings: FetchSettings,
}

impl PartitionFetcher {
    /// A fetcher over an rskafka partition client.
    pub fn new(client: Arc<PartitionClient>, settings: FetchSettings) -> Self {
        let topic = Arc::from(client.topic());
        Self {
            client,
            topic,
            settings,
        }
    }

    /// The partition fetched.
    pub fn partition(&self) -> i32 {
        self.client.partition()
    }

    /// Fetches records from `position`, waiting up to the configured max wait for data.
    pub async fn fetch(&self, position: i64) -> Result<Fetched, FetchError> {
        let max_wait_ms = i32::try_from(self.settings.max_wait.as_millis()).unwrap_or(i32::MAX);
        let result = self
            .client
            .fetch_records(
                position,
                self.settings.min_bytes..self.settings.max_bytes,
                max_wait_ms,
            )
            .await;
        match result {
            Ok((records, high_watermark)) => Ok(Fetched {
                records: records
                    .into_iter()
                    .filter(|r| r.offset >= position)
                    .map(|r| to_consumer_record(&self.topic, self.client.partition(), r))
                    .collect(),
                high_watermark,
            }),
            Err(source) => Err(self.classify(position, source)),
        }
    }

    /// The partition's earliest or latest offset, for `auto.offset.reset` and seeks.
    pub async fn offset_at(&self, at: OffsetAt) -> Result<i64, FetchError> {
        self.client
            .get_offset(at)
            .await
            .map_err(|source| self.classify(-1, source))
    }

    fn classify(&self, offset: i64, source: RsError) -> FetchError {
        let topic = self.topic.to_string();
        let partition = self.client.partition();
        match source {
            RsError::ServerError {
                protocol_error: ProtocolError::OffsetOutOfRange,
                ..
            } => FetchError::OffsetOutOfRange {
                topic,
                partition,
                offset,
            },
            source => FetchError::Broker {
                topic,
                partition,
                offset,
                source,
            },
        }
    }
}

/// Converts rskafka's record. rskafka 0.6 keeps headers in a map (duplicates collapsed, sorted by
/// name) and drops the timestamp type; our types can carry both once the data plane delivers them.
fn to_consumer_record(topic: &str, partition: i32, record: RecordAndOffset) -> ConsumerRecord {
    let RecordAndOffset { record, offset } = record;
    let headers: Headers = record
        .headers
        .into_iter()
        .map(|(name, value)| Header {
            name,
            value: Some(Bytes::from(value)),
        })
        .collect();
    ConsumerRecord {
        topic: topic.to_owned(),
        partition,
        offset,
        timestamp: record.timestamp.timestamp_millis(),
        timestamp_type: TimestampType::CreateTime,
        key: record.key.map(Bytes::from),
        value: record.value.map(Bytes::from),
        headers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rskafka::chrono::{TimeZone, Utc};
    use rskafka::record::Record;
    use std::collections::BTreeMap;

    #[test]
    fn rskafka_records_keep_key_value_headers_and_timestamp() {
        let record = RecordAndOffset {
            record: Record {
                key: Some(b"k".to_vec()),
                value: None,
                headers: BTreeMap::from([("h".to_owned(), b"v".to_vec())]),
                timestamp: Utc.timestamp_millis_opt(1_700_000_000_123).unwrap(),
            },
            offset: 42,
        };
        let converted = to_consumer_record("orders", 2, record);
        assert_eq!(converted.topic, "orders");
        assert_eq!(converted.partition, 2);
        assert_eq!(converted.offset, 42);
        assert_eq!(converted.timestamp, 1_700_000_000_123);
        assert_eq!(converted.key.as_deref(), Some(&b"k"[..]));
        assert_eq!(converted.value, None, "a tombstone stays a tombstone");
        assert_eq!(
            converted.headers.last_value("h").as_deref(),
            Some(&b"v"[..])
        );
    }
}
