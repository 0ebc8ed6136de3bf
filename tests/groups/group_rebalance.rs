//! Cooperative rebalancing, static membership, poll-interval liveness and a coordinator on
//! another broker than the partition leaders (issue #4). Runs against the embedded broker, or
//! real Kafka with KAFKA_BOOTSTRAP_SERVERS set.

use crate::group_support;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use group_support::*;
use kafka_listener::client::BrokerConnection;
use kafka_listener::group::{AssignorKind, GroupError, OffsetAndMetadata};
use kafka_listener_suite::{eventually, unique_name, TestKafka};
use kafka_protocol::messages::{FindCoordinatorRequest, MetadataRequest};
use kafka_protocol::protocol::StrBytes;

#[tokio::test]
async fn group_cooperative_rebalance_revokes_only_moved_partitions() {
    init_tracing();
    let kafka = TestKafka::start().await;
    let topic = new_topic(&kafka, "group-coop", 6).await;
    let group = unique_name("g-coop");
    let config = || {
        fast_config(&group)
            .assignment_strategy(["org.apache.kafka.clients.consumer.CooperativeStickyAssignor"])
            .unwrap()
    };
    let first_listener = RecordingListener::default();
    let first =
        DrivenMember::start(member(&kafka, config(), &topic).with_listener(first_listener.clone()));
    let expected = all_partitions(&topic, 6);
    eventually(
        "first member to own everything",
        Duration::from_secs(30),
        || async { first.current() == expected },
    )
    .await;

    let second = DrivenMember::start(member(&kafka, config(), &topic));
    wait_for_split(&[&first, &second], &expected, 3, Duration::from_secs(60)).await;

    let kept = first.current();
    let moved: BTreeSet<_> = second.current();
    let calls = first_listener.calls();
    let revoked: BTreeSet<_> = calls
        .iter()
        .filter_map(|c| match c {
            Callback::Revoked(p) => Some(p.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    // Only the partitions that moved were revoked; the kept ones never stopped.
    assert_eq!(revoked, moved, "callbacks: {calls:?}");
    assert!(revoked.is_disjoint(&kept));
    assert!(
        !calls.iter().any(|c| matches!(c, Callback::Lost(_))),
        "{calls:?}"
    );

    for driven in [first, second] {
        driven.stop().await.close().await.expect("close");
    }
}

#[tokio::test]
async fn group_static_member_restart_gets_its_partitions_back_without_rebalance() {
    init_tracing();
    let kafka = TestKafka::start().await;
    let topic = new_topic(&kafka, "group-static", 4).await;
    let group = unique_name("g-static");
    let instance = unique_name("instance");
    let config = |id: &str| {
        fast_config(&group)
            .group_instance_id(id)
            .session_timeout(Duration::from_secs(20))
    };

    let restarting = DrivenMember::start(member(&kafka, config(&instance), &topic));
    let other = DrivenMember::start(member(&kafka, config(&unique_name("other")), &topic));
    let expected = all_partitions(&topic, 4);
    wait_for_split(
        &[&restarting, &other],
        &expected,
        2,
        Duration::from_secs(60),
    )
    .await;
    let before = restarting.current();
    let other_generation = *other.generation.borrow();
    let other_changes = other.changes.lock().unwrap().len();

    // A static member's close sends no LeaveGroup: its place is kept for the session timeout.
    restarting.stop().await.close().await.expect("close");
    let mut again = member(&kafka, config(&instance), &topic);
    join_alone(&mut again, Duration::from_secs(15)).await;
    assert_eq!(
        again.assignment().into_iter().collect::<BTreeSet<_>>(),
        before
    );

    // The other member saw no rebalance: same generation, no assignment change. Give its
    // heartbeat (every 500 ms) time to notice one, were there any.
    let quiet_until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < quiet_until {
        again
            .poll_timeout(Duration::from_millis(100))
            .await
            .expect("poll");
    }
    assert_eq!(*other.generation.borrow(), other_generation);
    assert_eq!(other.changes.lock().unwrap().len(), other_changes);
    again.close().await.expect("close");
    other.stop().await.close().await.expect("close");
}

#[tokio::test]
async fn group_member_not_polled_within_max_poll_interval_leaves_and_reports_it() {
    init_tracing();
    let kafka = TestKafka::start().await;
    let topic = new_topic(&kafka, "group-poll", 2).await;
    let group = unique_name("g-poll");
    let listener = RecordingListener::default();
    let mut member = member(
        &kafka,
        fast_config(&group).max_poll_interval(Duration::from_secs(2)),
        &topic,
    )
    .with_listener(listener.clone());
    join_alone(&mut member, Duration::from_secs(30)).await;
    let owned = member.assignment();

    // The owner stalls; the heartbeat task notices and leaves the group.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let err = member.poll().await.expect_err("poll interval exceeded");
    assert!(
        matches!(err, GroupError::MaxPollIntervalExceeded { .. }),
        "{err}"
    );
    assert!(listener.calls().contains(&Callback::Lost(owned.clone())));
    assert!(member.assignment().is_empty());

    // The next poll rejoins.
    join_alone(&mut member, Duration::from_secs(30)).await;
    assert_eq!(member.assignment(), owned);
    member.close().await.expect("close");
}

#[tokio::test]
async fn group_works_when_the_coordinator_is_not_the_partition_leader() {
    init_tracing();
    let kafka = TestKafka::start().await;
    let brokers = kafka.connection().bootstrap_servers().len();
    if brokers < 3 {
        eprintln!("skipped: needs a 3-broker cluster (deploy/local/kafka.sh start --brokers 3), have {brokers}");
        return;
    }
    let topic = new_topic(&kafka, "group-coord", 6).await;
    let group = unique_name("g-coord");
    let mut member = member(
        &kafka,
        fast_config(&group).auto_offset_reset(kafka_listener::group::AutoOffsetReset::Earliest),
        &topic,
    );
    join_alone(&mut member, Duration::from_secs(30)).await;
    assert_eq!(member.protocol(), Some(AssignorKind::Range));
    // The premise: some of our partitions are led by a broker other than the coordinator, so
    // commits/fetches (coordinator) and ListOffsets (leaders) go to different brokers.
    let admin = BrokerConnection::connect(
        &kafka.connection().bootstrap_servers()[0],
        kafka.connection(),
    )
    .await
    .expect("connect");
    let coordinator = admin
        .send(
            FindCoordinatorRequest::default()
                .with_coordinator_keys(vec![StrBytes::from_string(group.clone())]),
        )
        .await
        .expect("find coordinator")
        .coordinators[0]
        .node_id
        .0;
    let metadata = admin
        .send(MetadataRequest::default().with_topics(None))
        .await
        .expect("metadata");
    let leaders: Vec<i32> = metadata
        .topics
        .iter()
        .filter(|t| t.name.as_ref().map(|n| n.0.as_str()) == Some(topic.as_str()))
        .flat_map(|t| t.partitions.iter().map(|p| p.leader_id.0))
        .collect();
    assert_eq!(leaders.len(), 6);
    assert!(
        leaders.iter().any(|&l| l != coordinator),
        "coordinator {coordinator}, leaders {leaders:?}"
    );
    for p in 0..6 {
        produce(&kafka, &topic, p, p as usize + 1).await;
    }
    let positions = member
        .starting_offsets(&member.assignment())
        .await
        .expect("positions");
    let commits = positions
        .keys()
        .map(|tp| (tp.clone(), OffsetAndMetadata::new(tp.partition as i64 + 1)))
        .collect();
    member.commit(&commits).await.expect("commit");
    let committed = member.committed(&member.assignment()).await.expect("fetch");
    for (tp, offset) in committed {
        assert_eq!(offset.map(|o| o.offset), Some(tp.partition as i64 + 1));
    }
    member.close().await.expect("close");
}

#[tokio::test]
async fn group_member_fenced_by_a_duplicate_instance_id_loses_its_partitions() {
    init_tracing();
    let kafka = TestKafka::start().await;
    let topic = new_topic(&kafka, "group-fence", 2).await;
    let group = unique_name("g-fence");
    let instance = unique_name("twin");
    let listener = RecordingListener::default();
    let mut older = member(
        &kafka,
        fast_config(&group).group_instance_id(&instance),
        &topic,
    )
    .with_listener(listener.clone());
    join_alone(&mut older, Duration::from_secs(30)).await;
    let owned = older.assignment();

    // A second process configured with the same group.instance.id takes the place over.
    let mut newer = member(
        &kafka,
        fast_config(&group).group_instance_id(&instance),
        &topic,
    );
    join_alone(&mut newer, Duration::from_secs(30)).await;

    // The older member's heartbeat is answered FENCED_INSTANCE_ID: lost (no commit), reported.
    let deadline = Instant::now() + Duration::from_secs(15);
    let fenced = loop {
        assert!(
            Instant::now() < deadline,
            "the older member was never fenced"
        );
        if let Err(e) = older.poll_timeout(Duration::from_millis(100)).await {
            break e;
        }
    };
    let err = fenced;
    assert!(matches!(err, GroupError::FencedInstance { .. }), "{err}");
    assert!(
        listener.calls().contains(&Callback::Lost(owned.clone())),
        "{:?}",
        listener.calls()
    );
    assert!(older.assignment().is_empty());
    // Fatal, as in Java: the older member does not rejoin and fence the newer one in turn.
    let again = older.poll().await.expect_err("still fenced");
    assert!(
        matches!(again, GroupError::FencedInstance { .. }),
        "{again}"
    );
    newer.poll().await.expect("newer member unaffected");
    assert_eq!(newer.assignment(), owned);
    older
        .close()
        .await
        .expect("close of a fenced static member");
    newer.close().await.expect("close");
}
