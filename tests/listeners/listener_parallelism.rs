//! Key-ordered parallel processing inside a partition, end to end: records of different keys
//! overlap, each key stays in offset order, and the group commits every record exactly once.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_listener::producer::{KafkaTemplate, ProducerSettings};
use kafka_listener::{kafka_listener, Acknowledgment, App, Key, RecordMeta, State};
use kafka_listener_suite::{eventually, unique_name, TestKafka};

/// What one test's listener saw: per (partition, key) the offsets in handling order, and how
/// many handlers ran at once at most.
#[derive(Default)]
struct Observed {
    order: Mutex<BTreeMap<(i32, String), Vec<i64>>>,
    handled: AtomicUsize,
    running: AtomicUsize,
    peak: AtomicUsize,
}

impl Observed {
    async fn handle(&self, partition: i32, key: String, offset: i64) {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        // An I/O-bound handler: what parallelism is for.
        tokio::time::sleep(Duration::from_millis(2)).await;
        self.order
            .lock()
            .unwrap()
            .entry((partition, key))
            .or_default()
            .push(offset);
        self.running.fetch_sub(1, Ordering::SeqCst);
        self.handled.fetch_add(1, Ordering::SeqCst);
    }

    fn assert_each_key_in_offset_order(&self) {
        for ((partition, key), offsets) in self.order.lock().unwrap().iter() {
            assert!(
                offsets.windows(2).all(|w| w[0] < w[1]),
                "partition {partition} key {key} out of order or repeated: {offsets:?}"
            );
        }
    }
}

#[kafka_listener(
    id = "parallel-attribute",
    topics = "${parallel.attribute.topic}",
    group_id = "${parallel.attribute.group}",
    ack_mode = "MANUAL",
    parallelism = 32,
    ordering = "key"
)]
async fn parallel_by_attribute(
    key: Key<String>,
    meta: RecordMeta,
    observed: State<Observed>,
    ack: Acknowledgment,
) {
    observed.handle(meta.partition, key.0, meta.offset).await;
    ack.acknowledge();
}

#[kafka_listener(
    id = "parallel-yaml",
    topics = "${parallel.yaml.topic}",
    group_id = "${parallel.yaml.group}"
)]
async fn parallel_by_configuration(key: Key<String>, meta: RecordMeta, observed: State<Observed>) {
    observed.handle(meta.partition, key.0, meta.offset).await;
}

fn config(kind: &str, topic: &str, group: &str, extra: &str) -> String {
    format!(
        "spring:\n  kafka:\n    consumer:\n      auto-offset-reset: earliest\n    listener:\n      poll-timeout: 200ms\n{extra}parallel:\n  {kind}:\n    topic: {topic}\n    group: {group}\n"
    )
}

/// Produces `count` records with `keys` distinct keys; returns each partition's log end.
async fn produce(kafka: &TestKafka, topic: &str, count: usize, keys: usize) -> BTreeMap<i32, i64> {
    let template = KafkaTemplate::connect(kafka.connection().clone(), ProducerSettings::default())
        .await
        .unwrap();
    let mut ends = BTreeMap::new();
    for n in 0..count {
        let sent = template
            .send(topic, format!("key-{}", n % keys).as_str(), format!("{n}"))
            .await
            .unwrap();
        let end = ends.entry(sent.partition).or_insert(0);
        *end = (*end).max(sent.offset + 1);
    }
    ends
}

async fn run_until_committed(
    kafka: &TestKafka,
    yaml: &str,
    listener: &str,
    topic: &str,
    group: &str,
    ends: &BTreeMap<i32, i64>,
    observed: &Arc<Observed>,
) {
    let running = App::from_yaml_str(yaml)
        .unwrap()
        .bootstrap(kafka.bootstrap())
        .shared_state(Arc::clone(observed))
        .listeners([listener])
        .start()
        .await
        .unwrap();
    eventually(
        "every record committed",
        Duration::from_secs(60),
        || async {
            let mut committed = BTreeMap::new();
            for &partition in ends.keys() {
                if let Some(offset) = kafka.committed_offset(group, topic, partition).await {
                    committed.insert(partition, offset);
                }
            }
            committed == *ends
        },
    )
    .await;
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn parallelism_attribute_overlaps_keys_and_keeps_each_key_in_offset_order() {
    let kafka = TestKafka::start().await;
    let topic = unique_name("parallel-attr");
    let group = unique_name("parallel-attr-group");
    kafka.create_topic(&topic, 2).await;
    let ends = produce(&kafka, &topic, 400, 40).await;
    let observed = Arc::new(Observed::default());
    let yaml = config("attribute", &topic, &group, "");
    run_until_committed(
        &kafka,
        &yaml,
        "parallel-attribute",
        &topic,
        &group,
        &ends,
        &observed,
    )
    .await;
    assert_eq!(
        observed.handled.load(Ordering::SeqCst),
        400,
        "each record once"
    );
    observed.assert_each_key_in_offset_order();
    let peak = observed.peak.load(Ordering::SeqCst);
    assert!(
        peak > 2,
        "records of a partition never overlapped (peak {peak})"
    );
}

#[tokio::test]
async fn parallelism_from_yaml_applies_to_listeners_without_the_attribute() {
    let kafka = TestKafka::start().await;
    let topic = unique_name("parallel-yaml");
    let group = unique_name("parallel-yaml-group");
    kafka.create_topic(&topic, 1).await;
    let ends = produce(&kafka, &topic, 200, 20).await;
    let observed = Arc::new(Observed::default());
    let extra = "kafka-listener:\n  parallelism:\n    max-in-flight: 8\n    ordering: key\n";
    let yaml = config("yaml", &topic, &group, extra);
    run_until_committed(
        &kafka,
        &yaml,
        "parallel-yaml",
        &topic,
        &group,
        &ends,
        &observed,
    )
    .await;
    assert_eq!(observed.handled.load(Ordering::SeqCst), 200);
    observed.assert_each_key_in_offset_order();
    let peak = observed.peak.load(Ordering::SeqCst);
    assert!(
        (2..=8).contains(&peak),
        "one partition, window of 8: peak {peak}"
    );
}
