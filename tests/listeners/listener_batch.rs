//! Batch listeners (`batch = true`) end to end: one call per poll, Spring's
//! `BatchListenerFailedException` semantics, and records that fail to deserialize inside a
//! batch recovered alone to the dead-letter topic while the rest of the batch goes on.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_listener::error::{
    BatchListenerFailed, DeadLetterPublisher, ErrorHandler, FixedBackOff, Recoverer,
};
use kafka_listener::producer::{KafkaTemplate, ProducerRecord};
use kafka_listener::{kafka_listener, App, ConsumerRecord, Json, RunningApp, State};
use kafka_listener_suite::{eventually, unique_name, TestKafka};
use rskafka::client::partition::UnknownTopicHandling;

#[derive(Debug, serde::Deserialize)]
struct Payment {
    amount: i64,
}

/// What a test's listener processed: each offset with how often, and the batch sizes.
#[derive(Default)]
struct Processed {
    offsets: Mutex<BTreeMap<i64, u32>>,
    batch_sizes: Mutex<Vec<usize>>,
}

impl Processed {
    fn record(&self, offset: i64) {
        *self.offsets.lock().unwrap().entry(offset).or_default() += 1;
    }

    fn offsets(&self) -> BTreeMap<i64, u32> {
        self.offsets.lock().unwrap().clone()
    }
}

/// Books payments in order; a negative amount fails the batch at that record.
#[kafka_listener(
    id = "batch-payments",
    topics = "${test.topic}",
    group_id = "${test.group}",
    batch = true
)]
async fn book_payments(
    payments: Vec<Json<Payment>>,
    records: Vec<ConsumerRecord>,
    processed: State<Processed>,
) -> Result<(), BatchListenerFailed> {
    processed.batch_sizes.lock().unwrap().push(payments.len());
    for (index, (payment, record)) in payments.iter().zip(&records).enumerate() {
        if payment.amount < 0 {
            return Err(BatchListenerFailed::at(index, "negative amount"));
        }
        processed.record(record.offset);
    }
    Ok(())
}

fn yaml(topic: &str, group: &str) -> String {
    format!(
        "spring.kafka:\n  consumer:\n    auto-offset-reset: earliest\n  listener:\n    poll-timeout: 100ms\ntest:\n  topic: {topic}\n  group: {group}\n"
    )
}

async fn send_all(template: &KafkaTemplate, topic: &str, values: &[&str]) {
    for value in values {
        template
            .send_record(ProducerRecord {
                topic: topic.to_owned(),
                partition: Some(0),
                key: Some("account-1".into()),
                value: Some(value.to_string().into()),
                ..ProducerRecord::default()
            })
            .await
            .unwrap();
    }
}

async fn start(
    kafka: &TestKafka,
    topic: &str,
    group: &str,
    processed: &Arc<Processed>,
) -> RunningApp {
    let template = kafka.template().await;
    App::from_yaml_str(&yaml(topic, group))
        .unwrap()
        .bootstrap(kafka.bootstrap())
        .shared_state(Arc::clone(processed))
        .error_handler(ErrorHandler::new(
            FixedBackOff::new(Duration::from_millis(20), 2),
            Recoverer::DeadLetter(DeadLetterPublisher::new(template)),
        ))
        .listeners(["batch-payments"])
        .start()
        .await
        .unwrap()
}

async fn dead_letters(kafka: &TestKafka, topic: &str) -> Vec<(i64, Vec<u8>)> {
    let client = kafka.connection().rskafka_client().await.unwrap();
    let dlt = client
        .partition_client(format!("{topic}-dlt"), 0, UnknownTopicHandling::Error)
        .await
        .unwrap();
    let (records, _) = dlt.fetch_records(0, 1..1_000_000, 1_000).await.unwrap();
    records
        .into_iter()
        .map(|r| {
            let offset = r.record.headers.get("kafka_dlt-original-offset").cloned();
            let offset = i64::from_be_bytes(offset.unwrap().try_into().unwrap());
            (offset, r.record.value.unwrap_or_default())
        })
        .collect()
}

#[tokio::test]
async fn batch_listener_handles_polls_in_batches_and_commits_the_log_end() {
    let kafka = TestKafka::start().await;
    let (topic, group) = (unique_name("batch-ok"), unique_name("batch-group"));
    kafka.create_topic(&topic, 1).await;
    let template = kafka.template().await;
    let values: Vec<String> = (0..50).map(|n| format!("{{\"amount\": {n}}}")).collect();
    send_all(
        &template,
        &topic,
        &values.iter().map(String::as_str).collect::<Vec<_>>(),
    )
    .await;
    let processed = Arc::new(Processed::default());
    let app = start(&kafka, &topic, &group, &processed).await;
    eventually("all 50 committed", Duration::from_secs(30), || async {
        kafka.committed_offset(&group, &topic, 0).await == Some(50)
    })
    .await;
    app.shutdown().await.unwrap();
    assert_eq!(processed.offsets(), (0..50).map(|o| (o, 1)).collect());
    let sizes = processed.batch_sizes.lock().unwrap().clone();
    assert!(
        sizes.iter().any(|&n| n > 1),
        "records arrived in batches: {sizes:?}"
    );
}

#[tokio::test]
async fn batch_failure_at_index_dead_letters_only_that_record_and_processes_the_rest_once() {
    let kafka = TestKafka::start().await;
    let (topic, group) = (unique_name("batch-fail"), unique_name("batch-group"));
    kafka.create_topic(&topic, 1).await;
    kafka.create_topic(&format!("{topic}-dlt"), 1).await;
    let template = kafka.template().await;
    send_all(
        &template,
        &topic,
        &[
            r#"{"amount": 1}"#,
            r#"{"amount": 2}"#,
            r#"{"amount": -3}"#,
            r#"{"amount": 4}"#,
            "{not json",
            r#"{"amount": 6}"#,
        ],
    )
    .await;
    let processed = Arc::new(Processed::default());
    let app = start(&kafka, &topic, &group, &processed).await;
    eventually("all six committed", Duration::from_secs(30), || async {
        kafka.committed_offset(&group, &topic, 0).await == Some(6)
    })
    .await;
    app.shutdown().await.unwrap();
    assert_eq!(
        processed.offsets(),
        BTreeMap::from([(0, 1), (1, 1), (3, 1), (5, 1)]),
        "every good record processed exactly once"
    );
    let mut dead = dead_letters(&kafka, &topic).await;
    // The undeserializable record fails its batch before the handler runs, so it may be
    // dead-lettered before the earlier record that the handler rejects.
    dead.sort();
    assert_eq!(
        dead,
        vec![
            (2, br#"{"amount": -3}"#.to_vec()),
            (4, b"{not json".to_vec())
        ],
        "the failed record and the undeserializable one, raw, nothing else"
    );
}
