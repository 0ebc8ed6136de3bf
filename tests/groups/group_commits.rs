//! Commits around rebalances (issue #4): a commit that races a rebalance fails cleanly and
//! succeeds after the rejoin; the revocation callback can still commit with the current
//! generation. Runs against the embedded broker, or real Kafka with KAFKA_BOOTSTRAP_SERVERS set.

use crate::group_support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use group_support::*;
use kafka_listener::client::BrokerConnection;
use kafka_listener::group::{
    Assignment, BoxFuture, GroupError, OffsetAndMetadata, OffsetCommitter, RebalanceListener,
    Subscription, TopicPartition,
};
use kafka_listener_suite::{eventually, unique_name, TestKafka};
use kafka_protocol::messages::{
    join_group_request::JoinGroupRequestProtocol, leave_group_request::MemberIdentity,
    sync_group_request::SyncGroupRequestAssignment, FindCoordinatorRequest, GroupId,
    JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, SyncGroupRequest,
};
use kafka_protocol::protocol::StrBytes;

/// A second group member written directly against the wire protocol, so the test decides
/// exactly when it rejoins and syncs.
struct WireMember {
    connection: BrokerConnection,
    group: String,
    topic: String,
    member_id: String,
}

impl WireMember {
    async fn connect(kafka: &TestKafka, group: &str, topic: &str) -> Self {
        let bootstrap = BrokerConnection::connect(
            &kafka.connection().bootstrap_servers()[0],
            kafka.connection(),
        )
        .await
        .expect("bootstrap");
        let coordinator = Arc::new(Mutex::new(None::<String>));
        eventually(
            "a coordinator for the group",
            Duration::from_secs(30),
            || {
                let request = FindCoordinatorRequest::default()
                    .with_coordinator_keys(vec![StrBytes::from_string(group.to_owned())]);
                let bootstrap = &bootstrap;
                let coordinator = Arc::clone(&coordinator);
                async move {
                    let response = bootstrap.send(request).await.expect("find coordinator");
                    let c = &response.coordinators[0];
                    if c.error_code == 0 {
                        *coordinator.lock().unwrap() = Some(format!("{}:{}", c.host, c.port));
                    }
                    c.error_code == 0
                }
            },
        )
        .await;
        let coordinator = coordinator.lock().unwrap().clone().unwrap();
        let connection = BrokerConnection::connect(&coordinator, kafka.connection())
            .await
            .expect("coordinator");
        Self {
            connection,
            group: group.to_owned(),
            topic: topic.to_owned(),
            member_id: String::new(),
        }
    }

    async fn join(&mut self) -> JoinGroupResponse {
        loop {
            let subscription = Subscription {
                topics: vec![self.topic.clone()],
                ..Default::default()
            };
            let request = JoinGroupRequest::default()
                .with_group_id(GroupId(StrBytes::from_string(self.group.clone())))
                .with_session_timeout_ms(30_000)
                .with_rebalance_timeout_ms(30_000)
                .with_member_id(StrBytes::from_string(self.member_id.clone()))
                .with_protocol_type(StrBytes::from_static_str("consumer"))
                .with_protocols(vec![JoinGroupRequestProtocol::default()
                    .with_name(StrBytes::from_static_str("range"))
                    .with_metadata(subscription.encode())]);
            let response = self
                .connection
                .send_with_timeout(request, Duration::from_secs(40))
                .await
                .expect("join");
            self.member_id = response.member_id.to_string();
            if response.error_code == 79 {
                continue; // MEMBER_ID_REQUIRED
            }
            assert_eq!(response.error_code, 0, "join failed");
            return response;
        }
    }

    async fn sync(&self, generation: i32, assignments: Vec<(String, Vec<TopicPartition>)>) {
        let request = SyncGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(self.group.clone())))
            .with_generation_id(generation)
            .with_member_id(StrBytes::from_string(self.member_id.clone()))
            .with_protocol_type(Some(StrBytes::from_static_str("consumer")))
            .with_protocol_name(Some(StrBytes::from_static_str("range")))
            .with_assignments(
                assignments
                    .into_iter()
                    .map(|(member, partitions)| {
                        SyncGroupRequestAssignment::default()
                            .with_member_id(StrBytes::from_string(member))
                            .with_assignment(
                                Assignment {
                                    partitions,
                                    user_data: None,
                                }
                                .encode(),
                            )
                    })
                    .collect(),
            );
        let response = self.connection.send(request).await.expect("sync");
        assert_eq!(response.error_code, 0, "sync failed");
    }

    async fn leave(&self) {
        let request = LeaveGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(self.group.clone())))
            .with_members(vec![MemberIdentity::default()
                .with_member_id(StrBytes::from_string(self.member_id.clone()))]);
        self.connection.send(request).await.expect("leave");
    }
}

#[tokio::test]
async fn group_commit_racing_a_rebalance_fails_cleanly_and_succeeds_after_rejoin() {
    init_tracing();
    let kafka = TestKafka::start().await;
    let topic = new_topic(&kafka, "group-race", 4).await;
    let group = unique_name("g-race");
    let tp = |p| TopicPartition::new(topic.clone(), p);

    // The wire member founds the group and leads it.
    let mut wire = WireMember::connect(&kafka, &group, &topic).await;
    let first = wire.join().await;
    assert_eq!(first.leader, first.member_id);
    wire.sync(
        first.generation_id,
        vec![(wire.member_id.clone(), (0..4).map(tp).collect())],
    )
    .await;

    // Our member joins; the group waits for the leader to rejoin.
    let mut ours = member(&kafka, fast_config(&group), &topic);
    let committer = ours.committer();
    let polling = tokio::spawn(async move {
        let result = ours.poll().await;
        (ours, result)
    });
    // Until our member's JoinGroup arrives, the leader's rejoin just returns the current
    // generation; once it arrives, the rejoin completes the rebalance with both members.
    let mut second = wire.join().await;
    while second.members.len() < 2 {
        second = wire.join().await;
    }
    let our_id = second
        .members
        .iter()
        .map(|m| m.member_id.to_string())
        .find(|id| *id != wire.member_id)
        .unwrap();
    // Our member is now between JoinGroup and SyncGroup: the group is completing the rebalance.
    eventually(
        "our member to enter the new generation",
        Duration::from_secs(10),
        || async { committer.generation() == Some(second.generation_id) },
    )
    .await;
    let offsets = BTreeMap::from([(tp(2), OffsetAndMetadata::new(1))]);
    let err = committer
        .commit(&offsets)
        .await
        .expect_err("commit mid-rebalance");
    assert!(
        matches!(err, GroupError::RebalanceInProgress { .. }),
        "{err}"
    );
    assert!(err.is_retriable_after_rejoin());

    // The leader hands out the assignment; our poll completes and the retried commit works.
    wire.sync(
        second.generation_id,
        vec![
            (wire.member_id.clone(), vec![tp(0), tp(1)]),
            (our_id, vec![tp(2), tp(3)]),
        ],
    )
    .await;
    let (ours, result) = polling.await.unwrap();
    let change = result.expect("poll").expect("an assignment change");
    assert_eq!(change.assigned, vec![tp(2), tp(3)]);
    committer
        .commit(&offsets)
        .await
        .expect("commit after the rejoin");
    assert_eq!(
        ours.committed(&[tp(2)]).await.unwrap()[&tp(2)],
        Some(OffsetAndMetadata::new(1))
    );
    wire.leave().await;
    ours.close().await.expect("close");
}

/// Commits, in `on_partitions_revoked`, the offsets the test asked for.
#[derive(Clone, Default)]
struct CommitOnRevoke {
    results: Arc<Mutex<Vec<Result<(), String>>>>,
}

impl RebalanceListener for CommitOnRevoke {
    fn on_partitions_revoked<'a>(
        &'a self,
        partitions: &'a [TopicPartition],
        committer: &'a OffsetCommitter,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let offsets = partitions
                .iter()
                .map(|tp| {
                    (
                        tp.clone(),
                        OffsetAndMetadata::new(100 + tp.partition as i64),
                    )
                })
                .collect();
            let result = committer.commit(&offsets).await.map_err(|e| e.to_string());
            self.results.lock().unwrap().push(result);
        })
    }
}

#[tokio::test]
async fn group_revocation_runs_before_rejoin_and_can_still_commit() {
    init_tracing();
    let kafka = TestKafka::start().await;
    let topic = new_topic(&kafka, "group-revoke", 4).await;
    produce(&kafka, &topic, 0, 1).await;
    let group = unique_name("g-revoke");
    let listener = CommitOnRevoke::default();
    let first = DrivenMember::start(
        member(&kafka, fast_config(&group), &topic).with_listener(listener.clone()),
    );
    let expected = all_partitions(&topic, 4);
    eventually(
        "first member owns everything",
        Duration::from_secs(30),
        || async { first.current() == expected },
    )
    .await;
    let second = DrivenMember::start(member(&kafka, fast_config(&group), &topic));
    wait_for_split(&[&first, &second], &expected, 2, Duration::from_secs(60)).await;

    // Eager (range): everything was revoked before the rejoin, and the commit made there, with
    // the old generation, was accepted.
    let results = listener.results.lock().unwrap().clone();
    assert_eq!(results, vec![Ok(())]);
    let second_member = second.stop().await;
    let committed = second_member
        .committed(&expected.iter().cloned().collect::<Vec<_>>())
        .await
        .unwrap();
    for (tp, offset) in committed {
        assert_eq!(
            offset,
            Some(OffsetAndMetadata::new(100 + tp.partition as i64))
        );
    }
    second_member.close().await.expect("close");
    first.stop().await.close().await.expect("close");
}
