//! One broker's fetch loop: gathers the partitions that asked while the previous request was on
//! the wire and sends them as one Fetch request.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::{FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::pool::ConnectionPool;
use super::FetchSettings;

/// The first Fetch version that names topics by id instead of by name.
const FIRST_TOPIC_ID_VERSION: i16 = 13;

/// One partition's request, answered with its raw partition data.
#[derive(Debug)]
pub(super) struct FetchJob {
    pub(super) topic: Arc<str>,
    pub(super) topic_id: Uuid,
    pub(super) partition: i32,
    pub(super) position: i64,
    pub(super) leader_epoch: i32,
    pub(super) reply: oneshot::Sender<Result<PartitionData, JobError>>,
}

/// Why a job got no data.
#[derive(Debug, Clone)]
pub(super) enum JobError {
    /// OFFSET_OUT_OF_RANGE: the reset policy decides.
    OutOfRange,
    /// The route is out of date (leader moved, epoch fenced, topic unknown): look it up again
    /// and retry.
    Stale(String),
    /// The broker or connection failed: the caller backs off.
    Failed(String),
    /// Metadata says the topic does not exist.
    UnknownTopic,
}

impl JobError {
    pub(super) fn reason(self) -> String {
        match self {
            JobError::OutOfRange => "offset out of range".to_owned(),
            JobError::UnknownTopic => "unknown topic".to_owned(),
            JobError::Stale(reason) | JobError::Failed(reason) => reason,
        }
    }

    /// Classifies a partition-level error code.
    pub(super) fn from_code(code: i16, addr: &str) -> Self {
        let error = ResponseError::try_from_code(code);
        let reason = match error {
            Some(error) => format!("broker {addr} answered {error:?}: {error}"),
            None => format!("broker {addr} answered error code {code}"),
        };
        match error {
            Some(ResponseError::OffsetOutOfRange) => JobError::OutOfRange,
            Some(
                ResponseError::NotLeaderOrFollower
                | ResponseError::FencedLeaderEpoch
                | ResponseError::UnknownLeaderEpoch
                | ResponseError::UnknownTopicOrPartition
                | ResponseError::UnknownTopicId
                | ResponseError::InconsistentTopicId
                | ResponseError::LeaderNotAvailable
                | ResponseError::ReplicaNotAvailable
                | ResponseError::OffsetNotAvailable
                | ResponseError::KafkaStorageError,
            ) => JobError::Stale(reason),
            _ => JobError::Failed(reason),
        }
    }
}

/// Runs until every sender of `jobs` is gone.
pub(super) async fn run(
    addr: String,
    pool: Arc<ConnectionPool>,
    settings: FetchSettings,
    request_timeout: Duration,
    requests: Arc<AtomicU64>,
    mut jobs: mpsc::UnboundedReceiver<FetchJob>,
) {
    // The broker may hold a Fetch for max_wait before answering; the deadline is on top of it.
    let timeout = request_timeout + settings.max_wait;
    let mut previous: HashSet<(Arc<str>, i32)> = HashSet::new();
    while let Some(first) = jobs.recv().await {
        let round = gather(first, &mut jobs, &previous).await;
        previous = round
            .iter()
            .map(|job| (Arc::clone(&job.topic), job.partition))
            .collect();
        let mut round = round;
        round.retain(|job| !job.reply.is_closed());
        if round.is_empty() {
            continue;
        }
        requests.fetch_add(1, Ordering::Relaxed);
        match fetch_round(&addr, &pool, &settings, timeout, &round).await {
            Ok(mut answers) => {
                for job in round {
                    let answer = answers
                        .remove(&(Arc::clone(&job.topic), job.partition))
                        .unwrap_or_else(|| {
                            Err(JobError::Stale(format!(
                                "broker {addr} left {}-{} out of its Fetch response",
                                job.topic, job.partition
                            )))
                        });
                    let _ = job.reply.send(answer);
                }
            }
            Err(error) => {
                for job in round {
                    let _ = job.reply.send(Err(error.clone()));
                }
            }
        }
    }
}

/// How long a round waits for the partitions of the previous round that have not asked again
/// yet. Their workers ask right after the previous answer, but a moment apart: without the
/// wait, the first one would go out alone and, if it has no new data, hold every other
/// partition of this broker back for a whole `fetch.max.wait.ms`.
const GATHER_WINDOW: Duration = Duration::from_millis(1);

/// The next round's jobs: `first`, whatever else is queued, and — for at most
/// [`GATHER_WINDOW`] — the partitions of the previous round still to ask.
async fn gather(
    first: FetchJob,
    jobs: &mut mpsc::UnboundedReceiver<FetchJob>,
    previous: &HashSet<(Arc<str>, i32)>,
) -> Vec<FetchJob> {
    fn take(job: FetchJob, round: &mut Vec<FetchJob>, missing: &mut HashSet<(Arc<str>, i32)>) {
        missing.remove(&(Arc::clone(&job.topic), job.partition));
        round.push(job);
    }
    let mut missing = previous.clone();
    let mut round = Vec::new();
    take(first, &mut round, &mut missing);
    let deadline = tokio::time::Instant::now() + GATHER_WINDOW;
    loop {
        while let Ok(job) = jobs.try_recv() {
            take(job, &mut round, &mut missing);
        }
        if missing.is_empty() {
            return round;
        }
        match tokio::time::timeout_at(deadline, jobs.recv()).await {
            Ok(Some(job)) => take(job, &mut round, &mut missing),
            Ok(None) | Err(_) => return round,
        }
    }
}

type Answers = HashMap<(Arc<str>, i32), Result<PartitionData, JobError>>;

async fn fetch_round(
    addr: &str,
    pool: &ConnectionPool,
    settings: &FetchSettings,
    timeout: Duration,
    round: &[FetchJob],
) -> Result<Answers, JobError> {
    let connection = pool
        .get(addr)
        .await
        .map_err(|e| JobError::Failed(e.to_string()))?;
    let mut version = connection
        .version_for::<FetchRequest>()
        .map_err(|e| JobError::Failed(e.to_string()))?;
    let ids_known = round.iter().all(|job| !job.topic_id.is_nil());
    if !ids_known {
        version = version.min(FIRST_TOPIC_ID_VERSION - 1);
    }
    let by_id = version >= FIRST_TOPIC_ID_VERSION;
    let request = build_request(settings, round);
    let response: FetchResponse = connection
        .send_version(request, version, timeout)
        .await
        .map_err(|e| JobError::Failed(e.to_string()))?;
    if response.error_code != 0 {
        return Err(JobError::from_code(response.error_code, addr));
    }
    let names: HashMap<Uuid, Arc<str>> = round
        .iter()
        .map(|job| (job.topic_id, Arc::clone(&job.topic)))
        .collect();
    let mut answers = Answers::new();
    for topic in response.responses {
        let name = if by_id {
            names.get(&topic.topic_id).cloned()
        } else {
            Some(Arc::from(topic.topic.0.as_str()))
        };
        let Some(name) = name else { continue };
        for partition in topic.partitions {
            let index = partition.partition_index;
            let answer = match partition.error_code {
                0 => Ok(partition),
                code => Err(JobError::from_code(code, addr)),
            };
            answers.insert((Arc::clone(&name), index), answer);
        }
    }
    Ok(answers)
}

fn build_request(settings: &FetchSettings, round: &[FetchJob]) -> FetchRequest {
    let mut topics: Vec<FetchTopic> = Vec::new();
    for job in round {
        let partition = FetchPartition::default()
            .with_partition(job.partition)
            .with_current_leader_epoch(job.leader_epoch)
            .with_fetch_offset(job.position)
            .with_last_fetched_epoch(-1)
            .with_log_start_offset(-1)
            .with_partition_max_bytes(settings.max_bytes);
        match topics
            .iter_mut()
            .find(|t| t.topic.0.as_str() == &*job.topic)
        {
            Some(topic) => topic.partitions.push(partition),
            None => topics.push(
                FetchTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(job.topic.to_string())))
                    .with_topic_id(job.topic_id)
                    .with_partitions(vec![partition]),
            ),
        }
    }
    let max_wait_ms = i32::try_from(settings.max_wait.as_millis()).unwrap_or(i32::MAX);
    // Session id 0 with epoch -1: a full fetch that opens no fetch session (KIP-227).
    FetchRequest::default()
        .with_replica_id((-1).into())
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(settings.min_bytes)
        .with_max_bytes(settings.response_max_bytes)
        .with_isolation_level(settings.isolation.wire_value())
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(topics)
}
