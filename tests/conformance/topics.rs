//! Topic administration and auto-creation.

#[allow(unused_imports)]
use super::*;

#[tokio::test]
async fn conformance_metadata_auto_creates_a_topic_when_allowed() {
    let kafka = TestKafka::start().await;
    let conn = bootstrap(&kafka).await;
    let t = unique_name("auto");
    let first = metadata(&conn, Some(&[&t]), true).await;
    // Kafka 4.x starts the creation and still answers "unknown" to the creating request.
    assert_eq!(
        first.topics[0].error_code, UNKNOWN_TOPIC_OR_PARTITION,
        "{:?}",
        first.topics[0]
    );
    eventually(
        "the auto-created topic to have a leader",
        TIMEOUT,
        || async {
            let md = metadata(&conn, Some(&[&t]), false).await;
            md.topics[0].error_code == NONE
                && md.topics[0].partitions.len() == 1
                && md.topics[0].partitions[0].leader_id.0 >= 0
        },
    )
    .await;
}

#[tokio::test]
async fn conformance_metadata_does_not_create_a_topic_when_the_request_forbids_it() {
    let kafka = TestKafka::start().await;
    let conn = bootstrap(&kafka).await;
    let t = unique_name("noauto");
    let md = metadata(&conn, Some(&[&t]), false).await;
    assert_eq!(md.topics[0].error_code, UNKNOWN_TOPIC_OR_PARTITION);
    let all = metadata(&conn, None, false).await;
    assert!(all
        .topics
        .iter()
        .all(|x| x.name.as_ref().map(|n| n.as_str()) != Some(t.as_str())));
}

async fn create_topics(
    conn: &kafka_listener::client::BrokerConnection,
    name: &str,
    partitions: i32,
) -> i16 {
    let request = CreateTopicsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(vec![CreatableTopic::default()
            .with_name(topic_name(name))
            .with_num_partitions(partitions)
            .with_replication_factor(1)]);
    conn.send_version(request, 7, TIMEOUT).await.unwrap().topics[0].error_code
}

#[tokio::test]
async fn conformance_create_topics_refuses_duplicates_bad_names_and_bad_counts() {
    let kafka = TestKafka::start().await;
    let conn = bootstrap(&kafka).await;
    let t = unique_name("create");
    assert_eq!(create_topics(&conn, &t, 2).await, NONE);
    assert_eq!(create_topics(&conn, &t, 2).await, TOPIC_ALREADY_EXISTS);
    assert_eq!(
        create_topics(&conn, "bad name!", 1).await,
        INVALID_TOPIC_EXCEPTION
    );
    assert_eq!(
        create_topics(&conn, &unique_name("zero"), 0).await,
        INVALID_PARTITIONS
    );
}

#[tokio::test]
async fn conformance_api_versions_v3_requires_a_valid_client_software_name() {
    let kafka = TestKafka::start().await;
    let conn = bootstrap(&kafka).await;
    let response = conn
        .send_version(
            ApiVersionsRequest::default().with_client_software_name(s("bad name!")),
            3,
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(response.error_code, INVALID_REQUEST);
}

#[tokio::test]
async fn conformance_create_partitions_grows_a_topic_but_never_shrinks_it() {
    let kafka = TestKafka::start().await;
    let t = topic(&kafka, "grow", 2).await;
    let conn = bootstrap(&kafka).await;
    let grow = |count: i32| {
        CreatePartitionsRequest::default()
            .with_timeout_ms(10_000)
            .with_topics(vec![CreatePartitionsTopic::default()
                .with_name(topic_name(&t))
                .with_count(count)
                .with_assignments(None)])
    };
    let r = conn.send_version(grow(4), 3, TIMEOUT).await.unwrap();
    assert_eq!(r.results[0].error_code, NONE);
    let r = conn.send_version(grow(3), 3, TIMEOUT).await.unwrap();
    assert_eq!(r.results[0].error_code, INVALID_PARTITIONS);
    let empty_assignment = CreatePartitionsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(vec![CreatePartitionsTopic::default()
            .with_name(topic_name(&t))
            .with_count(6)
            .with_assignments(Some(Vec::new()))]);
    let r = conn
        .send_version(empty_assignment, 3, TIMEOUT)
        .await
        .unwrap();
    assert_eq!(r.results[0].error_code, INVALID_REPLICA_ASSIGNMENT);
    eventually("4 partitions", TIMEOUT, || async {
        metadata(&conn, Some(&[&t]), false).await.topics[0]
            .partitions
            .len()
            == 4
    })
    .await;
}

#[tokio::test]
async fn conformance_deleted_topics_disappear() {
    let kafka = TestKafka::start().await;
    let t = topic(&kafka, "delete", 1).await;
    let conn = bootstrap(&kafka).await;
    let request = DeleteTopicsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(vec![
            DeleteTopicState::default().with_name(Some(topic_name(&t)))
        ]);
    let r = conn.send_version(request, 6, TIMEOUT).await.unwrap();
    assert_eq!(r.responses[0].error_code, NONE);
    eventually("the topic to be gone", TIMEOUT, || async {
        metadata(&conn, Some(&[&t]), false).await.topics[0].error_code == UNKNOWN_TOPIC_OR_PARTITION
    })
    .await;
    let again = DeleteTopicsRequest::default()
        .with_timeout_ms(10_000)
        .with_topics(vec![
            DeleteTopicState::default().with_name(Some(topic_name(&t)))
        ]);
    assert_eq!(
        conn.send_version(again, 6, TIMEOUT)
            .await
            .unwrap()
            .responses[0]
            .error_code,
        UNKNOWN_TOPIC_OR_PARTITION
    );
}

#[tokio::test]
async fn conformance_describe_configs_reports_topic_defaults_and_unknown_topics() {
    let kafka = TestKafka::start().await;
    let t = topic(&kafka, "configs", 1).await;
    let conn = bootstrap(&kafka).await;
    let request = DescribeConfigsRequest::default().with_resources(vec![
        DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(s(&t))
            .with_configuration_keys(Some(vec![s("cleanup.policy")])),
        DescribeConfigsResource::default()
            .with_resource_type(2)
            .with_resource_name(s(&unique_name("nope"))),
    ]);
    let r = conn.send_version(request, 4, TIMEOUT).await.unwrap();
    assert_eq!(r.results[0].error_code, NONE);
    assert_eq!(r.results[0].configs.len(), 1);
    assert_eq!(
        r.results[0].configs[0].value.as_ref().map(|v| v.as_str()),
        Some("delete")
    );
    assert_eq!(r.results[1].error_code, UNKNOWN_TOPIC_OR_PARTITION);
}
