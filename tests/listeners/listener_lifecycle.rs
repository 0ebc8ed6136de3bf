//! The listener container across its life: rebalances between app instances, shutdown with
//! work in flight, a handler outliving max.poll.interval.ms, missing topics, pause across a
//! rebalance.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_listener::container::ContainerEvent;
use kafka_listener::group::TopicPartition;
use kafka_listener::producer::ProducerRecord;
use kafka_listener::{kafka_listener, App, RecordMeta, RunningApp, State};
use kafka_listener_suite::{eventually, unique_name, TestKafka};
use tokio::sync::watch;

/// Which instances handled each (partition, offset).
type Seen = Arc<Mutex<BTreeMap<(i32, i64), Vec<&'static str>>>>;

/// Every (partition, offset) each app instance handled, and a gate that can hold handlers.
struct Ledger {
    instance: &'static str,
    seen: Seen,
    /// Handlers of offsets at or above this value wait until it is raised.
    open_below: watch::Sender<i64>,
    /// Per-record work time, to keep handlers busy while a rebalance happens.
    work: Duration,
}

impl Ledger {
    fn new(instance: &'static str, seen: Seen) -> Self {
        Self {
            instance,
            seen,
            open_below: watch::channel(i64::MAX).0,
            work: Duration::ZERO,
        }
    }
}

#[kafka_listener(id = "lifecycle", topics = "${test.topic}", group_id = "${test.group}")]
async fn lifecycle_listener(meta: RecordMeta, ledger: State<Ledger>) {
    let mut open = ledger.open_below.subscribe();
    let _ = open.wait_for(|&below| meta.offset < below).await;
    if !ledger.work.is_zero() {
        tokio::time::sleep(ledger.work).await;
    }
    ledger
        .seen
        .lock()
        .unwrap()
        .entry((meta.partition, meta.offset))
        .or_default()
        .push(ledger.instance);
}

fn yaml(topic: &str, group: &str, extra_consumer_properties: &str) -> String {
    format!(
        "spring.kafka:
  consumer:
    auto-offset-reset: earliest
    properties:
      heartbeat.interval.ms: 300
      session.timeout.ms: 6000
{extra_consumer_properties}
  listener:
    ack-mode: RECORD
    poll-timeout: 100ms
test:
  topic: {topic}
  group: {group}
"
    )
}

async fn start(kafka: &TestKafka, yaml: &str, ledger: Arc<Ledger>) -> RunningApp {
    App::from_yaml_str(yaml)
        .unwrap()
        .bootstrap(kafka.bootstrap())
        .shared_state(ledger)
        .shutdown_timeout(Duration::from_millis(500))
        .listeners(["lifecycle"])
        .start()
        .await
        .unwrap()
}

async fn produce(kafka: &TestKafka, topic: &str, partitions: i32, per_partition: i64) {
    let template = kafka.template().await;
    for n in 0..per_partition {
        for partition in 0..partitions {
            template
                .send_record(ProducerRecord {
                    topic: topic.to_owned(),
                    partition: Some(partition),
                    value: Some(format!("r{n}").into()),
                    ..ProducerRecord::default()
                })
                .await
                .unwrap();
        }
    }
}

#[tokio::test]
async fn rebalance_between_two_instances_processes_every_record_exactly_once() {
    let kafka = TestKafka::start().await;
    let (topic, group) = (
        unique_name("lifecycle-rebalance"),
        unique_name("lifecycle-group"),
    );
    kafka.create_topic(&topic, 4).await;
    produce(&kafka, &topic, 4, 25).await;
    let seen = Seen::default();
    let config = yaml(&topic, &group, "");
    let mut first = Ledger::new("first", Arc::clone(&seen));
    first.work = Duration::from_millis(3);
    let a = start(&kafka, &config, Arc::new(first)).await;
    eventually(
        "the first instance to be busy",
        Duration::from_secs(30),
        || async { seen.lock().unwrap().len() >= 20 },
    )
    .await;
    let mut second = Ledger::new("second", Arc::clone(&seen));
    second.work = Duration::from_millis(3);
    let b = start(&kafka, &config, Arc::new(second)).await;
    b.wait_for_assignment("lifecycle", Duration::from_secs(30))
        .await
        .expect("the second instance gets partitions");
    // More work after the rebalance, on every partition: both instances must take part.
    produce(&kafka, &topic, 4, 25).await;
    eventually(
        "all 200 records handled",
        Duration::from_secs(60),
        || async { seen.lock().unwrap().len() == 200 },
    )
    .await;
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
    let seen = seen.lock().unwrap();
    let twice: Vec<_> = seen.iter().filter(|(_, by)| by.len() > 1).collect();
    assert!(twice.is_empty(), "handled more than once: {twice:?}");
    let instances: std::collections::BTreeSet<_> = seen.values().flatten().collect();
    assert_eq!(instances.len(), 2, "both instances did work");
}

#[tokio::test]
async fn shutdown_with_in_flight_work_commits_exactly_what_finished() {
    let kafka = TestKafka::start().await;
    let (topic, group) = (
        unique_name("lifecycle-shutdown"),
        unique_name("lifecycle-group"),
    );
    kafka.create_topic(&topic, 1).await;
    produce(&kafka, &topic, 1, 5).await;
    let seen = Seen::default();
    let ledger = Ledger::new("only", Arc::clone(&seen));
    ledger.open_below.send_replace(3); // offsets 3 and 4 never finish
    let app = start(&kafka, &yaml(&topic, &group, ""), Arc::new(ledger)).await;
    eventually("offsets 0..=2 handled", Duration::from_secs(30), || async {
        seen.lock().unwrap().len() == 3
    })
    .await;
    app.shutdown().await.unwrap();
    assert_eq!(kafka.committed_offset(&group, &topic, 0).await, Some(3));
}

#[tokio::test]
async fn max_poll_interval_exceeded_raises_an_event_and_commits_nothing_for_the_stuck_record() {
    let kafka = TestKafka::start().await;
    let (topic, group) = (
        unique_name("lifecycle-poll"),
        unique_name("lifecycle-group"),
    );
    kafka.create_topic(&topic, 1).await;
    produce(&kafka, &topic, 1, 2).await;
    let seen = Seen::default();
    let ledger = Arc::new(Ledger::new("slow", Arc::clone(&seen)));
    ledger.open_below.send_replace(1); // offset 1 is stuck
    let config = yaml(&topic, &group, "      max.poll.interval.ms: 1500");
    let app = start(&kafka, &config, Arc::clone(&ledger)).await;
    let mut events = app.events();
    eventually("offset 0 handled", Duration::from_secs(30), || async {
        seen.lock().unwrap().len() == 1
    })
    .await;
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match events.recv().await {
                Ok(ContainerEvent::ConsumerError {
                    poll_interval_exceeded: true,
                    ..
                }) => break,
                Ok(_) => {}
                Err(e) => panic!("events closed: {e}"),
            }
        }
    })
    .await
    .expect("a poll-interval error event");
    // The member stopped the overrunning handler before it left the group, so it never
    // finishes; the record is delivered again after the rejoin and only then committed.
    ledger.open_below.send_replace(i64::MAX);
    eventually(
        "offset 1 committed after redelivery",
        Duration::from_secs(60),
        || async { kafka.committed_offset(&group, &topic, 0).await == Some(2) },
    )
    .await;
    assert_eq!(
        seen.lock().unwrap().get(&(0, 1)).map(Vec::len),
        Some(1),
        "the stuck handler was stopped; the record is handled once, after its redelivery"
    );
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn missing_topics_fatal_stops_start_up_naming_the_topic() {
    let kafka = TestKafka::start().await;
    let topic = unique_name("lifecycle-missing");
    let config = yaml(&topic, &unique_name("g"), "").replace(
        "  listener:\n",
        "  listener:\n    missing-topics-fatal: true\n",
    );
    let error = App::from_yaml_str(&config)
        .unwrap()
        .bootstrap(kafka.bootstrap())
        .shared_state(Arc::new(Ledger::new("none", Seen::default())))
        .listeners(["lifecycle"])
        .start()
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains(&topic) && message.contains("missing-topics-fatal"),
        "{message}"
    );
}

#[tokio::test]
async fn pause_is_kept_across_a_rebalance_for_partitions_that_stay() {
    let kafka = TestKafka::start().await;
    let (topic, group) = (
        unique_name("lifecycle-pause"),
        unique_name("lifecycle-group"),
    );
    kafka.create_topic(&topic, 2).await;
    let seen = Seen::default();
    let config = yaml(&topic, &group, "");
    let a = start(
        &kafka,
        &config,
        Arc::new(Ledger::new("a", Arc::clone(&seen))),
    )
    .await;
    let held = a
        .wait_for_assignment("lifecycle", Duration::from_secs(30))
        .await
        .expect("assignment");
    assert_eq!(held.len(), 2);
    for tp in &held {
        a.pause("lifecycle", tp);
    }
    // A second instance joins: A keeps one partition, still paused.
    let b = start(
        &kafka,
        &config,
        Arc::new(Ledger::new("b", Arc::clone(&seen))),
    )
    .await;
    let b_held = b
        .wait_for_assignment("lifecycle", Duration::from_secs(30))
        .await
        .expect("b gets a partition");
    eventually(
        "a settles on one partition",
        Duration::from_secs(30),
        || async { a.assignment("lifecycle").len() == 1 },
    )
    .await;
    let a_partition = a.assignment("lifecycle")[0].clone();
    assert!(!b_held.contains(&a_partition));
    produce(&kafka, &topic, 2, 5).await;
    let b_partition = b_held[0].partition;
    eventually(
        "b handles its partition",
        Duration::from_secs(30),
        || async { kafka.committed_offset(&group, &topic, b_partition).await == Some(5) },
    )
    .await;
    assert!(
        seen.lock()
            .unwrap()
            .keys()
            .all(|(partition, _)| *partition != a_partition.partition),
        "a's paused partition was consumed"
    );
    a.resume("lifecycle", &a_partition);
    eventually(
        "a handles its partition after resume",
        Duration::from_secs(30),
        || async {
            kafka
                .committed_offset(&group, &topic, a_partition.partition)
                .await
                == Some(5)
        },
    )
    .await;
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn seek_to_a_timestamp_redelivers_from_the_first_record_at_or_after_it() {
    let kafka = TestKafka::start().await;
    let (topic, group) = (
        unique_name("lifecycle-seek"),
        unique_name("lifecycle-group"),
    );
    kafka.create_topic(&topic, 1).await;
    let template = kafka.template().await;
    let base = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
        - 60_000;
    for n in 0..5i64 {
        template
            .send_record(ProducerRecord {
                topic: topic.clone(),
                partition: Some(0),
                value: Some(format!("r{n}").into()),
                timestamp: Some(base + n * 1_000),
                ..ProducerRecord::default()
            })
            .await
            .unwrap();
    }
    let seen = Seen::default();
    let app = start(
        &kafka,
        &yaml(&topic, &group, ""),
        Arc::new(Ledger::new("only", Arc::clone(&seen))),
    )
    .await;
    eventually("all five handled", Duration::from_secs(30), || async {
        seen.lock().unwrap().len() == 5
    })
    .await;
    // Between the timestamps of offsets 2 and 3: delivery resumes at offset 3.
    app.seek(
        "lifecycle",
        &TopicPartition::new(&topic, 0),
        kafka_listener::container::SeekTo::Timestamp(base + 2_500),
    );
    eventually(
        "offsets 3 and 4 handled again",
        Duration::from_secs(30),
        || async {
            let seen = seen.lock().unwrap();
            [(0, 3), (0, 4)]
                .iter()
                .all(|k| seen.get(k).map(Vec::len) == Some(2))
        },
    )
    .await;
    assert_eq!(seen.lock().unwrap().get(&(0, 2)).map(Vec::len), Some(1));
    app.shutdown().await.unwrap();
}
