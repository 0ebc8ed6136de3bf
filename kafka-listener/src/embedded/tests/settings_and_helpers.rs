//! Builder settings (auto-create, default partitions, session bounds) and the test helpers.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    GroupId, JoinGroupRequest, MetadataRequest, OffsetCommitRequest, SyncGroupRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::client::{BrokerConnection, ConnectionConfig};
use crate::embedded::EmbeddedKafka;

const WAIT: Duration = Duration::from_secs(5);

async fn connect(kafka: &EmbeddedKafka) -> BrokerConnection {
    let config = ConnectionConfig::new([kafka.bootstrap()]).request_timeout(WAIT);
    BrokerConnection::connect(&kafka.bootstrap(), &config)
        .await
        .expect("connect")
}

fn metadata_for(topic: &str) -> MetadataRequest {
    MetadataRequest::default()
        .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(
            TopicName(StrBytes::from_string(topic.to_owned())),
        ))]))
        .with_allow_auto_topic_creation(true)
}

#[tokio::test]
async fn with_auto_create_off_metadata_never_creates_topics() {
    let kafka = EmbeddedKafka::builder()
        .auto_create_topics(false)
        .start()
        .await;
    let conn = connect(&kafka).await;
    for _ in 0..2 {
        let md = conn.send(metadata_for("nope")).await.unwrap();
        assert_eq!(md.topics[0].error_code, 3);
    }
    assert_eq!(kafka.high_watermark("nope", 0), None);
}

#[tokio::test]
async fn auto_created_topics_get_the_default_partition_count() {
    let kafka = EmbeddedKafka::builder().default_partitions(4).start().await;
    let conn = connect(&kafka).await;
    assert_eq!(
        conn.send(metadata_for("auto")).await.unwrap().topics[0].error_code,
        3
    );
    let md = conn.send(metadata_for("auto")).await.unwrap();
    assert_eq!(
        (md.topics[0].error_code, md.topics[0].partitions.len()),
        (0, 4)
    );
}

#[tokio::test]
async fn session_timeout_bounds_are_enforced() {
    let kafka = EmbeddedKafka::builder()
        .session_timeout_bounds(Duration::from_millis(500), Duration::from_secs(2))
        .start()
        .await;
    let conn = connect(&kafka).await;
    let join = |session_ms: i32| {
        JoinGroupRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str("g")))
            .with_session_timeout_ms(session_ms)
            .with_rebalance_timeout_ms(1_000)
            .with_protocol_type(StrBytes::from_static_str("consumer"))
            .with_protocols(vec![JoinGroupRequestProtocol::default()
                .with_name(StrBytes::from_static_str("range"))
                .with_metadata(Bytes::new())])
    };
    assert_eq!(conn.send(join(3_000)).await.unwrap().error_code, 26);
    assert_eq!(conn.send(join(100)).await.unwrap().error_code, 26);
    assert_eq!(conn.send(join(1_000)).await.unwrap().error_code, 79);
}

#[tokio::test]
async fn helpers_produce_consume_and_report_groups() {
    let kafka = EmbeddedKafka::start().await;
    kafka.create_topic("orders", 2).await;
    assert_eq!(
        kafka
            .produce("orders", 1, [(Some("k1"), Some("v1")), (None, Some("v2"))])
            .await,
        0
    );
    assert_eq!(
        kafka
            .produce("orders", 1, [(Some("k3"), None::<&str>)])
            .await,
        2
    );
    let records = kafka.consume_all("orders").await;
    let summary: Vec<(i32, i64, Option<Bytes>)> = records
        .iter()
        .map(|r| (r.partition, r.offset, r.value.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            (1, 0, Some(Bytes::from_static(b"v1"))),
            (1, 1, Some(Bytes::from_static(b"v2"))),
            (1, 2, None)
        ]
    );
    assert_eq!(kafka.group_state("g"), ("Dead".to_owned(), Vec::new()));

    // A member joins and syncs through the wire; the helper sees the group become Stable.
    let conn = Arc::new(connect(&kafka).await);
    let waiter = kafka.wait_for_stable_group("g", 1, WAIT);
    let join = JoinGroupRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("g")))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_protocol_type(StrBytes::from_static_str("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(StrBytes::from_static_str("range"))
            .with_metadata(Bytes::new())]);
    let member = async {
        let first = conn.send(join.clone()).await.unwrap();
        let joined = conn
            .send(join.clone().with_member_id(first.member_id))
            .await
            .unwrap();
        let synced = conn
            .send(
                SyncGroupRequest::default()
                    .with_group_id(GroupId(StrBytes::from_static_str("g")))
                    .with_generation_id(joined.generation_id)
                    .with_member_id(joined.member_id.clone())
                    .with_protocol_type(Some(StrBytes::from_static_str("consumer")))
                    .with_protocol_name(Some(StrBytes::from_static_str("range"))),
            )
            .await
            .unwrap();
        assert_eq!(synced.error_code, 0);
        joined
    };
    let (stable, joined) = tokio::join!(waiter, member);
    stable.expect("the group to become Stable with one member");
    let commit = OffsetCommitRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("g")))
        .with_generation_id_or_member_epoch(joined.generation_id)
        .with_member_id(joined.member_id)
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(TopicName(StrBytes::from_static_str("orders")))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(1)
                .with_committed_offset(3)])]);
    let response = conn.send_version(commit, 9, WAIT).await.unwrap();
    assert_eq!(response.topics[0].partitions[0].error_code, 0);
    assert_eq!(
        kafka.committed_offsets("g").get(&("orders".to_owned(), 1)),
        Some(&3)
    );
    let err = kafka
        .wait_for_stable_group("g", 2, Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Stable with 2 member(s)"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn waiting_for_a_group_that_never_stabilizes_times_out_on_the_paused_clock() {
    // The wait's own reads of the groups used to count as group changes and wake it again at
    // once: the runtime never idled, so the paused clock never reached the timeout.
    let kafka = EmbeddedKafka::start().await;
    let waited = kafka
        .wait_for_stable_group("nobody", 1, Duration::from_secs(60))
        .await;
    assert!(waited.is_err());
}
