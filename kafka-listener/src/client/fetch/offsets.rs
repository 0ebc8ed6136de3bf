//! ListOffsets on a partition's leader: earliest, latest, or the first offset at a time.

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{ListOffsetsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::broker_loop::JobError;
use super::pool::ConnectionPool;
use super::routes::Route;
use super::IsolationLevel;

/// What offset to look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetQuery {
    /// The log start offset.
    Earliest,
    /// The log end: the high watermark, or the last stable offset under `read_committed`.
    Latest,
    /// The first offset whose timestamp is at or after this time (ms since the epoch); -1 if
    /// there is none.
    Timestamp(i64),
}

impl OffsetQuery {
    fn wire_timestamp(self) -> i64 {
        match self {
            OffsetQuery::Earliest => -2,
            OffsetQuery::Latest => -1,
            OffsetQuery::Timestamp(millis) => millis.max(0),
        }
    }
}

pub(super) async fn list_offset(
    pool: &ConnectionPool,
    route: &Route,
    topic: &str,
    partition: i32,
    query: OffsetQuery,
    isolation: IsolationLevel,
) -> Result<i64, JobError> {
    let connection = pool
        .get(&route.addr)
        .await
        .map_err(|e| JobError::Failed(e.to_string()))?;
    let request = ListOffsetsRequest::default()
        .with_replica_id((-1).into())
        .with_isolation_level(isolation.wire_value())
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(partition)
                .with_current_leader_epoch(route.leader_epoch)
                .with_timestamp(query.wire_timestamp())])]);
    let response = connection
        .send(request)
        .await
        .map_err(|e| JobError::Failed(e.to_string()))?;
    let answer = response
        .topics
        .iter()
        .filter(|t| t.name.0.as_str() == topic)
        .flat_map(|t| t.partitions.iter())
        .find(|p| p.partition_index == partition)
        .ok_or_else(|| {
            JobError::Stale(format!(
                "broker {} left {topic}-{partition} out of its ListOffsets response",
                route.addr
            ))
        })?;
    match answer.error_code {
        0 => Ok(answer.offset),
        code => Err(JobError::from_code(code, &route.addr)),
    }
}
