//! Non-blocking retries through retry topics (Spring's `@RetryableTopic`) end to end: the chain
//! main → retry topics → handled or DLT, due times respected, a waiting retry partition that
//! holds no other partition, and Spring's topic names and headers.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kafka_listener::error::{parse_big_integer, retry_header_names as names, Fatal};
use kafka_listener::producer::{KafkaTemplate, ProducerRecord};
use kafka_listener::{kafka_listener, App, Headers, Key, RecordMeta, RunningApp, State};
use kafka_listener_suite::{eventually, unique_name, TestKafka};
use rskafka::client::partition::UnknownTopicHandling;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// One delivery as a handler saw it.
#[derive(Debug, Clone)]
struct Delivery {
    topic: String,
    partition: i32,
    /// When the handler ran (ms since the epoch).
    handled_at: i64,
    /// The record's `retry_topic-backoff-timestamp`, if any.
    due: Option<i64>,
}

/// Deliveries per key; keys starting with `fail-N-` fail their first N deliveries, keys starting
/// with `always` fail every time, keys starting with `fatal` fail with a [`Fatal`] error.
#[derive(Default)]
struct Seen(Mutex<BTreeMap<String, Vec<Delivery>>>);

impl Seen {
    fn handle(&self, key: &str, meta: &RecordMeta, headers: &Headers) -> Result<(), BoxError> {
        let due = headers
            .last_value(names::BACKOFF_TIMESTAMP)
            .and_then(|v| parse_big_integer(&v));
        let attempt = {
            let mut seen = self.0.lock().unwrap();
            let deliveries = seen.entry(key.to_owned()).or_default();
            deliveries.push(Delivery {
                topic: meta.topic.clone(),
                partition: meta.partition,
                handled_at: now_ms(),
                due,
            });
            deliveries.len()
        };
        let failures = key
            .strip_prefix("fail-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0);
        if key.starts_with("fatal") {
            Err(Fatal::new(format!("{key} can never succeed")).into())
        } else if key.starts_with("always") || attempt <= failures {
            Err(format!("delivery {attempt} of {key} failed").into())
        } else {
            Ok(())
        }
    }

    fn of(&self, key: &str) -> Vec<Delivery> {
        self.0.lock().unwrap().get(key).cloned().unwrap_or_default()
    }
}

#[kafka_listener(
    id = "retry-boot",
    topics = "${test.topic}",
    group_id = "${test.group}"
)]
async fn boot_configured(
    key: Key<String>,
    meta: RecordMeta,
    headers: Headers,
    seen: State<Seen>,
) -> Result<(), BoxError> {
    seen.handle(&key, &meta, &headers)
}

#[kafka_listener(
    id = "retry-attr",
    topics = "${test.topic}",
    group_id = "${test.group}",
    retry_topic(attempts = 3, delay = "300ms", dlt = true)
)]
async fn attribute_configured(
    key: Key<String>,
    meta: RecordMeta,
    headers: Headers,
    seen: State<Seen>,
) -> Result<(), BoxError> {
    seen.handle(&key, &meta, &headers)
}

fn yaml(topic: &str, group: &str, retry: &str) -> String {
    format!(
        "spring.kafka:\n  consumer:\n    auto-offset-reset: earliest\n  listener:\n    ack-mode: RECORD\n    poll-timeout: 100ms\n{retry}test:\n  topic: {topic}\n  group: {group}\n"
    )
}

async fn start(
    kafka: &TestKafka,
    listener: &str,
    yaml: &str,
    seen: &Arc<Seen>,
    wait_for: &[String],
) -> RunningApp {
    let app = App::from_yaml_str(yaml)
        .unwrap()
        .bootstrap(kafka.bootstrap())
        .shared_state(Arc::clone(seen))
        .listeners([listener])
        .start()
        .await
        .unwrap();
    for id in wait_for {
        app.wait_for_assignment(id, Duration::from_secs(60))
            .await
            .unwrap_or_else(|| panic!("{id} got no partitions"));
    }
    app
}

async fn send(template: &KafkaTemplate, topic: &str, partition: i32, key: &str, headers: Headers) {
    template
        .send_record(ProducerRecord {
            topic: topic.to_owned(),
            partition: Some(partition),
            key: Some(key.to_owned().into()),
            value: Some("payload".to_owned().into()),
            headers,
            ..ProducerRecord::default()
        })
        .await
        .unwrap();
}

async fn records(kafka: &TestKafka, topic: &str, partition: i32) -> Vec<rskafka::record::Record> {
    let client = kafka.connection().rskafka_client().await.unwrap();
    let partition = client
        .partition_client(topic.to_owned(), partition, UnknownTopicHandling::Error)
        .await
        .unwrap();
    let (records, _) = partition
        .fetch_records(0, 1..1_000_000, 1_000)
        .await
        .unwrap();
    records.into_iter().map(|r| r.record).collect()
}

#[tokio::test]
async fn retry_topics_from_spring_boot_keys_handle_a_record_on_its_third_attempt_after_the_delays()
{
    let kafka = TestKafka::start().await;
    let (topic, group) = (unique_name("retry-boot"), unique_name("retry-group"));
    kafka.create_topic(&topic, 2).await;
    let retry = "  retry.topic:\n    enabled: true\n    attempts: 3\n    backoff:\n      delay: 1s\n      multiplier: 2.0\n";
    let seen = Arc::new(Seen::default());
    let stage_ids = [
        "retry-boot".into(),
        "retry-boot-retry-0".into(),
        "retry-boot-retry-1".into(),
    ];
    let app = start(
        &kafka,
        "retry-boot",
        &yaml(&topic, &group, retry),
        &seen,
        &stage_ids,
    )
    .await;
    let template = kafka.template().await;
    send(&template, &topic, 1, "fail-2-a", Headers::new()).await;
    eventually(
        "handled on the third attempt",
        Duration::from_secs(60),
        || async { seen.of("fail-2-a").len() == 3 },
    )
    .await;
    // The last retry listener acknowledged it, then nothing more arrives.
    eventually("retry-1 committed", Duration::from_secs(30), || async {
        kafka
            .committed_offset(&format!("{group}-retry-1"), &format!("{topic}-retry-1"), 1)
            .await
            == Some(1)
    })
    .await;
    app.shutdown().await.unwrap();
    let deliveries = seen.of("fail-2-a");
    let topics: Vec<_> = deliveries.iter().map(|d| d.topic.clone()).collect();
    assert_eq!(
        topics,
        [
            topic.clone(),
            format!("{topic}-retry-0"),
            format!("{topic}-retry-1")
        ],
        "Spring Boot's index suffixes"
    );
    assert!(
        deliveries.iter().all(|d| d.partition == 1),
        "same partition"
    );
    for (delivery, delay) in deliveries[1..].iter().zip([1_000, 2_000]) {
        let due = delivery.due.expect("a due time header");
        eprintln!(
            "{}: handled {} ms after its due time",
            delivery.topic,
            delivery.handled_at - due
        );
        assert!(delivery.handled_at >= due, "never before the due time");
        assert!(
            delivery.handled_at - due < 5_000,
            "promptly once due: {} ms late",
            delivery.handled_at - due
        );
        assert!(due - deliveries[0].handled_at >= delay - 100);
    }
    assert!(deliveries[2].handled_at - deliveries[1].handled_at >= 1_900);
    // Nothing went to the DLT.
    assert!(records(&kafka, &format!("{topic}-dlt"), 1).await.is_empty());
}

#[tokio::test]
async fn retry_topic_chain_ends_in_the_dlt_with_the_attempt_count_and_springs_headers() {
    let kafka = TestKafka::start().await;
    let (topic, group) = (unique_name("retry-attr"), unique_name("retry-group"));
    kafka.create_topic(&topic, 3).await;
    let seen = Arc::new(Seen::default());
    // 3 attempts, 300 ms fixed: @RetryableTopic's naming reuses one `-retry` topic.
    let ids = ["retry-attr".into(), "retry-attr-retry".into()];
    let app = start(&kafka, "retry-attr", &yaml(&topic, &group, ""), &seen, &ids).await;
    let template = kafka.template().await;
    let mut original = Headers::new();
    original.push("trace-id", Some("t-42"));
    send(&template, &topic, 2, "always-b", original).await;
    eventually("three attempts", Duration::from_secs(60), || async {
        seen.of("always-b").len() == 3
    })
    .await;
    let dlt = format!("{topic}-dlt");
    eventually("dead-lettered", Duration::from_secs(30), || async {
        !records(&kafka, &dlt, 2).await.is_empty()
    })
    .await;
    app.shutdown().await.unwrap();
    let topics: Vec<_> = seen
        .of("always-b")
        .iter()
        .map(|d| d.topic.clone())
        .collect();
    let retry = format!("{topic}-retry");
    assert_eq!(topics, [topic.clone(), retry.clone(), retry]);
    let dead = records(&kafka, &dlt, 2).await;
    assert_eq!(dead.len(), 1, "one dead letter, on the same partition");
    let record = &dead[0];
    assert_eq!(record.key.as_deref(), Some(&b"always-b"[..]));
    assert_eq!(record.value.as_deref(), Some(&b"payload"[..]));
    let header = |name: &str| record.headers.get(name).cloned().unwrap_or_default();
    assert_eq!(header("trace-id"), b"t-42", "original headers kept");
    assert_eq!(header(names::KAFKA_ORIGINAL_TOPIC), topic.as_bytes());
    assert_eq!(header(names::KAFKA_ORIGINAL_PARTITION), 2i32.to_be_bytes());
    assert_eq!(header(names::KAFKA_ORIGINAL_OFFSET), 0i64.to_be_bytes());
    assert_eq!(
        header(names::KAFKA_ORIGINAL_CONSUMER_GROUP),
        group.as_bytes()
    );
    // Spring writes the attempt the record would be on next: 3 deliveries → 4.
    assert_eq!(header(names::ATTEMPTS), 4i32.to_be_bytes());
    assert_eq!(
        header(names::EXCEPTION_MESSAGE),
        b"delivery 3 of always-b failed"
    );
    assert!(parse_big_integer(&header(names::ORIGINAL_TIMESTAMP)).is_some());
}

#[tokio::test]
async fn retry_topic_partition_waiting_for_its_due_time_holds_no_other_partition() {
    let kafka = TestKafka::start().await;
    let (topic, group) = (unique_name("retry-iso"), unique_name("retry-group"));
    kafka.create_topic(&topic, 2).await;
    let seen = Arc::new(Seen::default());
    let ids = ["retry-attr".into(), "retry-attr-retry".into()];
    let app = start(&kafka, "retry-attr", &yaml(&topic, &group, ""), &seen, &ids).await;
    let template = kafka.template().await;
    let retry = format!("{topic}-retry");
    let due_in = |ms: i64| {
        let mut headers = Headers::new();
        headers.push(
            names::BACKOFF_TIMESTAMP,
            Some(kafka_listener::error::big_integer_bytes(now_ms() + ms)),
        );
        headers.push(names::ATTEMPTS, Some(2i32.to_be_bytes().to_vec()));
        headers
    };
    // Partition 0 of the retry topic waits 4 s; partition 1 and the main topic flow meanwhile.
    let sent_at = now_ms();
    send(&template, &retry, 0, "late", due_in(4_000)).await;
    for n in 0..5 {
        send(&template, &retry, 1, &format!("due-{n}"), due_in(0)).await;
        send(&template, &topic, 0, &format!("main-{n}"), Headers::new()).await;
    }
    eventually(
        "the late record handled",
        Duration::from_secs(60),
        || async { !seen.of("late").is_empty() },
    )
    .await;
    app.shutdown().await.unwrap();
    let late = &seen.of("late")[0];
    let due = late.due.unwrap();
    assert!(late.handled_at >= due);
    for n in 0..5 {
        for key in [format!("due-{n}"), format!("main-{n}")] {
            let flowed = seen.of(&key);
            assert_eq!(flowed.len(), 1, "{key}");
            assert!(
                flowed[0].handled_at < due,
                "{key} handled while partition 0 waited"
            );
        }
    }
    eprintln!(
        "retry partition 1 and the main topic finished {} ms before partition 0's due time; \
         partition 0 handled {} ms after it",
        due - seen.of("due-4")[0]
            .handled_at
            .max(seen.of("main-4")[0].handled_at),
        late.handled_at - due
    );
    assert!(due - sent_at >= 3_900);
}

#[tokio::test]
async fn retry_topic_sends_a_fatal_error_straight_to_the_dlt() {
    let kafka = TestKafka::start().await;
    let (topic, group) = (unique_name("retry-fatal"), unique_name("retry-group"));
    kafka.create_topic(&topic, 1).await;
    let seen = Arc::new(Seen::default());
    let ids = ["retry-attr".into(), "retry-attr-retry".into()];
    let app = start(&kafka, "retry-attr", &yaml(&topic, &group, ""), &seen, &ids).await;
    let template = kafka.template().await;
    send(&template, &topic, 0, "fatal-c", Headers::new()).await;
    let dlt = format!("{topic}-dlt");
    eventually("dead-lettered", Duration::from_secs(30), || async {
        !records(&kafka, &dlt, 0).await.is_empty()
    })
    .await;
    app.shutdown().await.unwrap();
    assert_eq!(
        seen.of("fatal-c").len(),
        1,
        "no retry topic for a fatal error"
    );
    assert!(records(&kafka, &format!("{topic}-retry"), 0)
        .await
        .is_empty());
    let dead = records(&kafka, &dlt, 0).await;
    assert_eq!(
        dead[0].headers[names::ATTEMPTS],
        2i32.to_be_bytes(),
        "failed on its first attempt"
    );
}

#[tokio::test]
async fn retry_topic_shutdown_ends_a_due_time_wait_and_leaves_the_record_uncommitted() {
    let kafka = TestKafka::start().await;
    let (topic, group) = (unique_name("retry-stop"), unique_name("retry-group"));
    kafka.create_topic(&topic, 1).await;
    let seen = Arc::new(Seen::default());
    let ids = ["retry-attr".into(), "retry-attr-retry".into()];
    let app = start(&kafka, "retry-attr", &yaml(&topic, &group, ""), &seen, &ids).await;
    let template = kafka.template().await;
    let retry = format!("{topic}-retry");
    let due_in = |ms: i64| {
        let mut headers = Headers::new();
        headers.push(
            names::BACKOFF_TIMESTAMP,
            Some(kafka_listener::error::big_integer_bytes(now_ms() + ms)),
        );
        headers
    };
    // A due record first: once it is handled, the worker is on the far-future one behind it.
    send(&template, &retry, 0, "due-first", due_in(0)).await;
    send(&template, &retry, 0, "far-future", due_in(120_000)).await;
    eventually(
        "the due record handled",
        Duration::from_secs(30),
        || async { !seen.of("due-first").is_empty() },
    )
    .await;
    let stopping = std::time::Instant::now();
    app.shutdown().await.unwrap();
    let took = stopping.elapsed();
    eprintln!("shutdown during a 120 s due-time wait took {took:?}");
    assert!(
        took < Duration::from_secs(15),
        "the wait ended at shutdown: {took:?}"
    );
    assert!(
        seen.of("far-future").is_empty(),
        "not handled before its time"
    );
    assert_eq!(
        kafka
            .committed_offset(&format!("{group}-retry"), &retry, 0)
            .await
            .unwrap_or(0),
        1,
        "the due record committed, the waiting one not"
    );
}
