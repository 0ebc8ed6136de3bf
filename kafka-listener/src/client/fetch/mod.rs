//! The consumer's data plane: one [`Fetcher`] per group member, one connection per broker, one
//! Fetch request per broker per round for every partition the member reads from it.
//!
//! Each partition's worker asks through its [`PartitionFetcher`] for records at a position. The
//! request joins a queue of the partition leader's [`broker loop`](broker_loop): while a Fetch
//! is on the wire, requests of other partitions gather, and the next Fetch carries all of them.
//! So the cost of a poll grows with brokers, not with partitions, and a paused partition —
//! whose worker does not ask — is simply left out of the request. Leaders come from Metadata and
//! are looked up again when a broker answers NOT_LEADER_OR_FOLLOWER, a fenced or unknown leader
//! epoch, or stops answering. Every request is bounded by `request.timeout.ms` (plus the fetch
//! wait the broker may hold it for); a connection that times out is closed and rebuilt.
//!
//! Records are decoded on the asking partition's task ([`decode`]), so partitions decode in
//! parallel and the broker loop only moves bytes.

mod broker_loop;
mod decode;
mod offsets;
mod pool;
mod routes;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::messages::fetch_response::PartitionData;
use tokio::sync::{mpsc, oneshot};

pub use decode::{AbortedTransaction, CorruptBatch, IsolationLevel};
pub use offsets::OffsetQuery;

use super::ConnectionConfig;
use crate::record::{ConsumerRecord, Headers, TimestampType, CORRUPT_BATCH_HEADER};
use broker_loop::{FetchJob, JobError};
use decode::BatchDecoder;
use pool::ConnectionPool;
use routes::{Route, Routes};

/// Fetch sizes, wait and isolation, from `spring.kafka.consumer.*` and the consumer's Kafka
/// properties.
///
/// ```
/// use kafka_listener::client::fetch::{FetchSettings, IsolationLevel};
/// let settings = FetchSettings::default();
/// assert_eq!(settings.max_bytes, 1024 * 1024); // max.partition.fetch.bytes
/// assert_eq!(settings.isolation, IsolationLevel::ReadUncommitted);
/// assert!(settings.check_crcs);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchSettings {
    /// The broker answers once this many bytes are available (Kafka's `fetch.min.bytes`, 1).
    pub min_bytes: i32,
    /// The most bytes one fetch returns for a partition (`max.partition.fetch.bytes`, 1 MiB).
    pub max_bytes: i32,
    /// The most bytes one Fetch response carries over all partitions (`fetch.max.bytes`,
    /// 50 MiB).
    pub response_max_bytes: i32,
    /// How long the broker may wait for `min_bytes` (`fetch.max.wait.ms`, 500 ms).
    pub max_wait: Duration,
    /// `isolation.level` (Kafka's default `read_uncommitted`).
    pub isolation: IsolationLevel,
    /// `check.crcs`: verify every batch's CRC (Kafka's default `true`).
    pub check_crcs: bool,
}

impl Default for FetchSettings {
    fn default() -> Self {
        Self {
            min_bytes: 1,
            max_bytes: 1024 * 1024,
            response_max_bytes: 50 * 1024 * 1024,
            max_wait: Duration::from_millis(500),
            isolation: IsolationLevel::ReadUncommitted,
            check_crcs: true,
        }
    }
}

/// Why a fetch returned no records.
#[derive(Debug, Clone, thiserror::Error)]
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
    /// The cluster does not know the topic (it was deleted, or not created yet).
    #[error("topic {topic} does not exist (partition {partition})")]
    TopicNotFound {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
    },
    /// Any other failure of the data plane; the partition backs off and tries again.
    #[error("fetch from {topic}-{partition} at offset {offset} failed: {reason}")]
    Broker {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// The position that was asked for (-1 for an offset lookup).
        offset: i64,
        /// What went wrong.
        reason: String,
    },
}

/// One partition's answer to a fetch.
#[derive(Debug, Default)]
pub struct Fetched {
    /// Records at or after the requested position, in offset order.
    pub records: Vec<ConsumerRecord>,
    /// Where the next fetch starts. Past the last record, and also past control batches and
    /// aborted transactions that delivered nothing, so a partition ending in a transaction
    /// marker is not fetched again and again from the same offset.
    pub next_position: i64,
    /// A batch that failed its CRC or did not parse; `next_position` is past it.
    pub corrupt: Option<CorruptBatch>,
    /// The partition's high watermark when the broker answered.
    pub high_watermark: i64,
    /// The last stable offset (below it, every transaction is decided); -1 if unknown.
    pub last_stable_offset: i64,
    /// The log start offset; -1 if unknown.
    pub log_start_offset: i64,
}

impl Fetched {
    /// How many records the partition holds past `next_position` (the consumer lag, as Kafka's
    /// `records-lag` metric: high watermark under `read_uncommitted`, last stable offset under
    /// `read_committed`).
    pub fn lag(&self, isolation: IsolationLevel) -> i64 {
        let end = match isolation {
            IsolationLevel::ReadCommitted if self.last_stable_offset >= 0 => {
                self.last_stable_offset
            }
            _ => self.high_watermark,
        };
        (end - self.next_position).max(0)
    }
}

/// Where one partition's consumption stands, from its last fetch response.
///
/// ```
/// use kafka_listener::client::fetch::PartitionLag;
/// let lag = PartitionLag { topic: "orders".into(), partition: 0, position: 90, high_watermark: 100, last_stable_offset: 95, lag: 10 };
/// assert_eq!(lag.high_watermark - lag.position, lag.lag);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// The next offset the fetcher reads.
    pub position: i64,
    /// The partition's high watermark.
    pub high_watermark: i64,
    /// The last stable offset (-1 if the broker gave none).
    pub last_stable_offset: i64,
    /// Records between the position and the log end the consumer can read (the high watermark
    /// under `read_uncommitted`, the last stable offset under `read_committed`): Kafka's
    /// `records-lag`.
    pub lag: i64,
}

/// A group member's fetcher: shared by every partition worker of the member.
///
/// ```no_run
/// use kafka_listener::client::ConnectionConfig;
/// use kafka_listener::client::fetch::{Fetcher, FetchSettings};
///
/// # async fn demo() -> Result<(), kafka_listener::client::fetch::FetchError> {
/// let fetcher = Fetcher::new(ConnectionConfig::new(["127.0.0.1:9092"]), FetchSettings::default());
/// let orders = fetcher.partition("orders", 0);
/// let fetched = orders.fetch(0).await?;
/// println!("{} records, next at {}", fetched.records.len(), fetched.next_position);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Fetcher {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    connection: ConnectionConfig,
    settings: FetchSettings,
    pool: Arc<ConnectionPool>,
    routes: Routes,
    /// One queue per broker (node id), each drained by its broker loop task. Dropping the
    /// senders (with the last `Fetcher`) ends the loops.
    loops: Mutex<HashMap<i32, (String, mpsc::UnboundedSender<FetchJob>)>>,
    /// The last fetch response's view of each partition.
    lags: Mutex<HashMap<(Arc<str>, i32), PartitionLag>>,
    /// Fetch requests sent, over every broker.
    requests: Arc<AtomicU64>,
}

impl Fetcher {
    /// A fetcher that reaches the cluster as `connection` says (bootstrap servers, timeouts,
    /// security). It connects lazily, on the first fetch.
    pub fn new(connection: ConnectionConfig, settings: FetchSettings) -> Self {
        let pool = Arc::new(ConnectionPool::new(connection.clone()));
        Self {
            shared: Arc::new(Shared {
                routes: Routes::new(connection.clone(), Arc::clone(&pool)),
                connection,
                settings,
                pool,
                loops: Mutex::new(HashMap::new()),
                lags: Mutex::new(HashMap::new()),
                requests: Arc::new(AtomicU64::new(0)),
            }),
        }
    }

    /// The handle one partition's worker fetches with.
    pub fn partition(&self, topic: &str, partition: i32) -> PartitionFetcher {
        PartitionFetcher {
            fetcher: self.clone(),
            topic: Arc::from(topic),
            partition,
        }
    }

    /// The settings fetches are made with.
    pub fn settings(&self) -> &FetchSettings {
        &self.shared.settings
    }

    /// The partition's lag as of its last fetch; `None` before the first one.
    pub fn lag(&self, topic: &str, partition: i32) -> Option<PartitionLag> {
        self.shared
            .lags
            .lock()
            .expect("lags lock")
            .get(&(Arc::from(topic), partition))
            .cloned()
    }

    /// Forgets a partition's lag (it was revoked).
    pub fn forget_lag(&self, topic: &str, partition: i32) {
        self.shared
            .lags
            .lock()
            .expect("lags lock")
            .remove(&(Arc::from(topic), partition));
    }

    /// Fetch requests sent so far, over every broker (one per broker per round, however many
    /// partitions it carries).
    pub fn fetch_requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Broker connections this fetcher holds open now (one per broker it fetched from).
    pub fn open_connections(&self) -> usize {
        self.shared.pool.open_connections()
    }

    fn enqueue(&self, route: &Route, job: FetchJob) -> Result<(), String> {
        let mut loops = self.shared.loops.lock().expect("fetch loops lock");
        let stale = loops
            .get(&route.node)
            .is_some_and(|(addr, sender)| *addr != route.addr || sender.is_closed());
        if stale {
            loops.remove(&route.node);
        }
        let (_, sender) = loops.entry(route.node).or_insert_with(|| {
            let (sender, jobs) = mpsc::unbounded_channel();
            tokio::spawn(broker_loop::run(
                route.addr.clone(),
                Arc::clone(&self.shared.pool),
                self.shared.settings,
                self.shared.connection.request_timeout_duration(),
                Arc::clone(&self.shared.requests),
                jobs,
            ));
            (route.addr.clone(), sender)
        });
        sender
            .send(job)
            .map_err(|_| format!("the fetch loop for broker {} stopped", route.addr))
    }
}

/// Fetches one partition through its member's [`Fetcher`].
#[derive(Debug, Clone)]
pub struct PartitionFetcher {
    fetcher: Fetcher,
    topic: Arc<str>,
    partition: i32,
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
