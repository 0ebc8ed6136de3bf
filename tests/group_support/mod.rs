//! Helpers for the `group_*` integration tests: members driven in their own tasks (a member
//! blocked in JoinGroup must not stop the others from rejoining), a recording listener, and
//! record production.

// Each group_* test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafka_listener::group::{
    AssignmentChange, BoxFuture, GroupConfig, GroupError, GroupMember, OffsetCommitter,
    RebalanceListener, TopicPartition,
};
use kafka_listener_suite::{eventually, TestKafka};
use tokio::sync::watch;

/// Small timeouts so rebalances in tests take seconds, not minutes. 6 s is the broker's
/// default group.min.session.timeout.ms.
pub fn fast_config(group: &str) -> GroupConfig {
    GroupConfig::new(group)
        .session_timeout(Duration::from_secs(6))
        .heartbeat_interval(Duration::from_millis(500))
        .max_poll_interval(Duration::from_secs(20))
}

/// Every callback the member ran, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Callback {
    Revoked(Vec<TopicPartition>),
    Assigned(Vec<TopicPartition>),
    Lost(Vec<TopicPartition>),
}

/// A listener that records its callbacks.
#[derive(Debug, Clone, Default)]
pub struct RecordingListener(pub Arc<Mutex<Vec<Callback>>>);

impl RecordingListener {
    pub fn calls(&self) -> Vec<Callback> {
        self.0.lock().unwrap().clone()
    }
}

impl RebalanceListener for RecordingListener {
    fn on_partitions_revoked<'a>(
        &'a self,
        partitions: &'a [TopicPartition],
        _committer: &'a OffsetCommitter,
    ) -> BoxFuture<'a, ()> {
        self.0
            .lock()
            .unwrap()
            .push(Callback::Revoked(partitions.to_vec()));
        Box::pin(async {})
    }

    fn on_partitions_assigned<'a>(
        &'a self,
        partitions: &'a [TopicPartition],
        _committer: &'a OffsetCommitter,
    ) -> BoxFuture<'a, ()> {
        self.0
            .lock()
            .unwrap()
            .push(Callback::Assigned(partitions.to_vec()));
        Box::pin(async {})
    }

    fn on_partitions_lost<'a>(&'a self, partitions: &'a [TopicPartition]) -> BoxFuture<'a, ()> {
        self.0
            .lock()
            .unwrap()
            .push(Callback::Lost(partitions.to_vec()));
        Box::pin(async {})
    }
}

/// A member polled in its own task until stopped; its assignment is published.
pub struct DrivenMember {
    pub assignment: watch::Receiver<BTreeSet<TopicPartition>>,
    pub generation: watch::Receiver<Option<i32>>,
    pub changes: Arc<Mutex<Vec<AssignmentChange>>>,
    pub errors: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<GroupMember>,
}

impl DrivenMember {
    pub fn start(mut member: GroupMember) -> Self {
        let (assignment_tx, assignment) = watch::channel(BTreeSet::new());
        let (generation_tx, generation) = watch::channel(None);
        let changes = Arc::new(Mutex::new(Vec::new()));
        let errors = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn({
            let changes = Arc::clone(&changes);
            let errors = Arc::clone(&errors);
            let stop = Arc::clone(&stop);
            async move {
                while !stop.load(Ordering::Relaxed) {
                    match member.poll_timeout(Duration::from_millis(100)).await {
                        Ok(Some(change)) => changes.lock().unwrap().push(change),
                        Ok(None) => {}
                        Err(e) => {
                            errors.lock().unwrap().push(e.to_string());
                            if !matches!(e, GroupError::MaxPollIntervalExceeded { .. }) {
                                tokio::time::sleep(Duration::from_millis(200)).await;
                            }
                        }
                    }
                    assignment_tx.send_replace(member.assignment().into_iter().collect());
                    generation_tx.send_replace(member.generation());
                }
                member
            }
        });
        Self {
            assignment,
            generation,
            changes,
            errors,
            stop,
            task,
        }
    }

    pub fn current(&self) -> BTreeSet<TopicPartition> {
        self.assignment.borrow().clone()
    }

    /// Stops polling and hands the member back (for close, or to drop it silently).
    pub async fn stop(self) -> GroupMember {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("member task panicked")
    }
}

pub fn all_partitions(topic: &str, count: i32) -> BTreeSet<TopicPartition> {
    (0..count).map(|p| TopicPartition::new(topic, p)).collect()
}

/// Waits until the members' assignments are disjoint and together cover `expected`, each
/// member holding at least `min_each`.
pub async fn wait_for_split(
    members: &[&DrivenMember],
    expected: &BTreeSet<TopicPartition>,
    min_each: usize,
    timeout: Duration,
) {
    eventually(
        &format!("{} members to split {expected:?}", members.len()),
        timeout,
        || async {
            let sets: Vec<_> = members.iter().map(|m| m.current()).collect();
            let total: usize = sets.iter().map(BTreeSet::len).sum();
            let union: BTreeSet<_> = sets.iter().flatten().cloned().collect();
            total == expected.len()
                && &union == expected
                && sets.iter().all(|s| s.len() >= min_each)
        },
    )
    .await;
}

/// Polls `member` (alone in its group) until it holds an assignment; returns how long that took.
pub async fn join_alone(member: &mut GroupMember, timeout: Duration) -> Duration {
    let started = Instant::now();
    while member.assignment().is_empty() || member.generation().is_none() {
        assert!(
            started.elapsed() < timeout,
            "no assignment within {timeout:?}"
        );
        member
            .poll_timeout(Duration::from_millis(100))
            .await
            .expect("poll");
    }
    started.elapsed()
}

/// Produces `count` small records to one partition.
pub async fn produce(kafka: &TestKafka, topic: &str, partition: i32, count: usize) {
    use rskafka::client::partition::{Compression, UnknownTopicHandling};
    let client = kafka.connection().rskafka_client().await.expect("client");
    let partition_client = client
        .partition_client(topic, partition, UnknownTopicHandling::Retry)
        .await
        .expect("partition client");
    let records = (0..count)
        .map(|i| rskafka::record::Record {
            key: Some(format!("k{i}").into_bytes()),
            value: Some(format!("v{i}").into_bytes()),
            headers: Default::default(),
            timestamp: now(),
        })
        .collect();
    partition_client
        .produce(records, Compression::NoCompression)
        .await
        .expect("produce");
}

/// Wall-clock now as rskafka's timestamp type (rskafka builds chrono without its clock).
fn now() -> rskafka::chrono::DateTime<rskafka::chrono::Utc> {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64;
    rskafka::chrono::DateTime::from_timestamp_millis(millis).expect("valid timestamp")
}

pub async fn new_topic(kafka: &TestKafka, prefix: &str, partitions: i32) -> String {
    let topic = kafka_listener_suite::unique_name(prefix);
    kafka.create_topic(&topic, partitions).await;
    topic
}

pub fn member(kafka: &TestKafka, config: GroupConfig, topic: &str) -> GroupMember {
    let mut member = GroupMember::new(kafka.connection().clone(), config);
    member.subscribe([topic]);
    member
}

pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_test_writer()
        .try_init();
}
