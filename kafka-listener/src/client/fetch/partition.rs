//! One partition's handle on its member's fetcher: fetch at a position (following a moved
//! leader), look offsets up, decode what the broker sent.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::fetch_response::PartitionData;
use tokio::sync::oneshot;

use super::broker_loop::{FetchJob, JobError};
use super::decode::BatchDecoder;
use super::{
    offsets, AbortedTransaction, CorruptBatch, FetchError, Fetched, Fetcher, IsolationLevel,
    OffsetQuery, PartitionLag,
};
use crate::record::{ConsumerRecord, Headers, TimestampType, CORRUPT_BATCH_HEADER};

/// Fetches one partition through its member's [`Fetcher`].
#[derive(Debug, Clone)]
pub struct PartitionFetcher {
    pub(super) fetcher: Fetcher,
    pub(super) topic: Arc<str>,
    pub(super) partition: i32,
}

/// Pause between attempts while a partition's leader is being looked up again.
const REROUTE_BACKOFF: Duration = Duration::from_millis(50);

impl PartitionFetcher {
    /// The topic fetched.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The partition fetched.
    pub fn partition(&self) -> i32 {
        self.partition
    }

    /// Fetches records from `position`, waiting up to the configured max wait for data. A
    /// moved leader is followed within the request timeout; other failures are returned for
    /// the caller to back off on.
    pub async fn fetch(&self, position: i64) -> Result<Fetched, FetchError> {
        let shared = &self.fetcher.shared;
        let deadline = tokio::time::Instant::now() + shared.connection.request_timeout_duration();
        loop {
            let attempt = async {
                let route = shared.routes.leader(&self.topic, self.partition).await?;
                let (reply, answer) = oneshot::channel();
                self.fetcher
                    .enqueue(
                        &route,
                        FetchJob {
                            topic: Arc::clone(&self.topic),
                            topic_id: route.topic_id,
                            partition: self.partition,
                            position,
                            leader_epoch: route.leader_epoch,
                            reply,
                        },
                    )
                    .map_err(JobError::Failed)?;
                answer
                    .await
                    .unwrap_or_else(|_| Err(JobError::Failed("the fetch loop stopped".into())))
            };
            match attempt.await {
                Ok(data) => {
                    let fetched = self.decode(position, data);
                    self.record_lag(&fetched);
                    return Ok(fetched);
                }
                Err(JobError::OutOfRange) => {
                    return Err(FetchError::OffsetOutOfRange {
                        topic: self.topic.to_string(),
                        partition: self.partition,
                        offset: position,
                    })
                }
                Err(JobError::Stale(reason)) => {
                    shared.routes.forget(&self.topic, self.partition);
                    if tokio::time::Instant::now() >= deadline {
                        return Err(self.failed(position, reason));
                    }
                    tokio::time::sleep(REROUTE_BACKOFF).await;
                }
                Err(JobError::UnknownTopic) => {
                    return Err(FetchError::TopicNotFound {
                        topic: self.topic.to_string(),
                        partition: self.partition,
                    })
                }
                Err(JobError::Failed(reason)) => {
                    // The broker may be gone: look the leader up again next time.
                    shared.routes.forget(&self.topic, self.partition);
                    return Err(self.failed(position, reason));
                }
            }
        }
    }

    /// The offset `query` resolves to on the partition's leader.
    pub async fn offset_for(&self, query: OffsetQuery) -> Result<i64, FetchError> {
        let shared = &self.fetcher.shared;
        let deadline = tokio::time::Instant::now() + shared.connection.request_timeout_duration();
        loop {
            let route = match shared.routes.leader(&self.topic, self.partition).await {
                Ok(route) => route,
                Err(JobError::Stale(_)) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(REROUTE_BACKOFF).await;
                    continue;
                }
                Err(error) => return Err(self.failed(-1, error.reason())),
            };
            match offsets::list_offset(
                &shared.pool,
                &route,
                &self.topic,
                self.partition,
                query,
                shared.settings.isolation,
            )
            .await
            {
                Ok(offset) => return Ok(offset),
                Err(JobError::Stale(reason)) => {
                    shared.routes.forget(&self.topic, self.partition);
                    if tokio::time::Instant::now() >= deadline {
                        return Err(self.failed(-1, reason));
                    }
                    tokio::time::sleep(REROUTE_BACKOFF).await;
                }
                Err(error) => {
                    shared.routes.forget(&self.topic, self.partition);
                    return Err(self.failed(-1, error.reason()));
                }
            }
        }
    }

    fn record_lag(&self, fetched: &Fetched) {
        let lag = PartitionLag {
            topic: self.topic.to_string(),
            partition: self.partition,
            position: fetched.next_position,
            high_watermark: fetched.high_watermark,
            last_stable_offset: fetched.last_stable_offset,
            lag: fetched.lag(self.fetcher.shared.settings.isolation),
        };
        self.fetcher
            .shared
            .lags
            .lock()
            .expect("lags lock")
            .insert((Arc::clone(&self.topic), self.partition), lag);
    }

    /// The record that carries an unreadable batch to the error handler (see
    /// [`CORRUPT_BATCH_HEADER`]).
    fn corrupt_batch_stand_in(&self, corrupt: &CorruptBatch) -> ConsumerRecord {
        let mut headers = Headers::new();
        headers.push(CORRUPT_BATCH_HEADER, Some(corrupt.reason.clone()));
        ConsumerRecord {
            topic: self.topic.to_string(),
            partition: self.partition,
            offset: corrupt.last_offset,
            timestamp: -1,
            timestamp_type: TimestampType::CreateTime,
            key: None,
            value: Some(corrupt.bytes.clone()),
            headers,
        }
    }

    fn failed(&self, offset: i64, reason: String) -> FetchError {
        FetchError::Broker {
            topic: self.topic.to_string(),
            partition: self.partition,
            offset,
            reason,
        }
    }

    fn decode(&self, position: i64, data: PartitionData) -> Fetched {
        let settings = &self.fetcher.shared.settings;
        let aborted: Option<Vec<AbortedTransaction>> = match settings.isolation {
            IsolationLevel::ReadCommitted => Some(
                data.aborted_transactions
                    .unwrap_or_default()
                    .iter()
                    .map(|t| AbortedTransaction {
                        producer_id: t.producer_id.0,
                        first_offset: t.first_offset,
                    })
                    .collect(),
            ),
            IsolationLevel::ReadUncommitted => None,
        };
        let decoded = BatchDecoder {
            topic: &self.topic,
            partition: self.partition,
            position,
            check_crcs: settings.check_crcs,
            aborted: aborted.as_deref(),
        }
        .decode(data.records.unwrap_or_default());
        let mut records = decoded.records;
        let mut corrupt = decoded.corrupt;
        let mut next_position = decoded.next_position;
        if let Some(corrupt) = corrupt.as_mut() {
            // Nor can it reach past the log end.
            if data.high_watermark > corrupt.base_offset {
                corrupt.last_offset = corrupt.last_offset.min(data.high_watermark - 1);
                next_position = Some(corrupt.last_offset + 1);
            }
            records.push(self.corrupt_batch_stand_in(corrupt));
        }
        let next_position = next_position
            .unwrap_or(position)
            .max(records.last().map_or(position, |r| r.offset + 1));
        Fetched {
            records,
            next_position,
            corrupt,
            high_watermark: data.high_watermark,
            last_stable_offset: data.last_stable_offset,
            log_start_offset: data.log_start_offset,
        }
    }
}
