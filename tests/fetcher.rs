//! The consumer's own fetcher (`client::fetch`) against a broker: records exactly as Kafka
//! stores them, all four codecs, offsets, out-of-range positions, one connection per broker,
//! and a listener that keeps null header values. Embedded broker by default, real Kafka with
//! `KAFKA_BOOTSTRAP_SERVERS` — the same code.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_listener::client::fetch::{FetchError, FetchSettings, Fetcher, OffsetQuery};
use kafka_listener::client::BrokerConnection;
use kafka_listener::{kafka_listener, App, ConsumerRecord, TimestampType};
use kafka_listener_suite::{eventually, unique_name, TestKafka};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{MetadataRequest, ProduceRequest, ProduceResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType as WireTimestamp,
};

const WAIT: Duration = Duration::from_secs(30);

fn record(offset: i64, key: Option<&'static str>, value: Option<&'static str>) -> Record {
    Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: WireTimestamp::Creation,
        offset,
        sequence: -1,
        timestamp: 1_700_000_000_000 + offset,
        key: key.map(|k| Bytes::from_static(k.as_bytes())),
        value: value.map(|v| Bytes::from_static(v.as_bytes())),
        headers: IndexMap::new(),
    }
}

fn batch(records: &[Record], compression: Compression) -> Bytes {
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
async fn leader_of(kafka: &TestKafka, topic: &str, partition: i32) -> (String, usize) {
    let connection = BrokerConnection::connect(
        &kafka.connection().bootstrap_servers()[0],
        kafka.connection(),
    )
    .await
    .expect("connect for metadata");
    let response = connection
        .send(
            MetadataRequest::default().with_topics(Some(vec![MetadataRequestTopic::default()
                .with_name(Some(TopicName(StrBytes::from_string(topic.to_owned()))))])),
        )
        .await
        .expect("metadata");
    let leader = response.topics[0]
        .partitions
        .iter()
        .find(|p| p.partition_index == partition)
        .expect("partition in metadata")
        .leader_id;
    let broker = response
        .brokers
        .iter()
        .find(|b| b.node_id == leader)
        .expect("leader in metadata");
    (
        format!("{}:{}", broker.host.as_str(), broker.port),
        response.brokers.len(),
    )
}

/// Produces a hand-built record batch as it is, so the test controls every byte a client may
/// send (null header values, codecs) without going through a producer that might normalise it.
async fn produce_raw(kafka: &TestKafka, topic: &str, partition: i32, records: Bytes) {
    let (leader, _) = leader_of(kafka, topic, partition).await;
    let connection = BrokerConnection::connect(&leader, kafka.connection())
        .await
        .expect("connect to the leader");
    // v13 names topics by id; v12 by name is enough here and every Kafka 4 broker has it.
    let version = connection
        .version_for::<ProduceRequest>()
        .expect("produce version")
        .min(12);
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(partition)
                .with_records(Some(records))])]);
    let response: ProduceResponse = connection
        .send_version(request, version, Duration::from_secs(15))
        .await
        .expect("produce");
    let code = response.responses[0].partition_responses[0].error_code;
    assert_eq!(
        code, 0,
        "produce to {topic}-{partition} failed with code {code}"
    );
}

async fn fetch_all(
    fetcher: &Fetcher,
    topic: &str,
    partition: i32,
    until: i64,
) -> Vec<ConsumerRecord> {
    let partition_fetcher = fetcher.partition(topic, partition);
    let mut records = Vec::new();
    let mut position = 0;
    let deadline = tokio::time::Instant::now() + WAIT;
    while position < until {
        assert!(
            tokio::time::Instant::now() < deadline,
            "fetched only up to {position} of {until} from {topic}-{partition}"
        );
        let fetched = partition_fetcher.fetch(position).await.expect("fetch");
        position = fetched.next_position;
        records.extend(fetched.records);
    }
    records
}

fn settings() -> FetchSettings {
    FetchSettings {
        max_wait: Duration::from_millis(100),
        ..FetchSettings::default()
    }
}

#[tokio::test]
async fn fetcher_keeps_null_keys_values_and_header_values_and_the_timestamp_type() {
    let kafka = TestKafka::start().await;
    let topic = unique_name("fetcher-nulls");
    kafka.create_topic(&topic, 1).await;
    let mut with_headers = record(0, Some("k"), Some("v"));
    with_headers
        .headers
        .insert(StrBytes::from_static_str("null-header"), None);
    with_headers.headers.insert(
        StrBytes::from_static_str("empty-header"),
        Some(Bytes::new()),
    );
    let records = [with_headers, record(1, None, None)];
    produce_raw(&kafka, &topic, 0, batch(&records, Compression::None)).await;

    let fetcher = Fetcher::new(kafka.connection().clone(), settings());
    let got = fetch_all(&fetcher, &topic, 0, 2).await;
    assert_eq!(got.len(), 2);
    let headers: Vec<_> = got[0]
        .headers
        .iter()
        .map(|h| (h.name.as_str(), h.value.clone()))
        .collect();
    assert_eq!(
        headers,
        [("null-header", None), ("empty-header", Some(Bytes::new()))]
    );
    assert_eq!(got[0].timestamp, 1_700_000_000_000);
    assert_eq!(got[0].timestamp_type, TimestampType::CreateTime);
    assert_eq!((got[1].key.clone(), got[1].value.clone()), (None, None));
}

#[tokio::test]
async fn fetcher_decodes_gzip_snappy_lz4_and_zstd_batches() {
    let kafka = TestKafka::start().await;
    let topic = unique_name("fetcher-codecs");
    kafka.create_topic(&topic, 1).await;
    let codecs = [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];
    for (i, codec) in codecs.into_iter().enumerate() {
        let base = i as i64 * 3;
        let records: Vec<_> = (0..3)
            .map(|n| record(base + n, Some("k"), Some("payload")))
            .collect();
        produce_raw(&kafka, &topic, 0, batch(&records, codec)).await;
    }
    let fetcher = Fetcher::new(kafka.connection().clone(), settings());
    let got = fetch_all(&fetcher, &topic, 0, 12).await;
    let offsets: Vec<i64> = got.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, (0..12).collect::<Vec<_>>());
    assert!(got
        .iter()
        .all(|r| r.value.as_deref() == Some(&b"payload"[..])));
}

#[tokio::test]
async fn fetcher_answers_earliest_latest_and_timestamp_lookups() {
    let kafka = TestKafka::start().await;
    let topic = unique_name("fetcher-offsets");
    kafka.create_topic(&topic, 1).await;
    let records: Vec<_> = (0..5).map(|n| record(n, Some("k"), Some("v"))).collect();
    produce_raw(&kafka, &topic, 0, batch(&records, Compression::None)).await;
    let partition = Fetcher::new(kafka.connection().clone(), settings()).partition(&topic, 0);
    assert_eq!(
        partition.offset_for(OffsetQuery::Earliest).await.unwrap(),
        0
    );
    assert_eq!(partition.offset_for(OffsetQuery::Latest).await.unwrap(), 5);
    let at = partition
        .offset_for(OffsetQuery::Timestamp(1_700_000_000_003))
        .await
        .unwrap();
    assert_eq!(at, 3);
}

#[tokio::test]
async fn fetcher_reports_a_position_past_the_log_end_as_out_of_range() {
    let kafka = TestKafka::start().await;
    let topic = unique_name("fetcher-oor");
    kafka.create_topic(&topic, 1).await;
    produce_raw(
        &kafka,
        &topic,
        0,
        batch(&[record(0, None, Some("v"))], Compression::None),
    )
    .await;
    let partition = Fetcher::new(kafka.connection().clone(), settings()).partition(&topic, 0);
    let error = partition.fetch(1_000).await.unwrap_err();
    assert!(
        matches!(error, FetchError::OffsetOutOfRange { offset: 1_000, .. }),
        "{error}"
    );
}

#[tokio::test]
async fn fetcher_opens_one_connection_per_broker_for_all_partitions() {
    let kafka = TestKafka::start().await;
    let topic = unique_name("fetcher-conns");
    kafka.create_topic(&topic, 6).await;
    let mut leaders = BTreeSet::new();
    let mut brokers = 0;
    for partition in 0..6 {
        let (leader, count) = leader_of(&kafka, &topic, partition).await;
        leaders.insert(leader);
        brokers = count;
        produce_raw(
            &kafka,
            &topic,
            partition,
            batch(&[record(0, Some("k"), Some("v"))], Compression::None),
        )
        .await;
    }
    let fetcher = Fetcher::new(kafka.connection().clone(), settings());
    let fetches = (0..6).map(|partition| {
        let fetcher = fetcher.clone();
        let topic = topic.clone();
        async move { fetch_all(&fetcher, &topic, partition, 1).await.len() }
    });
    let counts = futures_join_all(fetches).await;
    assert_eq!(counts, [1; 6]);
    assert!(
        fetcher.open_connections() <= brokers,
        "{} connections for {} brokers",
        fetcher.open_connections(),
        brokers
    );
    assert!(
        fetcher.open_connections() >= leaders.len(),
        "one connection per leader"
    );
}

async fn futures_join_all<F: std::future::Future<Output = usize> + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<usize> {
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.expect("fetch task"));
    }
    out
}

/// What the null-header listener saw: (offset, headers as name → value).
static SEEN: Mutex<Vec<(i64, Vec<(String, Option<Vec<u8>>)>)>> = Mutex::new(Vec::new());

#[kafka_listener(
    id = "fetcher-null-headers",
    topics = "${fetcher.nulls.topic}",
    group_id = "${fetcher.nulls.group}",
    ack_mode = "MANUAL_IMMEDIATE"
)]
async fn null_header_listener(record: ConsumerRecord, ack: kafka_listener::Acknowledgment) {
    let headers = record
        .headers
        .iter()
        .map(|h| (h.name.clone(), h.value.as_ref().map(|v| v.to_vec())))
        .collect();
    SEEN.lock().unwrap().push((record.offset, headers));
    ack.acknowledge();
}

#[tokio::test]
async fn fetcher_a_null_header_value_does_not_stop_the_listeners_partition() {
    let kafka = TestKafka::start().await;
    let topic = unique_name("fetcher-listener-nulls");
    let group = unique_name("fetcher-listener-group");
    kafka.create_topic(&topic, 1).await;
    let plain: Vec<_> = (0..5).map(|n| record(n, Some("k"), Some("v"))).collect();
    produce_raw(&kafka, &topic, 0, batch(&plain, Compression::None)).await;
    let mut odd = record(0, Some("k"), Some("v"));
    odd.headers.insert(StrBytes::from_static_str("trace"), None);
    produce_raw(&kafka, &topic, 0, batch(&[odd], Compression::None)).await;
    let more: Vec<_> = (0..5).map(|n| record(n, Some("k"), Some("v"))).collect();
    produce_raw(&kafka, &topic, 0, batch(&more, Compression::Lz4)).await;

    let yaml = format!(
        "spring.kafka:\n  bootstrap-servers: {}\n  consumer.auto-offset-reset: earliest\nfetcher.nulls:\n  topic: {topic}\n  group: {group}\n",
        kafka.bootstrap()
    );
    let app = App::from_yaml_str(&yaml)
        .unwrap()
        .listeners(["fetcher-null-headers"])
        .start()
        .await
        .unwrap();
    eventually("all 11 records handled", WAIT, || async {
        SEEN.lock().unwrap().len() >= 11
    })
    .await;
    eventually("offset 11 committed", WAIT, || async {
        kafka.committed_offset(&group, &topic, 0).await == Some(11)
    })
    .await;
    app.shutdown().await.unwrap();
    let seen = SEEN.lock().unwrap();
    let offsets: Vec<i64> = seen.iter().map(|(o, _)| *o).collect();
    assert_eq!(offsets, (0..11).collect::<Vec<_>>());
    assert_eq!(seen[5].1, [("trace".to_owned(), None)]);
}
