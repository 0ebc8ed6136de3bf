//! Failed records end to end: in-place retries with back-off, dead-letter publishing, and a
//! back-off that holds only its own partition.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafka_listener::error::{
    DeadLetterPublisher, ErrorHandler, Fatal, FatalExt, FixedBackOff, Recoverer,
};
use kafka_listener::producer::{KafkaTemplate, ProducerRecord};
use kafka_listener::{kafka_listener, App, Json, RecordMeta, RunningApp, State};
use kafka_listener_suite::{eventually, unique_name, TestKafka};
use rskafka::client::partition::UnknownTopicHandling;

#[derive(Debug, serde::Deserialize)]
struct Order {
    #[allow(dead_code)]
    sku: String,
}

/// What the listeners saw: deliveries per (partition, offset) with their time.
#[derive(Default)]
struct Deliveries {
    seen: Mutex<BTreeMap<(i32, i64), Vec<Instant>>>,
    /// (partition, offset) → how many deliveries fail before one succeeds.
    failures: Mutex<BTreeMap<(i32, i64), u32>>,
}

impl Deliveries {
    fn deliver(&self, meta: &RecordMeta) -> Result<(), String> {
        let key = (meta.partition, meta.offset);
        let attempt = {
            let mut seen = self.seen.lock().unwrap();
            let times = seen.entry(key).or_default();
            times.push(Instant::now());
            times.len() as u32
        };
        let fail_first = self
            .failures
            .lock()
            .unwrap()
            .get(&key)
            .copied()
            .unwrap_or(0);
        if attempt <= fail_first {
            Err(format!("transient failure on attempt {attempt}"))
        } else {
            Ok(())
        }
    }

    fn attempts(&self, partition: i32, offset: i64) -> usize {
        self.seen
            .lock()
            .unwrap()
            .get(&(partition, offset))
            .map_or(0, Vec::len)
    }
}

#[kafka_listener(
    id = "errors-json",
    topics = "${test.topic}",
    group_id = "${test.group}"
)]
async fn json_listener(
    order: Json<Order>,
    meta: RecordMeta,
    deliveries: State<Deliveries>,
) -> Result<(), String> {
    let _ = &order.sku;
    deliveries.deliver(&meta)
}

#[derive(Debug, thiserror::Error)]
#[error("sku {0} is not sold here")]
struct UnknownSku(String);

/// Fails with a [`Fatal`] error on SKUs starting with `unknown`; counts every delivery.
#[kafka_listener(
    id = "errors-fatal",
    topics = "${test.topic}",
    group_id = "${test.group}"
)]
async fn fatal_listener(
    order: Json<Order>,
    meta: RecordMeta,
    deliveries: State<Deliveries>,
) -> Result<(), Fatal> {
    deliveries.deliver(&meta).map_err(Fatal::new)?;
    if order.sku.starts_with("unknown") {
        return Err(UnknownSku(order.sku.clone())).fatal();
    }
    Ok(())
}

fn yaml(topic: &str, group: &str) -> String {
    format!(
        "spring.kafka:\n  consumer:\n    auto-offset-reset: earliest\n  listener:\n    ack-mode: RECORD\n    poll-timeout: 100ms\ntest:\n  topic: {topic}\n  group: {group}\n"
    )
}

/// Runs the `errors-json` listener on `topic` in `group` with `error_handler`.
async fn start_listener(
    kafka: &TestKafka,
    topic: &str,
    group: &str,
    deliveries: &Arc<Deliveries>,
    error_handler: ErrorHandler,
) -> RunningApp {
    App::from_yaml_str(&yaml(topic, group))
        .unwrap()
        .bootstrap(kafka.bootstrap())
        .shared_state(Arc::clone(deliveries))
        .error_handler(error_handler)
        .listeners(["errors-json"])
        .start()
        .await
        .unwrap()
}

async fn send(template: &KafkaTemplate, topic: &str, partition: i32, value: &str) {
    template
        .send_record(ProducerRecord {
            topic: topic.to_owned(),
            partition: Some(partition),
            key: Some("order-1".into()),
            value: Some(value.to_owned().into()),
            ..ProducerRecord::default()
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn dlt_poison_pill_is_published_raw_with_springs_headers_and_the_partition_moves_on() {
    let kafka = TestKafka::start().await;
    let (topic, group) = (unique_name("errors-dlt"), unique_name("errors-group"));
    kafka.create_topic(&topic, 2).await;
    kafka.create_topic(&format!("{topic}-dlt"), 2).await;
    let template = kafka.template().await;
    send(&template, &topic, 1, "{\"sku\": \"a\"}").await;
    send(&template, &topic, 1, "{not json").await;
    send(&template, &topic, 1, "{\"sku\": \"b\"}").await;
    let deliveries = Arc::new(Deliveries::default());
    let app = start_listener(
        &kafka,
        &topic,
        &group,
        &deliveries,
        ErrorHandler::new(
            FixedBackOff::new(Duration::ZERO, 9),
            Recoverer::DeadLetter(DeadLetterPublisher::new(template.clone())),
        ),
    )
    .await;
    eventually("all three committed", Duration::from_secs(30), || async {
        kafka.committed_offset(&group, &topic, 1).await == Some(3)
    })
    .await;
    app.shutdown().await.unwrap();
    assert_eq!(
        deliveries.attempts(1, 1),
        0,
        "the handler never saw the poison pill"
    );
    assert_eq!(deliveries.attempts(1, 2), 1, "the next record was handled");

    let client = kafka.connection().rskafka_client().await.unwrap();
    let dlt = client
        .partition_client(format!("{topic}-dlt"), 1, UnknownTopicHandling::Error)
        .await
        .unwrap();
    let (records, _) = dlt.fetch_records(0, 1..1_000_000, 1_000).await.unwrap();
    assert_eq!(records.len(), 1, "one dead letter, on the same partition");
    let record = &records[0].record;
    assert_eq!(
        record.value.as_deref(),
        Some(&b"{not json"[..]),
        "raw bytes"
    );
    assert_eq!(record.key.as_deref(), Some(&b"order-1"[..]));
    let header = |name: &str| record.headers.get(name).cloned().unwrap_or_default();
    assert_eq!(header("kafka_dlt-original-topic"), topic.as_bytes());
    assert_eq!(header("kafka_dlt-original-partition"), 1i32.to_be_bytes());
    assert_eq!(header("kafka_dlt-original-offset"), 1i64.to_be_bytes());
    assert_eq!(
        header("kafka_dlt-original-consumer-group"),
        group.as_bytes()
    );
    assert!(!header("kafka_dlt-exception-message").is_empty());
}

#[tokio::test]
async fn retry_retryable_error_recovers_on_attempt_3_in_order() {
    let kafka = TestKafka::start().await;
    let (topic, group) = (unique_name("errors-retry"), unique_name("errors-group"));
    kafka.create_topic(&topic, 1).await;
    let template = kafka.template().await;
    send(&template, &topic, 0, "{\"sku\": \"a\"}").await;
    send(&template, &topic, 0, "{\"sku\": \"b\"}").await;
    let deliveries = Arc::new(Deliveries::default());
    deliveries.failures.lock().unwrap().insert((0, 0), 2);
    let app = start_listener(
        &kafka,
        &topic,
        &group,
        &deliveries,
        ErrorHandler::new(
            FixedBackOff::new(Duration::from_millis(50), 5),
            Recoverer::LogAndSkip,
        ),
    )
    .await;
    eventually("both committed", Duration::from_secs(30), || async {
        kafka.committed_offset(&group, &topic, 0).await == Some(2)
    })
    .await;
    app.shutdown().await.unwrap();
    assert_eq!(
        deliveries.attempts(0, 0),
        3,
        "two failures, success on attempt 3"
    );
    assert_eq!(deliveries.attempts(0, 1), 1);
    let seen = deliveries.seen.lock().unwrap();
    assert!(
        seen[&(0, 1)][0] > seen[&(0, 0)][2],
        "the next record waits for the retried one: order kept"
    );
}

#[tokio::test]
async fn retry_back_off_holds_only_its_partition_while_another_keeps_flowing() {
    let kafka = TestKafka::start().await;
    let (topic, group) = (unique_name("errors-isolation"), unique_name("errors-group"));
    kafka.create_topic(&topic, 2).await;
    let template = kafka.template().await;
    send(&template, &topic, 0, "{\"sku\": \"slow\"}").await;
    for n in 0..20 {
        send(&template, &topic, 1, &format!("{{\"sku\": \"fast-{n}\"}}")).await;
    }
    let deliveries = Arc::new(Deliveries::default());
    // Partition 0's record fails twice with a 1 s back-off: 2 s of waiting.
    deliveries.failures.lock().unwrap().insert((0, 0), 2);
    let app = start_listener(
        &kafka,
        &topic,
        &group,
        &deliveries,
        ErrorHandler::new(
            FixedBackOff::new(Duration::from_secs(1), 3),
            Recoverer::LogAndSkip,
        ),
    )
    .await;
    eventually("partition 0 recovered", Duration::from_secs(30), || async {
        kafka.committed_offset(&group, &topic, 0).await == Some(1)
    })
    .await;
    app.shutdown().await.unwrap();
    let seen = deliveries.seen.lock().unwrap();
    let slow_done = seen[&(0, 0)][2];
    let fast_done = seen[&(1, 19)][0];
    let slow_started = seen[&(0, 0)][0];
    eprintln!(
        "partition 1 finished {:?} after partition 0's first attempt; partition 0 needed {:?}",
        fast_done.saturating_duration_since(slow_started),
        slow_done.saturating_duration_since(slow_started)
    );
    assert!(
        fast_done < slow_done,
        "partition 1 flowed while partition 0 backed off"
    );
}

#[tokio::test]
async fn dlt_fatal_error_skips_retries_and_names_the_wrapped_error_type() {
    let kafka = TestKafka::start().await;
    let (topic, group) = (unique_name("errors-fatal"), unique_name("errors-group"));
    kafka.create_topic(&topic, 1).await;
    kafka.create_topic(&format!("{topic}-dlt"), 1).await;
    let template = kafka.template().await;
    send(&template, &topic, 0, "{\"sku\": \"unknown-1\"}").await;
    send(&template, &topic, 0, "{\"sku\": \"a\"}").await;
    let deliveries = Arc::new(Deliveries::default());
    let app = App::from_yaml_str(&yaml(&topic, &group))
        .unwrap()
        .bootstrap(kafka.bootstrap())
        .shared_state(Arc::clone(&deliveries))
        // Ten deliveries for a retryable error; a fatal one gets exactly one.
        .error_handler(ErrorHandler::new(
            FixedBackOff::new(Duration::from_millis(10), 9),
            Recoverer::DeadLetter(DeadLetterPublisher::new(template.clone())),
        ))
        .listeners(["errors-fatal"])
        .start()
        .await
        .unwrap();
    eventually("both committed", Duration::from_secs(30), || async {
        kafka.committed_offset(&group, &topic, 0).await == Some(2)
    })
    .await;
    app.shutdown().await.unwrap();
    assert_eq!(deliveries.attempts(0, 0), 1, "no retry of a fatal error");
    assert_eq!(deliveries.attempts(0, 1), 1);
    let client = kafka.connection().rskafka_client().await.unwrap();
    let dlt = client
        .partition_client(format!("{topic}-dlt"), 0, UnknownTopicHandling::Error)
        .await
        .unwrap();
    let (records, _) = dlt.fetch_records(0, 1..1_000_000, 1_000).await.unwrap();
    assert_eq!(records.len(), 1);
    let headers = &records[0].record.headers;
    let fqcn = String::from_utf8(headers["kafka_dlt-exception-fqcn"].clone()).unwrap();
    assert!(fqcn.ends_with("UnknownSku"), "{fqcn}");
    assert_eq!(
        headers["kafka_dlt-exception-message"],
        b"sku unknown-1 is not sold here"
    );
}

#[tokio::test]
async fn dlt_error_handler_configured_in_yaml_for_one_listener_retries_then_dead_letters() {
    let kafka = TestKafka::start().await;
    let (topic, group) = (unique_name("errors-yaml"), unique_name("errors-group"));
    kafka.create_topic(&topic, 1).await;
    kafka.create_topic(&format!("{topic}-dead"), 1).await;
    let template = kafka.template().await;
    send(&template, &topic, 0, "{\"sku\": \"a\"}").await;
    send(&template, &topic, 0, "{\"sku\": \"b\"}").await;
    let deliveries = Arc::new(Deliveries::default());
    // Offset 0 fails 5 times; the listener's YAML allows 2 retries, then the dead-letter topic.
    deliveries.failures.lock().unwrap().insert((0, 0), 5);
    let config = format!(
        "{}kafka-listener:\n  error-handler:\n    back-off:\n      type: fixed\n      max-attempts: 9\n  listeners:\n    errors-json:\n      error-handler:\n        back-off:\n          interval: 20ms\n          max-attempts: 2\n        recoverer: dead-letter\n        dead-letter.topic-suffix: -dead\n",
        yaml(&topic, &group)
    );
    let app = App::from_yaml_str(&config)
        .unwrap()
        .bootstrap(kafka.bootstrap())
        .shared_state(Arc::clone(&deliveries))
        .listeners(["errors-json"])
        .start()
        .await
        .unwrap();
    eventually("both committed", Duration::from_secs(30), || async {
        kafka.committed_offset(&group, &topic, 0).await == Some(2)
    })
    .await;
    app.shutdown().await.unwrap();
    assert_eq!(
        deliveries.attempts(0, 0),
        3,
        "the listener's own max-attempts"
    );
    let client = kafka.connection().rskafka_client().await.unwrap();
    let dead = client
        .partition_client(format!("{topic}-dead"), 0, UnknownTopicHandling::Error)
        .await
        .unwrap();
    let (records, _) = dead.fetch_records(0, 1..1_000_000, 1_000).await.unwrap();
    assert_eq!(records.len(), 1, "the configured dead-letter suffix");
    assert_eq!(
        records[0].record.headers["kafka_dlt-original-offset"],
        0i64.to_be_bytes()
    );
}

#[tokio::test]
async fn a_bad_error_handler_value_fails_start_up_naming_its_yaml_path_and_the_choices() {
    let config = "spring.kafka.consumer.group-id: g\nkafka-listener:\n  error-handler:\n    back-off:\n      type: linear\n";
    let error = App::from_yaml_str(config)
        .unwrap()
        .bootstrap("127.0.0.1:1")
        .listeners(["errors-json"])
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("kafka-listener.error-handler.back-off.type"),
        "{error}"
    );
    assert!(error.contains("linear"), "{error}");
    assert!(
        error.contains("fixed") && error.contains("exponential"),
        "{error}"
    );
}
