//! Joining, splitting and handing over partitions (issue #4). Runs against the embedded broker,
//! or real Kafka with KAFKA_BOOTSTRAP_SERVERS set.

use crate::group_support;

use std::time::{Duration, Instant};

use group_support::*;
use kafka_listener::group::AssignorKind;
use kafka_listener_suite::{eventually, unique_name, TestKafka};

#[tokio::test]
async fn group_member_joins_alone_and_gets_every_partition() {
    init_tracing();
    let kafka = TestKafka::start().await;
    let topic = new_topic(&kafka, "group-alone", 4).await;
    let mut member = member(&kafka, fast_config(&unique_name("g-alone")), &topic);
    let took = join_alone(&mut member, Duration::from_secs(30)).await;
    eprintln!("join to first assignment, 1 member: {took:?}");
    assert_eq!(
        member
            .assignment()
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>(),
        all_partitions(&topic, 4)
    );
    assert_eq!(member.protocol(), Some(AssignorKind::Range));
    assert!(member.generation().is_some());
    assert!(!member.member_id().is_empty());
    member.close().await.expect("close");
}

#[tokio::test]
async fn group_two_and_three_members_split_partitions_with_no_overlap() {
    init_tracing();
    let kafka = TestKafka::start().await;
    let topic = new_topic(&kafka, "group-split", 7).await;
    let group = unique_name("g-split");
    let expected = all_partitions(&topic, 7);

    let first = DrivenMember::start(member(&kafka, fast_config(&group), &topic));
    let second = DrivenMember::start(member(&kafka, fast_config(&group), &topic));
    wait_for_split(&[&first, &second], &expected, 3, Duration::from_secs(60)).await;

    let started = Instant::now();
    let third = DrivenMember::start(member(&kafka, fast_config(&group), &topic));
    wait_for_split(
        &[&first, &second, &third],
        &expected,
        2,
        Duration::from_secs(60),
    )
    .await;
    eprintln!(
        "third member joined a 2-member group and all three hold partitions after {:?}",
        started.elapsed()
    );

    for driven in [first, second, third] {
        driven.stop().await.close().await.expect("close");
    }
}

#[tokio::test]
async fn group_three_members_starting_together_get_their_first_assignment() {
    init_tracing();
    let kafka = TestKafka::start().await;
    let topic = new_topic(&kafka, "group-three", 6).await;
    let group = unique_name("g-three");
    let started = Instant::now();
    let members: Vec<DrivenMember> = (0..3)
        .map(|_| {
            let mut config = fast_config(&group);
            config.assignors = vec![AssignorKind::RoundRobin];
            DrivenMember::start(member(&kafka, config, &topic))
        })
        .collect();
    let refs: Vec<&DrivenMember> = members.iter().collect();
    wait_for_split(
        &refs,
        &all_partitions(&topic, 6),
        2,
        Duration::from_secs(60),
    )
    .await;
    eprintln!(
        "join to first assignment, 3 members started together: {:?}",
        started.elapsed()
    );
    for driven in members {
        driven.stop().await.close().await.expect("close");
    }
}

#[tokio::test]
async fn group_member_leaving_hands_its_partitions_over() {
    init_tracing();
    let kafka = TestKafka::start().await;
    let topic = new_topic(&kafka, "group-leave", 4).await;
    let group = unique_name("g-leave");
    let stays = DrivenMember::start(member(&kafka, fast_config(&group), &topic));
    let leaves = DrivenMember::start(member(&kafka, fast_config(&group), &topic));
    let expected = all_partitions(&topic, 4);
    wait_for_split(&[&stays, &leaves], &expected, 2, Duration::from_secs(60)).await;

    let started = Instant::now();
    leaves
        .stop()
        .await
        .close()
        .await
        .expect("close sends LeaveGroup");
    eventually(
        "the remaining member to own every partition",
        Duration::from_secs(30),
        || async { stays.current() == expected },
    )
    .await;
    // LeaveGroup makes the handover immediate, not a session timeout (6 s) later.
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "handover took {:?}",
        started.elapsed()
    );
    stays.stop().await.close().await.expect("close");
}

#[tokio::test]
async fn group_session_timeout_evicts_a_silent_member() {
    init_tracing();
    let kafka = TestKafka::start().await;
    let topic = new_topic(&kafka, "group-silent", 4).await;
    let group = unique_name("g-silent");
    let stays = DrivenMember::start(member(&kafka, fast_config(&group), &topic));
    let silent = DrivenMember::start(member(&kafka, fast_config(&group), &topic));
    let expected = all_partitions(&topic, 4);
    wait_for_split(&[&stays, &silent], &expected, 2, Duration::from_secs(60)).await;

    // Dropping without close: heartbeats stop, no LeaveGroup — the coordinator must notice.
    let started = Instant::now();
    drop(silent.stop().await);
    eventually(
        "the silent member to be evicted",
        Duration::from_secs(40),
        || async { stays.current() == expected },
    )
    .await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(4),
        "evicted after {took:?}, before the session timeout"
    );
    eprintln!("silent member evicted after {took:?} (session.timeout.ms 6 s)");
    stays.stop().await.close().await.expect("close");
}

#[tokio::test]
async fn group_partitions_added_to_a_topic_are_assigned_after_a_metadata_refresh() {
    use kafka_listener::client::BrokerConnection;
    use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
    use kafka_protocol::messages::{CreatePartitionsRequest, TopicName};
    use kafka_protocol::protocol::StrBytes;

    init_tracing();
    let kafka = TestKafka::start().await;
    let topic = new_topic(&kafka, "group-grow", 2).await;
    let config = fast_config(&unique_name("g-grow")).metadata_max_age(Duration::from_millis(500));
    let driven = DrivenMember::start(member(&kafka, config, &topic));
    eventually(
        "the member to own both partitions",
        Duration::from_secs(30),
        || async { driven.current() == all_partitions(&topic, 2) },
    )
    .await;

    let admin = BrokerConnection::connect(
        &kafka.connection().bootstrap_servers()[0],
        kafka.connection(),
    )
    .await
    .expect("connect");
    let response = admin
        .send(
            CreatePartitionsRequest::default()
                .with_topics(vec![CreatePartitionsTopic::default()
                    .with_name(TopicName(StrBytes::from_string(topic.clone())))
                    .with_count(4)
                    .with_assignments(None)])
                .with_timeout_ms(10_000),
        )
        .await
        .expect("create partitions");
    assert_eq!(response.results[0].error_code, 0, "{response:?}");

    // Java's leader rebalances when a subscribed topic grows; so must we, or the new
    // partitions are never consumed.
    eventually(
        "the new partitions to be assigned",
        Duration::from_secs(30),
        || async { driven.current() == all_partitions(&topic, 4) },
    )
    .await;
    driven.stop().await.close().await.expect("close");
}

#[tokio::test]
async fn group_topic_created_after_the_member_joined_is_assigned_without_waiting_for_metadata_max_age(
) {
    init_tracing();
    let kafka = TestKafka::start().await;
    let topic = unique_name("group-late-topic");
    // metadata.max.age keeps its 5-minute default: only looking again soon for the missing
    // topic finds it within the deadline. This is the race of a topic created at start-up
    // that the broker answering the leader's metadata request did not know yet.
    let driven = DrivenMember::start(member(
        &kafka,
        fast_config(&unique_name("g-late-topic")),
        &topic,
    ));
    eventually(
        "the member to join while its topic does not exist",
        Duration::from_secs(30),
        || async { driven.generation.borrow().is_some() },
    )
    .await;
    assert!(driven.current().is_empty());

    kafka.create_topic(&topic, 3).await;
    let created = Instant::now();
    eventually(
        "the new topic's partitions to be assigned",
        Duration::from_secs(30),
        || async { driven.current() == all_partitions(&topic, 3) },
    )
    .await;
    eprintln!(
        "topic ready to partitions assigned: {:?}",
        created.elapsed()
    );
    driven.stop().await.close().await.expect("close");
}

#[tokio::test]
async fn group_member_that_unsubscribes_leaves_and_can_subscribe_again() {
    init_tracing();
    let kafka = TestKafka::start().await;
    let topic = new_topic(&kafka, "group-unsub", 4).await;
    let group = unique_name("g-unsub");
    let stays = DrivenMember::start(member(&kafka, fast_config(&group), &topic));
    let mut toggles = member(&kafka, fast_config(&group), &topic);
    let expected = all_partitions(&topic, 4);
    wait_for_split_with(&mut toggles, &stays, Duration::from_secs(30)).await;

    let change = toggles.unsubscribe().await.expect("unsubscribe");
    assert_eq!(change.revoked.len(), 2);
    assert!(toggles.assignment().is_empty());
    assert_eq!(toggles.generation(), None);
    // Not subscribed: polling does not join.
    assert_eq!(toggles.poll().await.expect("poll"), None);
    eventually(
        "the other member to own everything",
        Duration::from_secs(30),
        || async { stays.current() == expected },
    )
    .await;

    toggles.subscribe([topic.as_str()]);
    wait_for_split_with(&mut toggles, &stays, Duration::from_secs(30)).await;
    toggles.close().await.expect("close");
    stays.stop().await.close().await.expect("close");
}

/// Polls `member` until it and `other` hold two partitions each.
async fn wait_for_split_with(
    member: &mut kafka_listener::group::GroupMember,
    other: &DrivenMember,
    timeout: Duration,
) {
    let deadline = Instant::now() + timeout;
    while !(member.assignment().len() == 2 && other.current().len() == 2) {
        assert!(Instant::now() < deadline, "no split within {timeout:?}");
        member
            .poll_timeout(Duration::from_millis(50))
            .await
            .expect("poll");
    }
}
