//! Producing exactly the bytes a test wants, on either broker: hand-built record batches sent
//! with raw Produce requests (null header values, codecs, producer ids), and a transactional
//! producer that speaks Kafka's transaction protocol (InitProducerId, AddPartitionsToTxn,
//! Produce, EndTxn) the way kafka-clients does, so transactions can be written without a JVM.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_listener::client::{BrokerConnection, ConnectionConfig};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, EndTxnRequest, FindCoordinatorRequest, GroupId,
    InitProducerIdRequest, MetadataRequest, OffsetCommitRequest, ProduceRequest, ProduceResponse,
    ProducerId, TopicName, TransactionalId,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

/// Kafka's retriable answers while a leader or coordinator loads or a previous transaction's
/// markers are still being written: LEADER_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS,
/// COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR, CONCURRENT_TRANSACTIONS.
const RETRIABLE: [i16; 5] = [LEADER_NOT_AVAILABLE, 14, 15, 16, 51];
const LEADER_NOT_AVAILABLE: i16 = 5;
const DEADLINE: Duration = Duration::from_secs(30);

/// A record for [`batch`]: `offset` is its position inside the batch (0, 1, …).
pub fn record(offset: i64, key: Option<&'static str>, value: Option<&'static str>) -> Record {
    Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset,
        // kafka-protocol's encoder starts a new batch whenever offset − sequence changes, and
        // Kafka takes one batch per partition in a Produce request: base sequence −1 (no
        // idempotence) plus the offset delta keeps the records in one batch.
        sequence: offset as i32 - 1,
        timestamp: 1_700_000_000_000 + offset,
        key: key.map(|k| Bytes::from_static(k.as_bytes())),
        value: value.map(|v| Bytes::from_static(v.as_bytes())),
        headers: IndexMap::new(),
    }
}

/// One v2 record batch of `records`, as a producer sends it.
pub fn batch(records: &[Record], compression: Compression) -> Bytes {
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .expect("encode batch");
    buf.freeze()
}

/// The `host:port` of the partition's leader and the cluster's broker count, from Metadata.
pub async fn leader_of(
    connection: &ConnectionConfig,
    topic: &str,
    partition: i32,
) -> (String, usize) {
    let bootstrap = BrokerConnection::connect(&connection.bootstrap_servers()[0], connection)
        .await
        .expect("connect for metadata");
    let request =
        MetadataRequest::default().with_topics(Some(vec![MetadataRequestTopic::default()
            .with_name(Some(TopicName(StrBytes::from_string(topic.to_owned()))))]));
    // Each broker learns of a new topic on its own (KRaft): ask until this one knows its leader.
    retry("Metadata", || async {
        let response = bootstrap.send(request.clone()).await.expect("metadata");
        let leader = response.topics[0]
            .partitions
            .iter()
            .find(|p| p.partition_index == partition)
            .map(|p| p.leader_id);
        let broker = response.brokers.iter().find(|b| Some(b.node_id) == leader);
        match broker {
            Some(broker) => (
                0,
                (
                    format!("{}:{}", broker.host.as_str(), broker.port),
                    response.brokers.len(),
                ),
            ),
            None => (LEADER_NOT_AVAILABLE, (String::new(), 0)),
        }
    })
    .await
}

/// Sends `records` (one or more encoded batches) to the partition's leader as they are.
pub async fn produce_raw(
    connection: &ConnectionConfig,
    topic: &str,
    partition: i32,
    records: Bytes,
) {
    produce_to_leader(connection, None, topic, partition, records).await;
}

async fn produce_to_leader(
    connection: &ConnectionConfig,
    transactional_id: Option<&str>,
    topic: &str,
    partition: i32,
    records: Bytes,
) {
    let (leader, _) = leader_of(connection, topic, partition).await;
    let leader = BrokerConnection::connect(&leader, connection)
        .await
        .expect("connect to the leader");
    // v13 names topics by id; v12 by name is enough here and every Kafka 4 broker has it.
    let version = leader
        .version_for::<ProduceRequest>()
        .expect("produce version")
        .min(12);
    let request = ProduceRequest::default()
        .with_transactional_id(
            transactional_id.map(|id| TransactionalId(StrBytes::from_string(id.to_owned()))),
        )
        .with_acks(-1)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(records))])]);
    let response: ProduceResponse = leader
        .send_version(request, version, Duration::from_secs(15))
        .await
        .expect("produce");
    let code = response.responses[0].partition_responses[0].error_code;
    assert_eq!(
        code, 0,
        "produce to {topic}-{partition} failed with code {code}"
    );
}

/// A transactional producer on raw requests (transaction protocol v1, as kafka-clients speaks
/// it to brokers without transactions v2).
pub struct TransactionalProducer {
    connection: ConnectionConfig,
    transactional_id: String,
    coordinator: BrokerConnection,
    producer_id: i64,
    epoch: i16,
    /// Next sequence number per partition (idempotence).
    sequences: HashMap<(String, i32), i32>,
    in_transaction: BTreeSet<(String, i32)>,
}

impl TransactionalProducer {
    /// Finds the transaction coordinator and initialises the producer id (fencing earlier
    /// instances of `transactional_id`).
    pub async fn init(connection: &ConnectionConfig, transactional_id: &str) -> Self {
        let coordinator = find_coordinator(connection, transactional_id, 1).await;
        let request = InitProducerIdRequest::default()
            .with_transactional_id(Some(TransactionalId(StrBytes::from_string(
                transactional_id.to_owned(),
            ))))
            .with_transaction_timeout_ms(60_000)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
        let response = retry("InitProducerId", || async {
            let response = coordinator
                .send(request.clone())
                .await
                .expect("InitProducerId");
            (response.error_code, response)
        })
        .await;
        Self {
            connection: connection.clone(),
            transactional_id: transactional_id.to_owned(),
            coordinator,
            producer_id: response.producer_id.0,
            epoch: response.producer_epoch,
            sequences: HashMap::new(),
            in_transaction: BTreeSet::new(),
        }
    }

    /// Writes `values` (keyed `k`) to the partition inside the open transaction.
    pub async fn send(&mut self, topic: &str, partition: i32, values: &[&'static str]) {
        let tp = (topic.to_owned(), partition);
        if self.in_transaction.insert(tp.clone()) {
            let request = AddPartitionsToTxnRequest::default()
                .with_v3_and_below_transactional_id(self.txn_id())
                .with_v3_and_below_producer_id(ProducerId(self.producer_id))
                .with_v3_and_below_producer_epoch(self.epoch)
                .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
                    .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
                    .with_partitions(vec![partition])]);
            let coordinator = &self.coordinator;
            let version = coordinator
                .version_for::<AddPartitionsToTxnRequest>()
                .expect("AddPartitionsToTxn version")
                .min(3);
            retry("AddPartitionsToTxn", || async {
                let response = coordinator
                    .send_version(request.clone(), version, Duration::from_secs(15))
                    .await
                    .expect("AddPartitionsToTxn");
                let code = response.results_by_topic_v3_and_below[0].results_by_partition[0]
                    .partition_error_code;
                (code, ())
            })
            .await;
        }
        let sequence = self.sequences.entry(tp).or_insert(0);
        let records: Vec<Record> = values
            .iter()
            .enumerate()
            .map(|(i, value)| Record {
                transactional: true,
                producer_id: self.producer_id,
                producer_epoch: self.epoch,
                sequence: *sequence + i as i32,
                ..record(i as i64, Some("k"), Some(value))
            })
            .collect();
        *sequence += values.len() as i32;
        let bytes = batch(&records, Compression::None);
        produce_to_leader(
            &self.connection,
            Some(&self.transactional_id),
            topic,
            partition,
            bytes,
        )
        .await;
    }

    /// Commits the open transaction.
    pub async fn commit(&mut self) {
        self.end(true).await;
    }

    /// Aborts the open transaction.
    pub async fn abort(&mut self) {
        self.end(false).await;
    }

    async fn end(&mut self, committed: bool) {
        let request = EndTxnRequest::default()
            .with_transactional_id(self.txn_id())
            .with_producer_id(ProducerId(self.producer_id))
            .with_producer_epoch(self.epoch)
            .with_committed(committed);
        let coordinator = &self.coordinator;
        let version = coordinator
            .version_for::<EndTxnRequest>()
            .expect("EndTxn version")
            .min(4);
        retry("EndTxn", || async {
            let response = coordinator
                .send_version(request.clone(), version, Duration::from_secs(15))
                .await
                .expect("EndTxn");
            (response.error_code, ())
        })
        .await;
        self.in_transaction.clear();
    }

    fn txn_id(&self) -> TransactionalId {
        TransactionalId(StrBytes::from_string(self.transactional_id.clone()))
    }
}

async fn find_coordinator(
    connection: &ConnectionConfig,
    key: &str,
    key_type: i8,
) -> BrokerConnection {
    let bootstrap = BrokerConnection::connect(&connection.bootstrap_servers()[0], connection)
        .await
        .expect("connect for FindCoordinator");
    // v4+ (every Kafka 4 broker): coordinator keys in a list.
    let request = FindCoordinatorRequest::default()
        .with_key_type(key_type)
        .with_coordinator_keys(vec![StrBytes::from_string(key.to_owned())]);
    let addr = retry("FindCoordinator", || async {
        let response = bootstrap
            .send(request.clone())
            .await
            .expect("FindCoordinator");
        match response.coordinators.first() {
            Some(c) => (c.error_code, format!("{}:{}", c.host.as_str(), c.port)),
            None => (
                response.error_code,
                format!("{}:{}", response.host.as_str(), response.port),
            ),
        }
    })
    .await;
    BrokerConnection::connect(&addr, connection)
        .await
        .expect("connect to the transaction coordinator")
}

/// Commits `offset` for a group nobody is a member of (generation -1, as an admin tool or a
/// consumer with manual assignment commits), e.g. to put a position past the log end.
pub async fn commit_offset(
    connection: &ConnectionConfig,
    group: &str,
    topic: &str,
    partition: i32,
    offset: i64,
) {
    let coordinator = find_coordinator(connection, group, 0).await;
    let request = OffsetCommitRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(partition)
                .with_committed_offset(offset)])]);
    // v9 names topics by name (v10 by id).
    let version = coordinator
        .version_for::<OffsetCommitRequest>()
        .expect("OffsetCommit version")
        .min(9);
    retry("OffsetCommit", || async {
        let response = coordinator
            .send_version(request.clone(), version, Duration::from_secs(15))
            .await
            .expect("OffsetCommit");
        (response.topics[0].partitions[0].error_code, ())
    })
    .await;
}

/// Repeats `call` while it answers a retriable error code, up to [`DEADLINE`].
async fn retry<T, F, Fut>(what: &str, mut call: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = (i16, T)>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let (code, value) = call().await;
        if code == 0 {
            return value;
        }
        assert!(
            RETRIABLE.contains(&code) && tokio::time::Instant::now() < deadline,
            "{what} failed with error code {code}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
