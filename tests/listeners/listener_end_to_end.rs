//! `#[kafka_listener]` functions run by the App against a broker: every record consumed,
//! committed positions exactly as the ack mode says, drained on shutdown.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_listener::group::{GroupConfig, GroupMember, TopicPartition};
use kafka_listener::producer::{KafkaTemplate, ProducerSettings};
use kafka_listener::Json;
use kafka_listener::{kafka_listener, Acknowledgment, App, Key, RecordMeta, State};
use kafka_listener_suite::{eventually, unique_name, TestKafka};

/// What the listeners saw, per test (each test uses its own topic, so its own key).
#[derive(Default)]
struct Seen(Mutex<BTreeMap<String, Vec<(String, i64)>>>);

impl Seen {
    fn record(&self, topic: &str, key: String, offset: i64) {
        self.0
            .lock()
            .unwrap()
            .entry(topic.to_owned())
            .or_default()
            .push((key, offset));
    }

    fn count(&self, topic: &str) -> usize {
        self.0.lock().unwrap().get(topic).map_or(0, Vec::len)
    }
}

#[derive(serde::Deserialize, serde::Serialize)]
struct Order {
    n: u32,
}

#[kafka_listener(
    id = "e2e-manual",
    topics = "${e2e.manual.topic}",
    group_id = "${e2e.manual.group}",
    ack_mode = "MANUAL"
)]
async fn manual_listener(
    order: Json<Order>,
    key: Key<String>,
    meta: RecordMeta,
    seen: State<Seen>,
    ack: Acknowledgment,
) {
    let _ = order.0.n;
    seen.record(&meta.topic, key.0, meta.offset);
    ack.acknowledge();
}

#[kafka_listener(
    id = "e2e-record",
    topics = "${e2e.record.topic}",
    group_id = "${e2e.record.group}",
    ack_mode = "RECORD"
)]
async fn record_listener(value: String, meta: RecordMeta, seen: State<Seen>) {
    seen.record(&meta.topic, value, meta.offset);
}

fn config(kind: &str, topic: &str, group: &str) -> String {
    format!(
        "spring:\n  kafka:\n    consumer:\n      auto-offset-reset: earliest\n    listener:\n      poll-timeout: 200ms\ne2e:\n  {kind}:\n    topic: {topic}\n    group: {group}\n"
    )
}

async fn committed(
    kafka: &TestKafka,
    group: &str,
    topic: &str,
    partitions: i32,
) -> BTreeMap<i32, i64> {
    let member = GroupMember::new(kafka.connection().clone(), GroupConfig::new(group));
    let tps: Vec<_> = (0..partitions)
        .map(|p| TopicPartition::new(topic, p))
        .collect();
    member
        .committed(&tps)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|(tp, offset)| offset.map(|o| (tp.partition, o.offset)))
        .collect()
}

async fn produce(kafka: &TestKafka, topic: &str, count: u32) -> BTreeMap<i32, i64> {
    let template = KafkaTemplate::connect(kafka.connection().clone(), ProducerSettings::default())
        .await
        .unwrap();
    let mut ends = BTreeMap::new();
    for n in 0..count {
        let sent = template
            .send(topic, format!("key-{}", n % 7).as_str(), Json(Order { n }))
            .await
            .unwrap();
        let end = ends.entry(sent.partition).or_insert(0);
        *end = (*end).max(sent.offset + 1);
    }
    ends
}

#[tokio::test]
async fn listener_manual_ack_consumes_everything_and_commits_the_log_end() {
    let kafka = TestKafka::start().await;
    let topic = unique_name("e2e-manual");
    let group = unique_name("e2e-manual-group");
    kafka.create_topic(&topic, 3).await;
    let ends = produce(&kafka, &topic, 60).await;

    let seen = Arc::new(Seen::default());
    let running = App::from_yaml_str(&config("manual", &topic, &group))
        .unwrap()
        .bootstrap(kafka.bootstrap())
        .shared_state(Arc::clone(&seen))
        .listeners(["e2e-manual"])
        .start()
        .await
        .unwrap();
    running
        .wait_for_assignment("e2e-manual", Duration::from_secs(30))
        .await
        .expect("the listener is assigned partitions");
    eventually("all committed", Duration::from_secs(30), || async {
        committed(&kafka, &group, &topic, 3).await == ends
    })
    .await;
    running.shutdown().await.unwrap();
    assert_eq!(committed(&kafka, &group, &topic, 3).await, ends);
    assert_eq!(seen.count(&topic), 60, "every record handled exactly once");
}

#[tokio::test]
async fn listener_record_ack_resumes_from_the_committed_offset_after_restart() {
    let kafka = TestKafka::start().await;
    let topic = unique_name("e2e-record");
    let group = unique_name("e2e-record-group");
    kafka.create_topic(&topic, 1).await;
    produce(&kafka, &topic, 5).await;

    let seen = Arc::new(Seen::default());
    let start = || async {
        App::from_yaml_str(&config("record", &topic, &group))
            .unwrap()
            .bootstrap(kafka.bootstrap())
            .shared_state(Arc::clone(&seen))
            .listeners(["e2e-record"])
            .start()
            .await
            .unwrap()
    };
    let first = start().await;
    eventually("first five committed", Duration::from_secs(30), || async {
        committed(&kafka, &group, &topic, 1).await.get(&0) == Some(&5)
    })
    .await;
    first.shutdown().await.unwrap();

    produce(&kafka, &topic, 3).await;
    let second = start().await;
    eventually(
        "the next three committed",
        Duration::from_secs(30),
        || async { committed(&kafka, &group, &topic, 1).await.get(&0) == Some(&8) },
    )
    .await;
    second.shutdown().await.unwrap();
    assert_eq!(
        seen.count(&topic),
        8,
        "no record handled twice across the restart"
    );
}
