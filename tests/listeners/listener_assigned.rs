//! Manually assigned partitions (`partitions = [...]`, Spring's `topicPartitions`): only the
//! listed partitions are consumed, without group membership; with a group id the positions
//! are committed for that group and a restart resumes from them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_listener::producer::ProducerRecord;
use kafka_listener::{kafka_listener, App, RecordMeta, RunningApp, State};
use kafka_listener_suite::{eventually, unique_name, TestKafka};

/// Every delivery, duplicates included.
#[derive(Default)]
struct Seen(Mutex<Vec<(i32, i64)>>);

impl Seen {
    fn push(&self, partition: i32, offset: i64) {
        self.0.lock().unwrap().push((partition, offset));
    }
}

#[kafka_listener(
    id = "assigned-even",
    topics = "${test.topic}",
    partitions = [0, 2],
    group_id = "${test.group}",
    ack_mode = "RECORD"
)]
async fn even_partitions(meta: RecordMeta, seen: State<Seen>) {
    seen.push(meta.partition, meta.offset);
}

fn yaml(topic: &str, group: &str) -> String {
    format!(
        "spring.kafka:\n  consumer:\n    auto-offset-reset: earliest\n  listener:\n    poll-timeout: 100ms\ntest:\n  topic: {topic}\n  group: {group}\n"
    )
}

async fn produce(kafka: &TestKafka, topic: &str, per_partition: i64) {
    let template = kafka.template().await;
    for partition in 0..3 {
        for n in 0..per_partition {
            template
                .send_record(ProducerRecord {
                    topic: topic.to_owned(),
                    partition: Some(partition),
                    value: Some(format!("{n}").into()),
                    ..ProducerRecord::default()
                })
                .await
                .unwrap();
        }
    }
}

async fn start(kafka: &TestKafka, topic: &str, group: &str, seen: &Arc<Seen>) -> RunningApp {
    App::from_yaml_str(&yaml(topic, group))
        .unwrap()
        .bootstrap(kafka.bootstrap())
        .shared_state(Arc::clone(seen))
        .listeners(["assigned-even"])
        .start()
        .await
        .unwrap()
}

async fn wait_for_commits(kafka: &TestKafka, group: &str, topic: &str, end: i64) {
    eventually(
        "partitions 0 and 2 committed",
        Duration::from_secs(30),
        || async {
            kafka.committed_offset(group, topic, 0).await == Some(end)
                && kafka.committed_offset(group, topic, 2).await == Some(end)
        },
    )
    .await;
}

#[tokio::test]
async fn manual_assignment_consumes_only_the_listed_partitions_and_resumes_after_restart() {
    let kafka = TestKafka::start().await;
    let (topic, group) = (unique_name("assigned"), unique_name("assigned-group"));
    kafka.create_topic(&topic, 3).await;
    produce(&kafka, &topic, 4).await;
    let seen = Arc::new(Seen::default());

    let first = start(&kafka, &topic, &group, &seen).await;
    first
        .wait_for_assignment("assigned-even", Duration::from_secs(30))
        .await
        .expect("the listed partitions are assigned");
    wait_for_commits(&kafka, &group, &topic, 4).await;
    first.shutdown().await.unwrap();

    produce(&kafka, &topic, 2).await;
    let second = start(&kafka, &topic, &group, &seen).await;
    wait_for_commits(&kafka, &group, &topic, 6).await;
    second.shutdown().await.unwrap();

    let mut seen = seen.0.lock().unwrap().clone();
    seen.sort();
    let expected: Vec<(i32, i64)> = [0, 2]
        .into_iter()
        .flat_map(|p| (0..6).map(move |o| (p, o)))
        .collect();
    assert_eq!(seen, expected, "partitions 0 and 2, each record once");
    assert_eq!(
        kafka.committed_offset(&group, &topic, 1).await,
        None,
        "partition 1 is not ours"
    );
}
