//! The consumer's own fetcher (`client::fetch`) against a broker: records exactly as Kafka
//! stores them, all four codecs, offsets, out-of-range positions, one connection per broker,
//! and a listener that keeps null header values. Embedded broker by default, real Kafka with
//! `KAFKA_BOOTSTRAP_SERVERS` — the same code.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use kafka_listener::client::fetch::{
    FetchError, FetchSettings, Fetcher, IsolationLevel, OffsetQuery,
};
use kafka_listener::{kafka_listener, App, ConsumerRecord, TimestampType};
use kafka_listener_suite::raw_produce::{
    batch, leader_of, produce_raw, record, TransactionalProducer,
};
use kafka_listener_suite::{eventually, unique_name, TestKafka};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;

const WAIT: Duration = Duration::from_secs(30);

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
    produce_raw(
        kafka.connection(),
        &topic,
        0,
        batch(&records, Compression::None),
    )
    .await;

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
    for codec in codecs {
        let records: Vec<_> = (0..3)
            .map(|n| record(n, Some("k"), Some("payload")))
            .collect();
        produce_raw(kafka.connection(), &topic, 0, batch(&records, codec)).await;
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
    produce_raw(
        kafka.connection(),
        &topic,
        0,
        batch(&records, Compression::None),
    )
    .await;
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
        kafka.connection(),
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
        let (leader, count) = leader_of(kafka.connection(), &topic, partition).await;
        leaders.insert(leader);
        brokers = count;
        produce_raw(
            kafka.connection(),
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

/// Starts listener `id`, whose topic and group come from `fetcher.<key>.topic` / `.group`,
/// reading from the earliest offset.
async fn start_listener(
    kafka: &TestKafka,
    id: &str,
    key: &str,
    topic: &str,
    group: &str,
) -> kafka_listener::RunningApp {
    let yaml = format!(
        "spring.kafka:\n  bootstrap-servers: {}\n  consumer.auto-offset-reset: earliest\nfetcher.{key}:\n  topic: {topic}\n  group: {group}\n",
        kafka.bootstrap()
    );
    App::from_yaml_str(&yaml)
        .unwrap()
        .listeners([id])
        .start()
        .await
        .unwrap()
}

/// A handled record's headers, name → value (`None`: Kafka's null).
type SeenHeaders = Vec<(String, Option<Vec<u8>>)>;

/// What the null-header listener saw: (offset, headers).
static SEEN: Mutex<Vec<(i64, SeenHeaders)>> = Mutex::new(Vec::new());

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
    produce_raw(
        kafka.connection(),
        &topic,
        0,
        batch(&plain, Compression::None),
    )
    .await;
    let mut odd = record(0, Some("k"), Some("v"));
    odd.headers.insert(StrBytes::from_static_str("trace"), None);
    produce_raw(
        kafka.connection(),
        &topic,
        0,
        batch(&[odd], Compression::None),
    )
    .await;
    let more: Vec<_> = (0..5).map(|n| record(n, Some("k"), Some("v"))).collect();
    produce_raw(
        kafka.connection(),
        &topic,
        0,
        batch(&more, Compression::Lz4),
    )
    .await;

    let app = start_listener(&kafka, "fetcher-null-headers", "nulls", &topic, &group).await;
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

/// Writes, to partition 0 of a new topic: committed [c1 c2 c3], aborted [a1 a2], committed
/// [c4 c5]; the log then ends in a commit marker. Returns the topic and the log end.
async fn interleaved_transactions(kafka: &TestKafka, name: &str) -> (String, i64) {
    let topic = unique_name(name);
    kafka.create_topic(&topic, 1).await;
    let mut producer = TransactionalProducer::init(kafka.connection(), &unique_name("txn")).await;
    producer.send(&topic, 0, &["c1", "c2", "c3"]).await;
    producer.commit().await;
    producer.send(&topic, 0, &["a1", "a2"]).await;
    producer.abort().await;
    producer.send(&topic, 0, &["c4", "c5"]).await;
    producer.commit().await;
    // 7 records and 3 markers. Kafka answers EndTxn once the decision is in the transaction
    // log and writes the markers after that, so the last one may still be on its way.
    let partition = Fetcher::new(kafka.connection().clone(), settings()).partition(&topic, 0);
    let end = 10;
    eventually(&format!("log end of {topic} at {end}"), WAIT, || async {
        partition.offset_for(OffsetQuery::Latest).await.unwrap() == end
    })
    .await;
    (topic, end)
}

fn values(records: &[ConsumerRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned())
        .collect()
}

#[tokio::test]
async fn fetcher_read_committed_skips_aborted_transactions_and_reaches_the_log_end() {
    let kafka = TestKafka::start().await;
    let (topic, end) = interleaved_transactions(&kafka, "fetcher-txn").await;
    let committed = Fetcher::new(
        kafka.connection().clone(),
        FetchSettings {
            isolation: IsolationLevel::ReadCommitted,
            ..settings()
        },
    );
    let got = fetch_all(&committed, &topic, 0, end).await;
    assert_eq!(values(&got), ["c1", "c2", "c3", "c4", "c5"]);

    let uncommitted = Fetcher::new(kafka.connection().clone(), settings());
    let got = fetch_all(&uncommitted, &topic, 0, end).await;
    assert_eq!(values(&got), ["c1", "c2", "c3", "a1", "a2", "c4", "c5"]);
}

#[tokio::test]
async fn fetcher_moves_past_a_control_batch_at_the_end_of_a_partition() {
    let kafka = TestKafka::start().await;
    let (topic, end) = interleaved_transactions(&kafka, "fetcher-marker").await;
    let partition = Fetcher::new(kafka.connection().clone(), settings()).partition(&topic, 0);
    // From the last record: it, then the position moves past the marker behind it.
    let fetched = partition.fetch(end - 2).await.unwrap();
    assert_eq!(values(&fetched.records), ["c5"]);
    assert_eq!(fetched.next_position, end);
    // From the marker itself: no records, but the position still moves, so a consumer at the
    // end of a transactional partition does not fetch the same offset again and again.
    let fetched = partition.fetch(end - 1).await.unwrap();
    assert!(fetched.records.is_empty());
    assert_eq!(fetched.next_position, end);
    assert_eq!(fetched.last_stable_offset, end);
}

#[tokio::test]
async fn fetcher_read_committed_stops_at_an_open_transaction() {
    let kafka = TestKafka::start().await;
    let topic = unique_name("fetcher-open-txn");
    kafka.create_topic(&topic, 1).await;
    let mut producer = TransactionalProducer::init(kafka.connection(), &unique_name("txn")).await;
    producer.send(&topic, 0, &["c1"]).await;
    producer.commit().await;
    producer.send(&topic, 0, &["open"]).await;
    let fetcher = Fetcher::new(
        kafka.connection().clone(),
        FetchSettings {
            isolation: IsolationLevel::ReadCommitted,
            ..settings()
        },
    );
    let partition = fetcher.partition(&topic, 0);
    assert_eq!(partition.offset_for(OffsetQuery::Latest).await.unwrap(), 2);
    let fetched = partition.fetch(0).await.unwrap();
    assert_eq!(values(&fetched.records), ["c1"]);
    assert_eq!(
        fetched.last_stable_offset, 2,
        "the open transaction starts at 2"
    );
    let fetched = partition.fetch(fetched.next_position).await.unwrap();
    assert!(
        fetched.records.is_empty(),
        "nothing past the last stable offset"
    );
    producer.commit().await;
    let got = fetch_all(&fetcher, &topic, 0, 4).await;
    assert_eq!(values(&got), ["c1", "open"]);
}

static RESET_SEEN: Mutex<Vec<i64>> = Mutex::new(Vec::new());

#[kafka_listener(
    id = "fetcher-reset",
    topics = "${fetcher.reset.topic}",
    group_id = "${fetcher.reset.group}",
    ack_mode = "RECORD"
)]
async fn reset_listener(meta: kafka_listener::RecordMeta) {
    RESET_SEEN.lock().unwrap().push(meta.offset);
}

#[tokio::test]
async fn fetcher_out_of_range_position_resets_raises_an_event_and_reports_lag() {
    use kafka_listener::container::{ContainerEvent, SeekTo};
    use kafka_listener::group::TopicPartition;

    let kafka = TestKafka::start().await;
    let topic = unique_name("fetcher-reset");
    let group = unique_name("fetcher-reset-group");
    kafka.create_topic(&topic, 1).await;
    let records: Vec<_> = (0..3).map(|n| record(n, Some("k"), Some("v"))).collect();
    produce_raw(
        kafka.connection(),
        &topic,
        0,
        batch(&records, Compression::None),
    )
    .await;
    let app = start_listener(&kafka, "fetcher-reset", "reset", &topic, &group).await;
    eventually("records 0-2 handled", WAIT, || async {
        RESET_SEEN.lock().unwrap().len() >= 3
    })
    .await;
    eventually("lag 0 at position 3", WAIT, || async {
        app.lag("fetcher-reset")
            .iter()
            .any(|l| l.partition == 0 && l.position == 3 && l.high_watermark == 3 && l.lag == 0)
    })
    .await;

    // A seek past the log end: the fetch is out of range, auto.offset.reset (earliest) applies
    // and says so in an event.
    let tp = TopicPartition::new(topic.as_str(), 0);
    let mut events = app.events();
    app.seek("fetcher-reset", &tp, SeekTo::Offset(100));
    let reset = tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Ok(ContainerEvent::OffsetOutOfRange {
                    partition,
                    offset,
                    reset_to,
                    ..
                }) if partition == tp => break (offset, reset_to),
                Ok(_) => {}
                Err(error) => panic!("events: {error}"),
            }
        }
    })
    .await
    .expect("an OffsetOutOfRange event");
    assert_eq!(reset, (100, Some(0)));
    eventually(
        "records 0-2 handled again after the reset",
        WAIT,
        || async { RESET_SEEN.lock().unwrap().len() >= 6 },
    )
    .await;
    app.shutdown().await.unwrap();
    assert_eq!(*RESET_SEEN.lock().unwrap(), [0, 1, 2, 0, 1, 2]);
}

#[tokio::test]
async fn fetcher_lag_counts_to_the_high_watermark_or_under_read_committed_to_the_last_stable_offset(
) {
    let kafka = TestKafka::start().await;
    let topic = unique_name("fetcher-lag");
    kafka.create_topic(&topic, 1).await;
    let mut producer = TransactionalProducer::init(kafka.connection(), &unique_name("txn")).await;
    producer.send(&topic, 0, &["c1", "c2"]).await;
    producer.commit().await;
    producer.send(&topic, 0, &["open1", "open2", "open3"]).await;
    // Log: c1 c2 marker open1 open2 open3 — high watermark 6, last stable offset 3.
    let uncommitted = Fetcher::new(kafka.connection().clone(), settings());
    let got = fetch_all(&uncommitted, &topic, 0, 6).await;
    assert_eq!(values(&got), ["c1", "c2", "open1", "open2", "open3"]);
    let lag = uncommitted.lag(&topic, 0).expect("lag after a fetch");
    assert_eq!((lag.position, lag.high_watermark, lag.lag), (6, 6, 0));

    let committed = Fetcher::new(
        kafka.connection().clone(),
        FetchSettings {
            isolation: IsolationLevel::ReadCommitted,
            ..settings()
        },
    );
    let got = fetch_all(&committed, &topic, 0, 3).await;
    assert_eq!(values(&got), ["c1", "c2"]);
    let lag = committed.lag(&topic, 0).expect("lag after a fetch");
    assert_eq!(
        (
            lag.position,
            lag.high_watermark,
            lag.last_stable_offset,
            lag.lag
        ),
        (3, 6, 3, 0),
        "read_committed: nothing readable past the open transaction"
    );
    producer.abort().await;
}

#[tokio::test]
async fn fetcher_a_deleted_topic_is_reported_as_not_found() {
    let kafka = TestKafka::start().await;
    let topic = unique_name("fetcher-deleted");
    kafka.create_topic(&topic, 1).await;
    produce_raw(
        kafka.connection(),
        &topic,
        0,
        batch(&[record(0, Some("k"), Some("v"))], Compression::None),
    )
    .await;
    let partition = Fetcher::new(kafka.connection().clone(), settings()).partition(&topic, 0);
    assert_eq!(partition.fetch(0).await.unwrap().records.len(), 1);
    kafka
        .connection()
        .rskafka_client()
        .await
        .unwrap()
        .controller_client()
        .unwrap()
        .delete_topic(&topic, 10_000)
        .await
        .unwrap();
    // The next fetches find the topic gone (real Kafka deletes asynchronously: brokers may
    // first answer UNKNOWN_TOPIC_ID or NOT_LEADER_OR_FOLLOWER, which the fetcher follows up with
    // Metadata until the topic is reported missing).
    eventually("the fetcher to report the topic missing", WAIT, || async {
        matches!(
            partition.fetch(1).await,
            Err(FetchError::TopicNotFound { topic: ref t, partition: 0 }) if *t == topic
        )
    })
    .await;
}
