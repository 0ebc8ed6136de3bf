//! Spring Kafka's seven ack modes, observed end to end: the group's committed offset is read
//! from the broker while a handler is held at a chosen record, so each test pins the exact
//! commit points of its mode.
//!
//! Records are produced before the listener starts (from `earliest`), so the first fetch
//! returns them all: one poll.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_listener::{kafka_listener, Acknowledgment, App, RecordMeta, RunningApp, State};
use kafka_listener_suite::{eventually, unique_name, TestKafka};
use tokio::sync::{mpsc, watch};

/// Holds handlers at records the test has not released yet and reports each arrival.
struct Gate {
    arrivals: mpsc::UnboundedSender<i64>,
    released_below: watch::Sender<i64>,
    /// MANUAL listeners acknowledge only these offsets (all when `None`).
    acknowledge: Mutex<Option<Vec<i64>>>,
}

impl Gate {
    fn new() -> (Arc<Self>, mpsc::UnboundedReceiver<i64>) {
        let (arrivals, arrived) = mpsc::unbounded_channel();
        let gate = Self {
            arrivals,
            released_below: watch::channel(0).0,
            acknowledge: Mutex::new(None),
        };
        (Arc::new(gate), arrived)
    }

    async fn pass(&self, offset: i64) {
        let _ = self.arrivals.send(offset);
        let mut released = self.released_below.subscribe();
        let _ = released.wait_for(|&below| offset < below).await;
    }

    fn release_below(&self, offset: i64) {
        self.released_below.send_replace(offset);
    }

    fn should_acknowledge(&self, offset: i64) -> bool {
        self.acknowledge
            .lock()
            .unwrap()
            .as_ref()
            .is_none_or(|only| only.contains(&offset))
    }
}

/// Listener for the modes in which the container acknowledges: RECORD, BATCH, TIME, COUNT,
/// COUNT_TIME (the mode comes from `spring.kafka.listener.ack-mode`).
#[kafka_listener(id = "ack-auto", topics = "${test.topic}", group_id = "${test.group}")]
async fn auto_ack_listener(meta: RecordMeta, gate: State<Gate>) {
    gate.pass(meta.offset).await;
}

/// Listener for MANUAL and MANUAL_IMMEDIATE: acknowledges, then waits at the gate.
#[kafka_listener(
    id = "ack-manual",
    topics = "${test.topic}",
    group_id = "${test.group}"
)]
async fn manual_ack_listener(meta: RecordMeta, gate: State<Gate>, ack: Acknowledgment) {
    if gate.should_acknowledge(meta.offset) {
        ack.acknowledge();
    }
    gate.pass(meta.offset).await;
}

struct Scenario {
    kafka: TestKafka,
    topic: String,
    group: String,
    gate: Arc<Gate>,
    arrived: mpsc::UnboundedReceiver<i64>,
    app: Option<RunningApp>,
}

impl Scenario {
    /// A one-partition topic holding `records` records, and a listener in `ack_mode`.
    async fn start(listener: &str, listener_yaml: &str, records: u32) -> Self {
        Self::start_with(listener, listener_yaml, records, None).await
    }

    async fn start_with(
        listener: &str,
        listener_yaml: &str,
        records: u32,
        acknowledge_only: Option<Vec<i64>>,
    ) -> Self {
        let kafka = TestKafka::start().await;
        let topic = unique_name("ack-mode");
        let group = unique_name("ack-mode-group");
        kafka.create_topic(&topic, 1).await;
        produce(&kafka, &topic, records).await;
        let (gate, arrived) = Gate::new();
        *gate.acknowledge.lock().unwrap() = acknowledge_only;
        let yaml = format!(
            "spring.kafka:\n  consumer:\n    auto-offset-reset: earliest\n  listener:\n{listener_yaml}\ntest:\n  topic: {topic}\n  group: {group}\n"
        );
        let app = App::from_yaml_str(&yaml)
            .unwrap()
            .bootstrap(kafka.bootstrap())
            .shared_state(Arc::clone(&gate))
            .listeners([listener])
            .start()
            .await
            .unwrap();
        Self {
            kafka,
            topic,
            group,
            gate,
            arrived,
            app: Some(app),
        }
    }

    /// Waits until the handler is held at `offset`.
    async fn held_at(&mut self, offset: i64) {
        let deadline = Duration::from_secs(30);
        loop {
            let arrived = tokio::time::timeout(deadline, self.arrived.recv())
                .await
                .unwrap_or_else(|_| panic!("no handler reached offset {offset}"))
                .expect("gate open");
            if arrived == offset {
                return;
            }
        }
    }

    async fn committed(&self) -> Option<i64> {
        self.kafka
            .committed_offset(&self.group, &self.topic, 0)
            .await
    }

    async fn committed_becomes(&self, expected: i64) {
        eventually(
            &format!("committed offset {expected}"),
            Duration::from_secs(30),
            || async { self.committed().await == Some(expected) },
        )
        .await;
    }

    async fn shutdown(&mut self) {
        self.gate.release_below(i64::MAX);
        self.app.take().unwrap().shutdown().await.unwrap();
    }
}

async fn produce(kafka: &TestKafka, topic: &str, records: u32) {
    let template = kafka.template().await;
    for n in 0..records {
        template
            .send(topic, "k", format!("r{n}").as_str())
            .await
            .unwrap();
    }
}

fn mode(ack_mode: &str) -> String {
    format!("    ack-mode: {ack_mode}\n")
}

#[tokio::test]
async fn ack_mode_record_commits_after_each_record() {
    let mut s = Scenario::start("ack-auto", &mode("RECORD"), 3).await;
    s.held_at(0).await;
    assert_eq!(s.committed().await, None, "nothing handled yet");
    s.gate.release_below(1);
    s.held_at(1).await;
    s.committed_becomes(1).await;
    s.gate.release_below(2);
    s.held_at(2).await;
    s.committed_becomes(2).await;
    s.shutdown().await;
    assert_eq!(s.committed().await, Some(3));
}

#[tokio::test]
async fn ack_mode_batch_commits_once_the_polls_records_are_handled() {
    let mut s = Scenario::start("ack-auto", &mode("BATCH"), 3).await;
    s.gate.release_below(2);
    s.held_at(2).await;
    assert_eq!(s.committed().await, None, "no commit inside the poll");
    s.gate.release_below(3);
    s.committed_becomes(3).await;
    s.shutdown().await;
}

#[tokio::test]
async fn ack_mode_time_commits_at_poll_end_only_after_ack_time() {
    let mut s = Scenario::start(
        "ack-auto",
        &format!("{}    ack-time: 1h\n", mode("TIME")),
        3,
    )
    .await;
    s.gate.release_below(3);
    // Produce a fourth record and see it handled: the poll with 0..=2 ended without a commit.
    produce(&s.kafka, &s.topic, 1).await;
    s.held_at(3).await;
    assert_eq!(s.committed().await, None, "ack-time has not passed");
    s.shutdown().await;
    assert_eq!(
        s.committed().await,
        Some(4),
        "stopping commits what was handled"
    );
}

#[tokio::test]
async fn ack_mode_count_commits_at_poll_end_once_ack_count_records_were_handled() {
    let mut s = Scenario::start(
        "ack-auto",
        &format!("{}    ack-count: 5\n", mode("COUNT")),
        3,
    )
    .await;
    s.gate.release_below(i64::MAX);
    produce(&s.kafka, &s.topic, 1).await;
    s.held_at(3).await;
    assert_eq!(s.committed().await, None, "3 handled < ack-count 5");
    produce(&s.kafka, &s.topic, 1).await;
    s.committed_becomes(5).await;
    s.shutdown().await;
}

#[tokio::test]
async fn ack_mode_count_time_commits_when_the_count_is_reached_before_the_time() {
    let yaml = format!("{}    ack-count: 2\n    ack-time: 1h\n", mode("COUNT_TIME"));
    let mut s = Scenario::start("ack-auto", &yaml, 3).await;
    s.gate.release_below(i64::MAX);
    s.committed_becomes(3).await;
    s.shutdown().await;
}

#[tokio::test]
async fn ack_mode_manual_commits_the_acknowledged_prefix_after_the_poll() {
    // Offset 1 is never acknowledged: only offset 0 may be committed.
    let mut s = Scenario::start_with("ack-manual", &mode("MANUAL"), 3, Some(vec![0, 2])).await;
    s.gate.release_below(2);
    s.held_at(2).await;
    assert_eq!(
        s.committed().await,
        None,
        "MANUAL commits after the poll, not on acknowledge"
    );
    s.gate.release_below(3);
    s.committed_becomes(1).await;
    s.shutdown().await;
    assert_eq!(
        s.committed().await,
        Some(1),
        "never past the unacknowledged record"
    );
}

#[tokio::test]
async fn ack_mode_manual_immediate_commits_on_acknowledge() {
    let mut s = Scenario::start("ack-manual", &mode("MANUAL_IMMEDIATE"), 3).await;
    // The handler of offset 0 acknowledged and is still held: the commit already happened.
    s.held_at(0).await;
    s.committed_becomes(1).await;
    s.gate.release_below(1);
    s.held_at(1).await;
    s.committed_becomes(2).await;
    s.shutdown().await;
    assert_eq!(s.committed().await, Some(3));
}
