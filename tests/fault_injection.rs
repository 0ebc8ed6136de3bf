//! The listener container and the group client against an embedded broker that misbehaves on
//! cue (issue 16, item 5): requests answered with error codes, delayed or stalled, connections
//! dropped, the coordinator moved, members fenced. Each test checks that consumption recovers
//! without losing a record.
//!
//! Fault injection exists only in the embedded broker, so these tests skip themselves (with a
//! message) when `KAFKA_BOOTSTRAP_SERVERS` points the suite at real Kafka.
//!
//! Tests where time matters run on tokio's paused clock: the broker, the app and the test share
//! one current-thread runtime, loopback writes are visible to the reader as soon as they are
//! made, and the clock only jumps when every task waits — so minutes of request timeouts and
//! back-offs pass in milliseconds, deterministically.

mod group_support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use group_support::{fast_config, DrivenMember};
use kafka_listener::client::ConnectionConfig;
use kafka_listener::container::ContainerEvent;
use kafka_listener::embedded::{EmbeddedKafka, EmbeddedKafkaBuilder, Faults};
use kafka_listener::group::{GroupError, GroupMember, OffsetAndMetadata, TopicPartition};
use kafka_listener::{kafka_listener, App, RecordMeta, RunningApp, State};
use kafka_listener_suite::{eventually, real_kafka_bootstrap, unique_name};
use kafka_protocol::messages::ApiKey;
use kafka_protocol::ResponseError;

/// How long any condition may take in real time before the test fails.
const PATIENCE: Duration = Duration::from_secs(30);

/// Every (partition, offset) the listener handled, in the order handled.
#[derive(Default)]
struct Handled(Mutex<Vec<(i32, i64)>>);

impl Handled {
    fn record(&self, partition: i32, offset: i64) {
        self.0.lock().unwrap().push((partition, offset));
    }

    /// How many times each (partition, offset) was handled.
    fn counts(&self) -> BTreeMap<(i32, i64), usize> {
        let mut counts = BTreeMap::new();
        for key in self.0.lock().unwrap().iter() {
            *counts.entry(*key).or_default() += 1;
        }
        counts
    }
}

#[kafka_listener(
    id = "fault-listener",
    topics = "${test.topic}",
    group_id = "${test.group}"
)]
async fn fault_listener(meta: RecordMeta, handled: State<Handled>) {
    handled.record(meta.partition, meta.offset);
}

/// A started embedded broker, or `None` (after saying why) when the suite runs on real Kafka.
async fn embedded_broker(builder: EmbeddedKafkaBuilder) -> Option<EmbeddedKafka> {
    if let Some(bootstrap) = real_kafka_bootstrap() {
        eprintln!(
            "skipped: fault injection needs the embedded broker, and KAFKA_BOOTSTRAP_SERVERS={bootstrap} points the suite at real Kafka"
        );
        return None;
    }
    Some(builder.start().await)
}

/// One topic, one group, one app running `fault-listener`.
struct Scenario {
    kafka: EmbeddedKafka,
    topic: String,
    group: String,
    partitions: i32,
    handled: Arc<Handled>,
    app: Option<RunningApp>,
}

impl Scenario {
    async fn new(kafka: EmbeddedKafka, partitions: i32) -> Self {
        group_support::init_tracing();
        let (topic, group) = (unique_name("faults"), unique_name("faults-group"));
        kafka.create_topic(&topic, partitions).await;
        Self {
            kafka,
            topic,
            group,
            partitions,
            handled: Arc::default(),
            app: None,
        }
    }

    fn faults(&self) -> Faults {
        self.kafka.faults()
    }

    /// Starts the app with a 300 ms heartbeat and a 6 s session; `consumer_properties` are
    /// extra lines under `spring.kafka.consumer.properties` (indented by six spaces).
    async fn start(&mut self, consumer_properties: &str) {
        self.start_with_session(300, 6000, consumer_properties)
            .await
    }

    async fn start_with_session(
        &mut self,
        heartbeat_ms: u32,
        session_ms: u32,
        consumer_properties: &str,
    ) {
        let yaml = format!(
            "spring.kafka:
  consumer:
    auto-offset-reset: earliest
    properties:
      heartbeat.interval.ms: {heartbeat_ms}
      session.timeout.ms: {session_ms}
{consumer_properties}
  listener:
    ack-mode: RECORD
    poll-timeout: 100ms
test:
  topic: {}
  group: {}
",
            self.topic, self.group
        );
        let app = App::from_yaml_str(&yaml)
            .unwrap()
            .bootstrap(self.kafka.bootstrap())
            .shared_state(Arc::clone(&self.handled))
            .shutdown_timeout(Duration::from_secs(5))
            .listeners(["fault-listener"])
            .start()
            .await
            .unwrap();
        self.app = Some(app);
    }

    fn app(&self) -> &RunningApp {
        self.app.as_ref().expect("the app was started")
    }

    /// Appends `per_partition` records to every partition.
    async fn produce(&self, per_partition: usize) {
        for partition in 0..self.partitions {
            let records =
                (0..per_partition).map(|n| (Some(format!("k{n}")), Some(format!("v{n}"))));
            self.kafka.produce(&self.topic, partition, records).await;
        }
    }

    fn log_ends(&self) -> BTreeMap<i32, i64> {
        (0..self.partitions)
            .map(|p| (p, self.kafka.high_watermark(&self.topic, p).unwrap()))
            .collect()
    }

    /// Every record of the topic handled at least once.
    async fn wait_all_handled(&self, what: &str) {
        let ends = self.log_ends();
        eventually(what, PATIENCE, || async {
            let counts = self.handled.counts();
            ends.iter()
                .all(|(&p, &end)| (0..end).all(|o| counts.contains_key(&(p, o))))
        })
        .await;
    }

    /// The group's committed offsets reach the log end of every partition.
    async fn wait_committed_at_log_end(&self) {
        let ends = self.log_ends();
        eventually("commits to reach the log end", PATIENCE, || async {
            let committed = self.kafka.committed_offsets(&self.group);
            ends.iter()
                .all(|(&p, &end)| committed.get(&(self.topic.clone(), p)) == Some(&end))
        })
        .await;
    }

    /// Records handled more than once.
    fn duplicates(&self) -> usize {
        self.handled.counts().values().map(|n| n - 1).sum()
    }

    /// Records of one partition handled out of offset order (a rewind shows as a repeat,
    /// which is allowed; a skip forward over an unhandled record is not).
    fn assert_no_gaps(&self) {
        let handled = self.handled.0.lock().unwrap().clone();
        for partition in 0..self.partitions {
            let mut next = 0;
            for &(_, offset) in handled.iter().filter(|(p, _)| *p == partition) {
                assert!(
                    offset <= next,
                    "partition {partition}: offset {offset} handled before {next}: {handled:?}"
                );
                next = next.max(offset + 1);
            }
        }
    }

    async fn wait_assigned(&self) {
        self.app()
            .wait_for_assignment("fault-listener", PATIENCE)
            .await
            .expect("the listener to be assigned its partitions");
    }

    async fn shutdown(mut self) {
        if let Some(app) = self.app.take() {
            app.shutdown().await.expect("clean shutdown");
        }
    }
}

/// The group's only member id, once it has exactly one.
fn only_member(kafka: &EmbeddedKafka, group: &str) -> Option<String> {
    let (_, members) = kafka.group_state(group);
    (members.len() == 1).then(|| members[0].clone())
}

#[tokio::test(start_paused = true)]
async fn fault_injection_heartbeat_rebalance_in_progress_rejoins_and_loses_nothing() {
    let Some(kafka) = embedded_broker(EmbeddedKafka::builder()).await else {
        return;
    };
    let mut s = Scenario::new(kafka, 2).await;
    s.produce(20).await;
    s.start("").await;
    s.wait_all_handled("the first records").await;
    let generation_before = s.kafka.group_state(&s.group);
    s.faults()
        .fail_next(ApiKey::Heartbeat, 2, ResponseError::RebalanceInProgress);
    eventually("two heartbeats told to rebalance", PATIENCE, || async {
        s.faults().injected(ApiKey::Heartbeat) == 2
    })
    .await;
    s.produce(20).await;
    s.wait_all_handled("records produced after the rebalance")
        .await;
    s.wait_committed_at_log_end().await;
    s.kafka
        .wait_for_stable_group(&s.group, 1, PATIENCE)
        .await
        .unwrap();
    assert_eq!(generation_before.1.len(), 1);
    s.assert_no_gaps();
    assert_eq!(s.duplicates(), 0, "RECORD commits before the rejoin");
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn fault_injection_commit_not_coordinator_rediscovers_the_coordinator_and_the_commit_lands() {
    let Some(kafka) = embedded_broker(EmbeddedKafka::builder()).await else {
        return;
    };
    let mut s = Scenario::new(kafka, 1).await;
    s.start("").await;
    s.wait_assigned().await;
    s.faults()
        .fail_next(ApiKey::OffsetCommit, 3, ResponseError::NotCoordinator);
    s.produce(10).await;
    s.wait_all_handled("every record").await;
    s.wait_committed_at_log_end().await;
    assert_eq!(s.faults().injected(ApiKey::OffsetCommit), 3);
    s.assert_no_gaps();
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn fault_injection_commit_illegal_generation_rejoins_and_redelivers_instead_of_losing() {
    let Some(kafka) = embedded_broker(EmbeddedKafka::builder()).await else {
        return;
    };
    let mut s = Scenario::new(kafka, 1).await;
    s.start("").await;
    s.wait_assigned().await;
    s.faults()
        .fail_next(ApiKey::OffsetCommit, 1, ResponseError::IllegalGeneration);
    s.produce(10).await;
    s.wait_all_handled("every record").await;
    s.wait_committed_at_log_end().await;
    assert_eq!(s.faults().injected(ApiKey::OffsetCommit), 1);
    s.assert_no_gaps();
    // The member is fenced: what the refused commit covered (every record handled when it
    // was sent, up to all ten) may be handled once more after the rejoin, as in Java; nothing
    // is handled a third time and nothing is lost.
    let counts = s.handled.counts();
    assert!(counts.values().all(|&n| n <= 2), "handled: {counts:?}");
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn fault_injection_fetch_not_leader_refreshes_metadata_and_fetching_resumes() {
    let Some(kafka) = embedded_broker(EmbeddedKafka::builder()).await else {
        return;
    };
    let mut s = Scenario::new(kafka, 2).await;
    s.start("").await;
    s.wait_assigned().await;
    s.faults()
        .on(ApiKey::Fetch)
        .topic(s.topic.clone())
        .fail_next(4, ResponseError::NotLeaderOrFollower);
    s.produce(15).await;
    s.wait_all_handled("every record").await;
    assert_eq!(s.faults().injected(ApiKey::Fetch), 4);
    s.wait_committed_at_log_end().await;
    s.assert_no_gaps();
    assert_eq!(s.duplicates(), 0, "a refused fetch delivers nothing twice");
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn fault_injection_dropped_connections_reconnect_and_resume_at_the_right_offset() {
    let Some(kafka) = embedded_broker(EmbeddedKafka::builder()).await else {
        return;
    };
    let mut s = Scenario::new(kafka, 2).await;
    s.produce(10).await;
    s.start("").await;
    s.wait_all_handled("the first records").await;
    s.wait_committed_at_log_end().await;
    s.faults().drop_connections();
    s.produce(10).await;
    s.wait_all_handled("records produced after the connections dropped")
        .await;
    s.wait_committed_at_log_end().await;
    s.assert_no_gaps();
    assert_eq!(
        s.duplicates(),
        0,
        "everything was committed before the drop"
    );
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn fault_injection_fetch_connection_dropped_mid_request_resumes_at_the_right_offset() {
    let Some(kafka) = embedded_broker(EmbeddedKafka::builder()).await else {
        return;
    };
    let mut s = Scenario::new(kafka, 1).await;
    s.produce(5).await;
    s.start("").await;
    s.wait_all_handled("the first records").await;
    s.faults().drop_next(ApiKey::Fetch, 3);
    // The long poll already waiting at the broker is not affected; the three after it are.
    eventually(
        "three fetches to lose their connection",
        PATIENCE,
        || async { s.faults().injected(ApiKey::Fetch) == 3 },
    )
    .await;
    s.produce(5).await;
    s.wait_all_handled("records after three dropped fetches")
        .await;
    s.wait_committed_at_log_end().await;
    s.assert_no_gaps();
    assert_eq!(s.duplicates(), 0);
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn fault_injection_fetch_stalled_past_the_request_timeout_is_abandoned_and_retried() {
    let Some(kafka) = embedded_broker(EmbeddedKafka::builder()).await else {
        return;
    };
    let mut s = Scenario::new(kafka, 1).await;
    s.produce(3).await;
    // Kafka's default request timeout: 30 s of silence pass in milliseconds on the paused clock.
    s.start("      request.timeout.ms: 30000").await;
    s.wait_all_handled("the first records").await;
    s.faults().stall(ApiKey::Fetch);
    s.produce(3).await;
    // A half-open connection: the fetcher must give up on the stalled request and send
    // another (which stalls too) — twice proves it keeps retrying.
    eventually(
        "the fetcher to retry past two stalled fetches",
        PATIENCE,
        || async { s.faults().injected(ApiKey::Fetch) >= 3 },
    )
    .await;
    s.faults().release();
    s.wait_all_handled("records once the broker answers again")
        .await;
    s.wait_committed_at_log_end().await;
    s.assert_no_gaps();
    assert_eq!(s.duplicates(), 0);
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn fault_injection_fenced_member_rejoins_and_keeps_consuming() {
    let Some(kafka) = embedded_broker(EmbeddedKafka::builder()).await else {
        return;
    };
    let mut s = Scenario::new(kafka, 2).await;
    s.produce(5).await;
    s.start("").await;
    s.wait_all_handled("the first records").await;
    s.wait_committed_at_log_end().await;
    let fenced = only_member(&s.kafka, &s.group).expect("one member");
    assert!(s.faults().fence_member(&s.group, &fenced));
    eventually("the member to rejoin under a new id", PATIENCE, || async {
        only_member(&s.kafka, &s.group).is_some_and(|m| m != fenced)
    })
    .await;
    s.kafka
        .wait_for_stable_group(&s.group, 1, PATIENCE)
        .await
        .unwrap();
    s.produce(5).await;
    s.wait_all_handled("records produced after the fence").await;
    s.wait_committed_at_log_end().await;
    s.assert_no_gaps();
    assert_eq!(
        s.duplicates(),
        0,
        "everything was committed before the fence"
    );
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn fault_injection_join_group_failures_are_retried_with_back_off() {
    let Some(kafka) = embedded_broker(EmbeddedKafka::builder()).await else {
        return;
    };
    let mut s = Scenario::new(kafka, 1).await;
    s.produce(5).await;
    s.faults().fail_next(
        ApiKey::JoinGroup,
        5,
        ResponseError::CoordinatorLoadInProgress,
    );
    let started = tokio::time::Instant::now();
    s.start("").await;
    s.wait_all_handled("every record once the group forms")
        .await;
    assert_eq!(s.faults().injected(ApiKey::JoinGroup), 5);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(5 * 100),
        "five refused joins were retried after {waited:?}: no back-off between them"
    );
    s.wait_committed_at_log_end().await;
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn fault_injection_join_group_not_coordinator_backs_off_before_asking_again() {
    let Some(kafka) = embedded_broker(EmbeddedKafka::builder()).await else {
        return;
    };
    let mut s = Scenario::new(kafka, 1).await;
    s.produce(5).await;
    s.faults()
        .fail_next(ApiKey::JoinGroup, 5, ResponseError::NotCoordinator);
    let started = tokio::time::Instant::now();
    s.start("").await;
    s.wait_all_handled("every record once the group forms")
        .await;
    assert_eq!(s.faults().injected(ApiKey::JoinGroup), 5);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(5 * 100),
        "five NOT_COORDINATOR joins were retried after {waited:?}: no back-off between them"
    );
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn fault_injection_delayed_sync_group_still_forms_the_group() {
    let Some(kafka) = embedded_broker(EmbeddedKafka::builder()).await else {
        return;
    };
    let mut s = Scenario::new(kafka, 2).await;
    s.produce(5).await;
    // Longer than the session timeout: the member must not be expired while it waits.
    s.faults()
        .on(ApiKey::SyncGroup)
        .group(s.group.clone())
        .delay_next(1, Duration::from_secs(5));
    s.start("").await;
    s.wait_all_handled("every record").await;
    assert_eq!(s.faults().injected(ApiKey::SyncGroup), 1);
    s.wait_committed_at_log_end().await;
    assert_eq!(s.duplicates(), 0);
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn fault_injection_repeated_commit_failures_are_retried_until_the_commit_lands() {
    let Some(kafka) = embedded_broker(EmbeddedKafka::builder()).await else {
        return;
    };
    let mut s = Scenario::new(kafka, 1).await;
    s.start("").await;
    s.wait_assigned().await;
    let mut events = s.app().events();
    s.faults().fail_next(
        ApiKey::OffsetCommit,
        8,
        ResponseError::CoordinatorNotAvailable,
    );
    s.produce(3).await;
    s.wait_all_handled("every record").await;
    eventually("eight commits to be refused", PATIENCE, || async {
        s.faults().injected(ApiKey::OffsetCommit) == 8
    })
    .await;
    // No more records arrive: the last handled offset must still be committed.
    s.wait_committed_at_log_end().await;
    let mut commit_failures = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let ContainerEvent::CommitFailed { failures, .. } = event {
            commit_failures.push(failures);
        }
    }
    // Raised every COMMIT_FAILURES_PER_EVENT failures in a row: at 3 and 6 of the 8.
    assert_eq!(commit_failures, [3, 6], "CommitFailed events");
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn fault_injection_find_coordinator_unavailable_is_retried_until_the_group_forms() {
    let Some(kafka) = embedded_broker(EmbeddedKafka::builder()).await else {
        return;
    };
    let mut s = Scenario::new(kafka, 1).await;
    s.produce(5).await;
    s.faults().fail_next(
        ApiKey::FindCoordinator,
        4,
        ResponseError::CoordinatorNotAvailable,
    );
    s.start("").await;
    s.wait_all_handled("every record once the coordinator is found")
        .await;
    assert_eq!(s.faults().injected(ApiKey::FindCoordinator), 4);
    s.wait_committed_at_log_end().await;
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn fault_injection_moved_coordinator_is_followed_without_losing_commits() {
    let Some(kafka) = embedded_broker(EmbeddedKafka::builder().brokers(2)).await else {
        return;
    };
    let mut s = Scenario::new(kafka, 2).await;
    s.produce(5).await;
    s.start("").await;
    s.wait_all_handled("the first records").await;
    s.wait_committed_at_log_end().await;
    let before = s.kafka.coordinator_of(&s.group);
    s.faults().move_coordinator(&s.group, 1 - before);
    s.produce(5).await;
    s.wait_all_handled("records produced after the move").await;
    s.wait_committed_at_log_end().await;
    s.assert_no_gaps();
    assert_eq!(s.duplicates(), 0);
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn fault_injection_forced_rebalance_keeps_the_partitions_and_loses_nothing() {
    let Some(kafka) = embedded_broker(EmbeddedKafka::builder()).await else {
        return;
    };
    let mut s = Scenario::new(kafka, 3).await;
    s.produce(5).await;
    s.start("").await;
    s.wait_all_handled("the first records").await;
    assert!(s.faults().force_rebalance(&s.group));
    s.produce(5).await;
    s.wait_all_handled("records produced after the rebalance")
        .await;
    s.wait_committed_at_log_end().await;
    s.kafka
        .wait_for_stable_group(&s.group, 1, PATIENCE)
        .await
        .unwrap();
    s.assert_no_gaps();
    assert_eq!(s.duplicates(), 0);
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn fault_injection_heartbeats_stalled_past_the_session_timeout_expire_the_member_and_it_rejoins(
) {
    let Some(kafka) = embedded_broker(EmbeddedKafka::builder()).await else {
        return;
    };
    let mut s = Scenario::new(kafka, 1).await;
    s.produce(5).await;
    // Kafka's defaults: 45 s of session and 3 s between heartbeats, on the paused clock.
    s.start_with_session(3000, 45000, "").await;
    s.wait_all_handled("the first records").await;
    s.wait_committed_at_log_end().await;
    let expired = only_member(&s.kafka, &s.group).expect("one member");
    s.faults().stall(ApiKey::Heartbeat);
    eventually(
        "the broker to expire the silent member",
        PATIENCE,
        || async { !s.kafka.group_state(&s.group).1.contains(&expired) },
    )
    .await;
    s.faults().release();
    eventually("the member to rejoin under a new id", PATIENCE, || async {
        only_member(&s.kafka, &s.group).is_some_and(|m| m != expired)
    })
    .await;
    s.produce(5).await;
    s.wait_all_handled("records produced after the rejoin")
        .await;
    s.wait_committed_at_log_end().await;
    s.assert_no_gaps();
    assert_eq!(
        s.duplicates(),
        0,
        "everything was committed before the expiry"
    );
    s.shutdown().await;
}

/// The group client on its own: after the coordinator moved, a commit fails once with
/// NOT_COORDINATOR (the caller retries) and the retry lands on the new coordinator.
#[tokio::test(start_paused = true)]
async fn fault_injection_group_commit_after_the_coordinator_moved_lands_on_the_new_one() {
    let Some(kafka) = embedded_broker(EmbeddedKafka::builder().brokers(2)).await else {
        return;
    };
    group_support::init_tracing();
    let (topic, group) = (unique_name("faults"), unique_name("faults-group"));
    kafka.create_topic(&topic, 1).await;
    let mut member = GroupMember::new(
        ConnectionConfig::new([kafka.bootstrap()]),
        fast_config(&group),
    );
    member.subscribe([topic.as_str()]);
    let driven = DrivenMember::start(member);
    eventually("the member to be assigned", PATIENCE, || async {
        driven.current().len() == 1
    })
    .await;
    let committer = driven.stop().await.committer();
    let tp = TopicPartition::new(topic.clone(), 0);
    let offsets = |o| BTreeMap::from([(tp.clone(), OffsetAndMetadata::new(o))]);
    committer.commit(&offsets(3)).await.expect("first commit");
    let before = kafka.coordinator_of(&group);
    kafka.faults().move_coordinator(&group, 1 - before);
    match committer.commit(&offsets(4)).await {
        Err(GroupError::Broker { error, .. }) => {
            assert_eq!(error, ResponseError::NotCoordinator)
        }
        other => panic!("the old coordinator must refuse the commit: {other:?}"),
    }
    committer
        .commit(&offsets(5))
        .await
        .expect("the retried commit goes to the new coordinator");
    assert_eq!(kafka.committed_offsets(&group)[&(topic, 0)], 5);
}

#[tokio::test(start_paused = true)]
async fn fault_injection_offset_fetch_failures_at_partition_start_are_retried() {
    let Some(kafka) = embedded_broker(EmbeddedKafka::builder()).await else {
        return;
    };
    let mut s = Scenario::new(kafka, 2).await;
    s.produce(5).await;
    s.faults().fail_next(
        ApiKey::OffsetFetch,
        2,
        ResponseError::CoordinatorLoadInProgress,
    );
    s.start("").await;
    s.wait_all_handled("every record once the committed offsets can be read")
        .await;
    assert_eq!(s.faults().injected(ApiKey::OffsetFetch), 2);
    s.wait_committed_at_log_end().await;
    s.assert_no_gaps();
    assert_eq!(s.duplicates(), 0);
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn fault_injection_dropped_heartbeat_connections_keep_the_membership() {
    let Some(kafka) = embedded_broker(EmbeddedKafka::builder()).await else {
        return;
    };
    let mut s = Scenario::new(kafka, 1).await;
    s.produce(5).await;
    s.start("").await;
    s.wait_all_handled("the first records").await;
    let member = only_member(&s.kafka, &s.group).expect("one member");
    s.faults().drop_next(ApiKey::Heartbeat, 2);
    eventually(
        "two heartbeats to lose their connection",
        PATIENCE,
        || async { s.faults().injected(ApiKey::Heartbeat) == 2 },
    )
    .await;
    s.produce(5).await;
    s.wait_all_handled("records produced after the drops").await;
    s.wait_committed_at_log_end().await;
    assert_eq!(
        only_member(&s.kafka, &s.group),
        Some(member),
        "well within the session timeout, the member keeps its place"
    );
    s.assert_no_gaps();
    assert_eq!(s.duplicates(), 0);
    s.shutdown().await;
}

/// A TCP relay on 127.0.0.1 to `target`, standing in for a seed broker that can go away:
/// aborting the returned task stops it accepting connections.
async fn relay_to(target: String) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let task = tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let target = target.clone();
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (addr, task)
}

/// With its only seed broker gone, a group client still finds a moved coordinator through the
/// brokers the cluster named at the first discovery (before: FindCoordinator only went to the
/// bootstrap list, so group coordination could not fail over while the data plane could).
#[tokio::test(start_paused = true)]
async fn fault_injection_a_moved_coordinator_is_found_through_known_brokers_when_the_seed_is_down()
{
    let Some(kafka) = embedded_broker(EmbeddedKafka::builder().brokers(2)).await else {
        return;
    };
    let (topic, group) = (unique_name("faults"), unique_name("faults-group"));
    kafka.create_topic(&topic, 1).await;
    let first_broker = kafka.bootstrap().split(',').next().unwrap().to_owned();
    let (seed, relay) = relay_to(first_broker).await;
    let committer =
        kafka_listener::group::OffsetCommitter::standalone(&group, ConnectionConfig::new([seed]));
    let tp = TopicPartition::new(topic.clone(), 0);
    let offsets = |o| BTreeMap::from([(tp.clone(), OffsetAndMetadata::new(o))]);
    committer.commit(&offsets(3)).await.expect("first commit");
    relay.abort();
    let before = kafka.coordinator_of(&group);
    kafka.faults().move_coordinator(&group, 1 - before);
    // The old coordinator refuses once; the client forgets it and must find the new one.
    let _ = committer.commit(&offsets(4)).await;
    committer
        .commit(&offsets(5))
        .await
        .expect("the coordinator found again without the seed broker");
    assert_eq!(kafka.committed_offsets(&group)[&(topic, 0)], 5);
}
