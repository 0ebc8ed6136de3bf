//! [`ReplyingKafkaTemplate`]: request/reply over Kafka, as Spring's `ReplyingKafkaTemplate`.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::{CORRELATION_ID, REPLY_PARTITION, REPLY_TOPIC};
use crate::client::fetch::{FetchError, FetchSettings, Fetcher, OffsetQuery, PartitionFetcher};
use crate::client::{ClientError, ConnectionConfig};
use crate::producer::{KafkaTemplate, ProducerRecord, SendError, SendResult};
use crate::record::ConsumerRecord;

/// Spring's `ReplyingKafkaTemplate.DEFAULT_REPLY_TIMEOUT`.
const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a request got no reply.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// The request could not be sent.
    #[error("sending the request failed: {0}")]
    Request(#[from] SendError),
    /// No reply with the request's correlation id arrived in time (Spring's
    /// `KafkaReplyTimeoutException`).
    #[error(
        "no reply on {reply_topic} for correlation id {correlation_id} within {timeout:?}; is a \
         `send_to` listener consuming {request_topic}?"
    )]
    Timeout {
        /// The request's topic.
        request_topic: String,
        /// Where the reply was awaited.
        reply_topic: String,
        /// The correlation id, hex.
        correlation_id: String,
        /// How long we waited.
        timeout: Duration,
    },
    /// The reply topic cannot be read.
    #[error("cannot read reply topic {topic}: {reason}")]
    ReplyTopic {
        /// The reply topic.
        topic: String,
        /// Why.
        reason: String,
    },
    /// The data plane client could not be built.
    #[error(transparent)]
    Client(#[from] ClientError),
}

type Pending = Arc<Mutex<HashMap<Bytes, oneshot::Sender<ConsumerRecord>>>>;

/// Sends requests and awaits their replies: each request carries a fresh `kafka_correlationId`
/// and `kafka_replyTopic` header; a background reader of the reply topic hands each reply to
/// the request with its correlation id. Replies from a `#[kafka_listener(send_to)]` (or Spring
/// `@SendTo`) listener carry the id back.
///
/// Every instance reads all partitions of the reply topic from their end at start (no consumer
/// group), so several requesters may share one reply topic; replies for other instances are
/// skipped. Cheap to clone; the reader stops when the last clone is dropped or on
/// [`shutdown`](Self::shutdown).
///
/// ```no_run
/// use kafka_listener::client::ConnectionConfig;
/// use kafka_listener::producer::{KafkaTemplate, ProducerSettings};
/// use kafka_listener::reply::ReplyingKafkaTemplate;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let connection = ConnectionConfig::new(["127.0.0.1:9092"]);
/// let template = KafkaTemplate::connect(connection.clone(), ProducerSettings::default()).await?;
/// let requests = ReplyingKafkaTemplate::start(template, connection, "quote-replies").await?;
/// let reply = requests.send_and_receive("quote-requests", "sku-1", "how much?").await?;
/// println!("{:?}", reply.value);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ReplyingKafkaTemplate {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    template: KafkaTemplate,
    reply_topic: String,
    reply_partition: Option<i32>,
    default_timeout: Duration,
    pending: Pending,
    readers: Mutex<Vec<JoinHandle<()>>>,
    stop: CancellationToken,
    _stop_on_drop: DropGuard,
}

impl ReplyingKafkaTemplate {
    /// Starts reading every partition of `reply_topic` from its current end, then returns:
    /// a reply to any request sent afterwards is seen.
    pub async fn start(
        template: KafkaTemplate,
        connection: ConnectionConfig,
        reply_topic: impl Into<String>,
    ) -> Result<Self, ReplyError> {
        Self::start_with(template, connection, reply_topic.into(), None).await
    }

    /// Like [`start`](Self::start), but reads only `partition` of the reply topic and asks
    /// repliers to answer there (`kafka_replyPartition`), as Spring does with assigned
    /// reply partitions: requesters sharing a reply topic each take their own partition.
    pub async fn start_on_partition(
        template: KafkaTemplate,
        connection: ConnectionConfig,
        reply_topic: impl Into<String>,
        partition: i32,
    ) -> Result<Self, ReplyError> {
        Self::start_with(template, connection, reply_topic.into(), Some(partition)).await
    }

    async fn start_with(
        template: KafkaTemplate,
        connection: ConnectionConfig,
        reply_topic: String,
        reply_partition: Option<i32>,
    ) -> Result<Self, ReplyError> {
        let topic_error = |reason: String| ReplyError::ReplyTopic {
            topic: reply_topic.clone(),
            reason,
        };
        let count = template.partition_count(&reply_topic).await?;
        let partitions: Vec<i32> = match reply_partition {
            Some(p) if (0..count).contains(&p) => vec![p],
            Some(p) => {
                return Err(topic_error(format!(
                    "it has {count} partitions; partition {p} does not exist"
                )))
            }
            None => (0..count).collect(),
        };
        // One fetcher for every reply partition: one connection per broker.
        let replies = Fetcher::new(
            connection.clone(),
            FetchSettings {
                max_wait: Duration::from_millis(200),
                ..FetchSettings::default()
            },
        );
        let stop = CancellationToken::new();
        let pending: Pending = Arc::default();
        let mut readers = Vec::new();
        for partition in partitions {
            let fetcher = replies.partition(reply_topic.as_str(), partition);
            let start = fetcher
                .offset_for(OffsetQuery::Latest)
                .await
                .map_err(|e| topic_error(e.to_string()))?;
            readers.push(tokio::spawn(read_replies(
                fetcher,
                start,
                Arc::clone(&pending),
                stop.clone(),
            )));
        }
        tracing::debug!(reply_topic = %reply_topic, ?reply_partition, "reading replies");
        Ok(Self {
            inner: Arc::new(Inner {
                template,
                reply_topic,
                reply_partition,
                default_timeout: DEFAULT_REPLY_TIMEOUT,
                pending,
                readers: Mutex::new(readers),
                _stop_on_drop: stop.clone().drop_guard(),
                stop,
            }),
        })
    }

    /// The reply timeout of [`send_and_receive`](Self::send_and_receive) (Spring's default: 5 s).
    pub fn with_default_reply_timeout(self, timeout: Duration) -> Self {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                inner.default_timeout = timeout;
                Self {
                    inner: Arc::new(inner),
                }
            }
            Err(shared) => {
                tracing::warn!("with_default_reply_timeout on a shared template has no effect");
                Self { inner: shared }
            }
        }
    }

    /// The topic replies are read from.
    pub fn reply_topic(&self) -> &str {
        &self.inner.reply_topic
    }

    /// Sends `value` with `key` to `topic` and awaits the reply (default timeout).
    pub async fn send_and_receive(
        &self,
        topic: &str,
        key: impl crate::producer::ToPayload,
        value: impl crate::producer::ToPayload,
    ) -> Result<ConsumerRecord, ReplyError> {
        let serialize = |source| SendError::Serialize {
            topic: topic.to_owned(),
            source,
        };
        let record = ProducerRecord {
            topic: topic.to_owned(),
            key: key.to_payload().map_err(serialize)?,
            value: value.to_payload().map_err(serialize)?,
            ..ProducerRecord::default()
        };
        self.send_and_receive_record(record, self.inner.default_timeout)
            .await
    }

    /// Sends `record` (its headers gain `kafka_correlationId` and `kafka_replyTopic`) and
    /// awaits the reply for at most `timeout`.
    pub async fn send_and_receive_record(
        &self,
        mut record: ProducerRecord,
        timeout: Duration,
    ) -> Result<ConsumerRecord, ReplyError> {
        let inner = &self.inner;
        let correlation = new_correlation_id();
        record
            .headers
            .push(CORRELATION_ID, Some(correlation.clone()));
        record
            .headers
            .push(REPLY_TOPIC, Some(inner.reply_topic.clone().into_bytes()));
        if let Some(partition) = inner.reply_partition {
            record
                .headers
                .push(REPLY_PARTITION, Some(partition.to_be_bytes().to_vec()));
        }
        let request_topic = record.topic.clone();
        let (reply_tx, reply_rx) = oneshot::channel();
        inner
            .pending
            .lock()
            .expect("pending lock")
            .insert(correlation.clone(), reply_tx);
        // Registered before sending: a fast reply cannot arrive unclaimed.
        let deadline = tokio::time::Instant::now() + timeout;
        let outcome = async {
            let sent: SendResult =
                tokio::time::timeout_at(deadline, inner.template.send_record(record))
                    .await
                    .map_err(|_| timed_out(inner, &request_topic, &correlation, timeout))??;
            tracing::debug!(topic = %request_topic, partition = sent.partition, offset = sent.offset, "request sent");
            match tokio::time::timeout_at(deadline, reply_rx).await {
                Ok(Ok(reply)) => Ok(reply),
                // The sender is dropped only with the pending map entry: treat as no reply.
                Ok(Err(_)) | Err(_) => {
                    Err(timed_out(inner, &request_topic, &correlation, timeout))
                }
            }
        }
        .await;
        if outcome.is_err() {
            inner
                .pending
                .lock()
                .expect("pending lock")
                .remove(&correlation);
        }
        outcome
    }

    /// Stops reading replies and waits for the readers to end; requests still waiting fail
    /// with [`ReplyError::Timeout`] when their time is up.
    pub async fn shutdown(&self) {
        self.inner.stop.cancel();
        let readers: Vec<_> = self
            .inner
            .readers
            .lock()
            .expect("readers lock")
            .drain(..)
            .collect();
        for reader in readers {
            let _ = reader.await;
        }
    }
}

fn timed_out(
    inner: &Inner,
    request_topic: &str,
    correlation: &[u8],
    timeout: Duration,
) -> ReplyError {
    ReplyError::Timeout {
        request_topic: request_topic.to_owned(),
        reply_topic: inner.reply_topic.clone(),
        correlation_id: correlation.iter().map(|b| format!("{b:02x}")).collect(),
        timeout,
    }
}

/// 16 bytes unique to this process and request (the size of the UUID Spring uses); not a
/// secret, only a key no other request shares.
fn new_correlation_id() -> Bytes {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u64(sequence);
    if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        hasher.write_u128(now.as_nanos());
    }
    let mut id = Vec::with_capacity(16);
    id.extend_from_slice(&hasher.finish().to_be_bytes());
    id.extend_from_slice(&sequence.to_be_bytes());
    Bytes::from(id)
}

/// Reads one reply partition from `position` until `stop`, handing each reply to its request.
async fn read_replies(
    fetcher: PartitionFetcher,
    mut position: i64,
    pending: Pending,
    stop: CancellationToken,
) {
    loop {
        let fetched = tokio::select! {
            _ = stop.cancelled() => return,
            fetched = fetcher.fetch(position) => fetched,
        };
        match fetched {
            Ok(fetched) => {
                position = position.max(fetched.next_position);
                for reply in fetched.records {
                    position = reply.offset + 1;
                    let Some(correlation) = reply.headers.last_value(CORRELATION_ID) else {
                        tracing::debug!(
                            partition = reply.partition,
                            offset = reply.offset,
                            "reply without {CORRELATION_ID} skipped"
                        );
                        continue;
                    };
                    let waiting = pending.lock().expect("pending lock").remove(&correlation);
                    match waiting {
                        Some(request) => {
                            let _ = request.send(reply);
                        }
                        None => tracing::debug!(
                            partition = reply.partition,
                            offset = reply.offset,
                            "reply for another requester, or one that timed out, skipped"
                        ),
                    }
                }
            }
            Err(FetchError::OffsetOutOfRange { .. }) => {
                match fetcher.offset_for(OffsetQuery::Latest).await {
                    Ok(latest) => position = latest,
                    Err(error) => tracing::warn!(%error, "reply topic offset lookup failed"),
                }
            }
            Err(error) => {
                tracing::warn!(%error, "fetching replies failed; retrying");
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn correlation_ids_are_16_bytes_and_never_repeat() {
        let ids: std::collections::HashSet<Bytes> =
            (0..10_000).map(|_| new_correlation_id()).collect();
        assert_eq!(ids.len(), 10_000);
        assert!(ids.iter().all(|id| id.len() == 16));
    }
}
