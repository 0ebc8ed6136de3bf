//! Raw-protocol helpers for the conformance suite: connections to the right broker, and the
//! requests the tests send, at pinned versions so both brokers see identical bytes.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_listener::client::BrokerConnection;
use kafka_listener_suite::TestKafka;
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

pub const TIMEOUT: Duration = Duration::from_secs(20);
pub const PRODUCE_VERSION: i16 = 9;
pub const FETCH_VERSION: i16 = 12;
pub const LIST_OFFSETS_VERSION: i16 = 7;
pub const METADATA_VERSION: i16 = 12;
pub const OFFSET_COMMIT_VERSION: i16 = 9;
pub const OFFSET_FETCH_VERSION: i16 = 9;

/// Polls `attempt` until it yields a value, panicking with `what` after [`TIMEOUT`].
pub async fn poll_until<T, F, Fut>(what: &str, mut attempt: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        if let Some(value) = attempt().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {TIMEOUT:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_owned())
}

pub fn topic_name(v: &str) -> TopicName {
    TopicName(s(v))
}

pub async fn connect(kafka: &TestKafka, addr: &str) -> BrokerConnection {
    BrokerConnection::connect(addr, kafka.connection())
        .await
        .unwrap_or_else(|e| panic!("connect to {addr}: {e}"))
}

/// A connection to the first bootstrap server.
pub async fn bootstrap(kafka: &TestKafka) -> BrokerConnection {
    let addr = kafka
        .bootstrap()
        .split(',')
        .next()
        .expect("a bootstrap server")
        .trim()
        .to_owned();
    connect(kafka, &addr).await
}

pub async fn metadata(
    conn: &BrokerConnection,
    topics: Option<&[&str]>,
    allow_auto_create: bool,
) -> MetadataResponse {
    let request = MetadataRequest::default()
        .with_topics(topics.map(|ts| {
            ts.iter()
                .map(|t| MetadataRequestTopic::default().with_name(Some(topic_name(t))))
                .collect()
        }))
        .with_allow_auto_topic_creation(allow_auto_create);
    conn.send_version(request, METADATA_VERSION, TIMEOUT)
        .await
        .expect("metadata")
}

/// A connection to the leader of a partition.
pub async fn leader(kafka: &TestKafka, topic: &str, partition: i32) -> BrokerConnection {
    let conn = bootstrap(kafka).await;
    let addr = poll_until(&format!("{topic}-{partition} to have a leader"), || async {
        let md = metadata(&conn, Some(&[topic]), false).await;
        let t = md.topics.iter().find(|t| t.error_code == 0)?;
        let p = t
            .partitions
            .iter()
            .find(|p| p.partition_index == partition && p.leader_id.0 >= 0)?;
        let b = md.brokers.iter().find(|b| b.node_id == p.leader_id)?;
        Some(format!("{}:{}", b.host.as_str(), b.port))
    })
    .await;
    connect(kafka, &addr).await
}

/// A connection to a group's coordinator (retrying while Kafka creates `__consumer_offsets`).
pub async fn coordinator(kafka: &TestKafka, group: &str) -> Arc<BrokerConnection> {
    let conn = bootstrap(kafka).await;
    let addr = poll_until(&format!("a coordinator for {group}"), || async {
        let request = FindCoordinatorRequest::default()
            .with_key_type(0)
            .with_coordinator_keys(vec![s(group)]);
        let response = conn.send_version(request, 4, TIMEOUT).await.ok()?;
        let c = &response.coordinators[0];
        (c.error_code == 0).then(|| format!("{}:{}", c.host.as_str(), c.port))
    })
    .await;
    Arc::new(connect(kafka, &addr).await)
}

/// An uncompressed v2 batch of (key, value, timestamp) records.
pub fn batch(records: &[(&str, &str, i64)]) -> Bytes {
    let records: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, (k, v, ts))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // One batch: the encoder splits wherever offset - sequence changes.
            sequence: i as i32 - 1,
            timestamp: *ts,
            key: Some(Bytes::copy_from_slice(k.as_bytes())),
            value: Some(Bytes::copy_from_slice(v.as_bytes())),
            headers: IndexMap::new(),
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode batch");
    buf.freeze()
}

pub async fn produce_raw(
    conn: &BrokerConnection,
    topic: &str,
    partition: i32,
    records: Bytes,
) -> PartitionProduceResponse {
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(topic_name(topic))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(records))])]);
    let response = conn
        .send_version(request, PRODUCE_VERSION, TIMEOUT)
        .await
        .expect("produce");
    response.responses[0].partition_responses[0].clone()
}

/// Produces one batch to the partition's leader; panics unless it succeeds; returns its base offset.
pub async fn produce(
    kafka: &TestKafka,
    topic: &str,
    partition: i32,
    records: &[(&str, &str, i64)],
) -> i64 {
    // Right after a topic is created, a cluster's leader may not have loaded the partition yet
    // and answers with a retriable error; clients retry, and so does this helper.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let conn = leader(kafka, topic, partition).await;
        let r = produce_raw(&conn, topic, partition, batch(records)).await;
        let retriable = kafka_protocol::ResponseError::try_from_code(r.error_code)
            .is_some_and(|e| e.is_retriable());
        if retriable && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        }
        assert_eq!(r.error_code, 0, "produce to {topic}-{partition}");
        return r.base_offset;
    }
}

pub fn fetch_request(
    topic: &str,
    partitions: &[(i32, i64)],
    max_wait_ms: i32,
    min_bytes: i32,
) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(min_bytes)
        .with_max_bytes(50 * 1024 * 1024)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(topic_name(topic))
            .with_partitions(
                partitions
                    .iter()
                    .map(|&(p, offset)| {
                        FetchPartition::default()
                            .with_partition(p)
                            .with_fetch_offset(offset)
                            .with_partition_max_bytes(1024 * 1024)
                            .with_current_leader_epoch(-1)
                            .with_last_fetched_epoch(-1)
                            .with_log_start_offset(-1)
                    })
                    .collect(),
            )])
}

pub async fn fetch(conn: &BrokerConnection, request: FetchRequest) -> Vec<PartitionData> {
    let response = conn
        .send_version(request, FETCH_VERSION, TIMEOUT)
        .await
        .expect("fetch");
    assert_eq!(response.error_code, 0);
    response
        .responses
        .into_iter()
        .flat_map(|t| t.partitions)
        .collect()
}

/// (offset, key, value, timestamp) of every record in a fetched record set.
pub fn decode(records: &Option<Bytes>) -> Vec<(i64, String, String, i64)> {
    let mut bytes = records.clone().unwrap_or_default();
    let sets = RecordBatchDecoder::decode_all(&mut bytes).expect("decode records");
    sets.into_iter()
        .flat_map(|set| set.records)
        .map(|r| {
            let text = |b: Option<Bytes>| {
                String::from_utf8(b.unwrap_or_default().to_vec()).expect("utf-8")
            };
            (r.offset, text(r.key), text(r.value), r.timestamp)
        })
        .collect()
}

/// ListOffsets for one partition: (error, offset, timestamp).
pub async fn list_offset(
    kafka: &TestKafka,
    topic: &str,
    partition: i32,
    timestamp: i64,
) -> (i16, i64, i64) {
    let conn = leader(kafka, topic, partition).await;
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![ListOffsetsTopic::default()
            .with_name(topic_name(topic))
            .with_partitions(vec![ListOffsetsPartition::default()
                .with_partition_index(partition)
                .with_timestamp(timestamp)
                .with_current_leader_epoch(-1)])]);
    let response = conn
        .send_version(request, LIST_OFFSETS_VERSION, TIMEOUT)
        .await
        .expect("list offsets");
    let p = &response.topics[0].partitions[0];
    (p.error_code, p.offset, p.timestamp)
}

/// A JoinGroup request of a consumer offering `protocols`, each with metadata `meta-<name>`.
pub fn join_request(
    group: &str,
    member_id: &str,
    protocols: &[&str],
    session_ms: i32,
    rebalance_ms: i32,
) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_member_id(s(member_id))
        .with_session_timeout_ms(session_ms)
        .with_rebalance_timeout_ms(rebalance_ms)
        .with_protocol_type(s("consumer"))
        .with_protocols(
            protocols
                .iter()
                .map(|p| {
                    JoinGroupRequestProtocol::default()
                        .with_name(s(p))
                        .with_metadata(Bytes::from(format!("meta-{p}")))
                })
                .collect(),
        )
}

/// JoinGroup, retried while the coordinator is still loading or moving (as clients do: Kafka
/// answers NOT_COORDINATOR for a moment after creating `__consumer_offsets`).
pub async fn join_raw(conn: &BrokerConnection, request: JoinGroupRequest) -> JoinGroupResponse {
    poll_until("a coordinator that accepts JoinGroup", || async {
        let response = conn
            .send_version(request.clone(), 9, Duration::from_secs(60))
            .await
            .expect("join");
        (![14, 15, 16].contains(&response.error_code)).then_some(response)
    })
    .await
}

/// Joins as a new dynamic member, answering MEMBER_ID_REQUIRED with the id given.
pub async fn join_new(
    conn: &BrokerConnection,
    group: &str,
    protocols: &[&str],
    session_ms: i32,
    rebalance_ms: i32,
) -> JoinGroupResponse {
    let first = join_raw(
        conn,
        join_request(group, "", protocols, session_ms, rebalance_ms),
    )
    .await;
    assert_eq!(
        first.error_code, 79,
        "a first join without member id gets MEMBER_ID_REQUIRED"
    );
    join_raw(
        conn,
        join_request(
            group,
            first.member_id.as_str(),
            protocols,
            session_ms,
            rebalance_ms,
        ),
    )
    .await
}

/// SyncGroup v5 of a group using protocol `range`.
pub async fn sync(
    conn: &BrokerConnection,
    group: &str,
    generation: i32,
    member_id: &str,
    assignments: &[(&str, &str)],
) -> SyncGroupResponse {
    sync_with(conn, group, generation, member_id, "range", assignments).await
}

/// SyncGroup v5, which requires the protocol type and name.
pub async fn sync_with(
    conn: &BrokerConnection,
    group: &str,
    generation: i32,
    member_id: &str,
    protocol: &str,
    assignments: &[(&str, &str)],
) -> SyncGroupResponse {
    let request = SyncGroupRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id(generation)
        .with_member_id(s(member_id))
        .with_protocol_type(Some(s("consumer")))
        .with_protocol_name(Some(s(protocol)))
        .with_assignments(
            assignments
                .iter()
                .map(|(m, a)| {
                    SyncGroupRequestAssignment::default()
                        .with_member_id(s(m))
                        .with_assignment(Bytes::from(a.to_string()))
                })
                .collect(),
        );
    conn.send_version(request, 5, Duration::from_secs(60))
        .await
        .expect("sync")
}

pub async fn heartbeat(
    conn: &BrokerConnection,
    group: &str,
    generation: i32,
    member_id: &str,
) -> i16 {
    let request = HeartbeatRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id(generation)
        .with_member_id(s(member_id));
    conn.send_version(request, 4, TIMEOUT)
        .await
        .expect("heartbeat")
        .error_code
}

pub async fn leave(
    conn: &BrokerConnection,
    group: &str,
    member_ids: &[&str],
) -> LeaveGroupResponse {
    let request = LeaveGroupRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_members(
            member_ids
                .iter()
                .map(|m| leave_group_request::MemberIdentity::default().with_member_id(s(m)))
                .collect(),
        );
    conn.send_version(request, 5, TIMEOUT).await.expect("leave")
}

pub async fn commit(
    conn: &BrokerConnection,
    group: &str,
    generation: i32,
    member_id: &str,
    topic: &str,
    offsets: &[(i32, i64)],
) -> Vec<i16> {
    let request = OffsetCommitRequest::default()
        .with_group_id(GroupId(s(group)))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(s(member_id))
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(topic_name(topic))
            .with_partitions(
                offsets
                    .iter()
                    .map(|&(p, o)| {
                        OffsetCommitRequestPartition::default()
                            .with_partition_index(p)
                            .with_committed_offset(o)
                            .with_committed_leader_epoch(-1)
                    })
                    .collect(),
            )]);
    let response = conn
        .send_version(request, OFFSET_COMMIT_VERSION, TIMEOUT)
        .await
        .expect("commit");
    response.topics[0]
        .partitions
        .iter()
        .map(|p| p.error_code)
        .collect()
}

/// Committed offsets of `partitions` of `topic`: (partition, offset) with -1 for none.
pub async fn committed(
    conn: &BrokerConnection,
    group: &str,
    topic: &str,
    partitions: &[i32],
) -> Vec<(i32, i64)> {
    let request =
        OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(s(group)))
            .with_member_epoch(-1)
            .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                .with_name(topic_name(topic))
                .with_partition_indexes(partitions.to_vec())]))]);
    let response = conn
        .send_version(request, OFFSET_FETCH_VERSION, TIMEOUT)
        .await
        .expect("offset fetch");
    let group = &response.groups[0];
    assert_eq!(group.error_code, 0, "offset fetch of {group:?}");
    group
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .map(|p| (p.partition_index, p.committed_offset))
        })
        .collect()
}

/// DescribeGroups at v5 (the state of an unknown group is Dead).
pub async fn describe(
    conn: &BrokerConnection,
    group: &str,
) -> describe_groups_response::DescribedGroup {
    let request = DescribeGroupsRequest::default().with_groups(vec![GroupId(s(group))]);
    let mut response = conn
        .send_version(request, 5, TIMEOUT)
        .await
        .expect("describe");
    response.groups.remove(0)
}
