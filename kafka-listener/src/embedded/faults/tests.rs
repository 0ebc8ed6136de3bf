//! The broker side of fault injection, request by request over a raw connection; the
//! `fault_injection_*` integration tests show clients recovering from each fault.

use std::time::Duration;

use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    ApiKey, FindCoordinatorRequest, GroupId, HeartbeatRequest, OffsetCommitRequest,
    OffsetCommitResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::client::{BrokerConnection, ConnectionConfig};
use crate::embedded::EmbeddedKafka;

const NOT_COORDINATOR: i16 = 16;
const REBALANCE_IN_PROGRESS: i16 = 27;

fn config(kafka: &EmbeddedKafka) -> ConnectionConfig {
    ConnectionConfig::new([kafka.bootstrap()]).request_timeout(Duration::from_secs(5))
}

async fn connect(kafka: &EmbeddedKafka, node: usize) -> BrokerConnection {
    let addr = kafka.bootstrap().split(',').nth(node).unwrap().to_owned();
    BrokerConnection::connect(&addr, &config(kafka))
        .await
        .unwrap()
}

/// A simple (memberless) commit of `offset` for partition 0 of `orders`.
async fn commit(conn: &BrokerConnection, group: &str, offset: i64) -> OffsetCommitResponse {
    let request = OffsetCommitRequest::default()
        .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
        .with_generation_id_or_member_epoch(-1)
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(TopicName(StrBytes::from_static_str("orders")))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(offset)])]);
    conn.send(request).await.unwrap()
}

fn commit_code(response: &OffsetCommitResponse) -> i16 {
    response.topics[0].partitions[0].error_code
}

#[tokio::test]
async fn failed_commits_answer_per_partition_and_do_not_land() {
    let kafka = EmbeddedKafka::start().await;
    kafka.create_topic("orders", 1).await;
    let conn = connect(&kafka, 0).await;
    kafka
        .faults()
        .fail_next(ApiKey::OffsetCommit, 2, ResponseError::NotCoordinator);
    assert_eq!(commit_code(&commit(&conn, "g", 5).await), NOT_COORDINATOR);
    assert_eq!(commit_code(&commit(&conn, "g", 6).await), NOT_COORDINATOR);
    assert!(
        kafka.committed_offsets("g").is_empty(),
        "failed commits must not land"
    );
    assert_eq!(commit_code(&commit(&conn, "g", 7).await), 0);
    assert_eq!(kafka.committed_offsets("g")[&("orders".to_owned(), 0)], 7);
    assert_eq!(kafka.faults().injected(ApiKey::OffsetCommit), 2);
}

#[tokio::test]
async fn rules_narrowed_to_a_group_leave_other_groups_alone() {
    let kafka = EmbeddedKafka::start().await;
    kafka.create_topic("orders", 1).await;
    let conn = connect(&kafka, 0).await;
    kafka
        .faults()
        .on(ApiKey::OffsetCommit)
        .group("victim")
        .fail_next(1, ResponseError::RebalanceInProgress);
    assert_eq!(commit_code(&commit(&conn, "bystander", 1).await), 0);
    assert_eq!(
        commit_code(&commit(&conn, "victim", 1).await),
        REBALANCE_IN_PROGRESS
    );
}

#[tokio::test]
async fn top_level_and_batched_find_coordinator_carry_the_code_where_clients_read_it() {
    let kafka = EmbeddedKafka::start().await;
    let conn = connect(&kafka, 0).await;
    kafka.faults().fail_next(
        ApiKey::FindCoordinator,
        2,
        ResponseError::CoordinatorNotAvailable,
    );
    let batched = conn
        .send_version(
            FindCoordinatorRequest::default()
                .with_coordinator_keys(vec![StrBytes::from_static_str("g")]),
            4,
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(batched.coordinators[0].error_code, 15);
    assert_eq!(batched.coordinators[0].node_id.0, -1);
    let single = conn
        .send_version(
            FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("g")),
            3,
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert_eq!(single.error_code, 15);
}

#[tokio::test]
async fn a_dropped_request_closes_its_connection_and_the_next_connection_is_served() {
    let kafka = EmbeddedKafka::start().await;
    kafka.create_topic("orders", 1).await;
    let conn = connect(&kafka, 0).await;
    kafka.faults().drop_next(ApiKey::OffsetCommit, 1);
    let request = OffsetCommitRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("g")))
        .with_generation_id_or_member_epoch(-1);
    assert!(conn.send(request).await.is_err());
    assert!(!conn.is_open());
    let again = connect(&kafka, 0).await;
    assert_eq!(commit_code(&commit(&again, "g", 3).await), 0);
}

#[tokio::test]
async fn drop_connections_closes_every_open_connection_once() {
    let kafka = EmbeddedKafka::start().await;
    let (a, b) = (connect(&kafka, 0).await, connect(&kafka, 0).await);
    kafka.faults().drop_connections();
    tokio::time::timeout(Duration::from_secs(5), async {
        while a.is_open() || b.is_open() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("both connections closed");
    let c = connect(&kafka, 0).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(c.is_open(), "a later connection is not dropped");
}

#[tokio::test(start_paused = true)]
async fn a_stalled_request_is_answered_only_after_release() {
    let kafka = EmbeddedKafka::start().await;
    let conn = connect(&kafka, 0).await;
    let faults = kafka.faults();
    faults.stall(ApiKey::Heartbeat);
    let heartbeat =
        HeartbeatRequest::default().with_group_id(GroupId(StrBytes::from_static_str("g")));
    let answered = tokio::spawn({
        let heartbeat = heartbeat.clone();
        async move {
            conn.send_with_timeout(heartbeat, Duration::from_secs(600))
                .await
        }
    });
    tokio::time::sleep(Duration::from_secs(300)).await;
    assert!(!answered.is_finished(), "still stalled after 5 minutes");
    assert_eq!(faults.injected(ApiKey::Heartbeat), 1);
    faults.release();
    let response = answered.await.unwrap().unwrap();
    assert_eq!(
        response.error_code, 25,
        "handled after release: UNKNOWN_MEMBER_ID"
    );
}

#[tokio::test(start_paused = true)]
async fn a_delayed_request_is_answered_after_the_delay() {
    let kafka = EmbeddedKafka::start().await;
    let conn = connect(&kafka, 0).await;
    kafka
        .faults()
        .on(ApiKey::Heartbeat)
        .delay_next(1, Duration::from_secs(40));
    let heartbeat =
        HeartbeatRequest::default().with_group_id(GroupId(StrBytes::from_static_str("g")));
    let started = tokio::time::Instant::now();
    conn.send_with_timeout(heartbeat.clone(), Duration::from_secs(60))
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_secs(40));
    let started = tokio::time::Instant::now();
    conn.send(heartbeat).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "only the next one"
    );
}

#[tokio::test]
async fn a_moved_coordinator_refuses_on_the_old_broker_and_serves_on_the_new_one() {
    let kafka = EmbeddedKafka::builder().brokers(2).start().await;
    kafka.create_topic("orders", 1).await;
    let before = kafka.coordinator_of("g");
    let after = 1 - before;
    let old = connect(&kafka, before as usize).await;
    assert_eq!(commit_code(&commit(&old, "g", 1).await), 0);
    kafka.faults().move_coordinator("g", after);
    assert_eq!(commit_code(&commit(&old, "g", 2).await), NOT_COORDINATOR);
    let found = old
        .send(
            FindCoordinatorRequest::default()
                .with_coordinator_keys(vec![StrBytes::from_static_str("g")]),
        )
        .await
        .unwrap();
    assert_eq!(found.coordinators[0].node_id.0, after);
    let new = connect(&kafka, after as usize).await;
    assert_eq!(commit_code(&commit(&new, "g", 3).await), 0);
    assert_eq!(kafka.committed_offsets("g")[&("orders".to_owned(), 0)], 3);
}

#[test]
#[should_panic(expected = "cannot fail")]
fn failing_an_api_without_an_error_layout_is_refused() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let kafka = runtime.block_on(EmbeddedKafka::start());
    kafka
        .faults()
        .fail_next(ApiKey::CreateTopics, 1, ResponseError::NotController);
}
