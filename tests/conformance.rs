//! Conformance suite: each test runs against the embedded broker by default and against real
//! Kafka when KAFKA_BOOTSTRAP_SERVERS is set, with the same assertions. What Kafka does is
//! the specification; the embedded broker must be indistinguishable here.

#[path = "conformance/wire.rs"]
mod wire;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_listener_suite::{eventually, unique_name, TestKafka};
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::*;
use wire::*;

const NONE: i16 = 0;
const OFFSET_OUT_OF_RANGE: i16 = 1;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_TOPIC_EXCEPTION: i16 = 17;
const ILLEGAL_GENERATION: i16 = 22;
const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
const UNKNOWN_MEMBER_ID: i16 = 25;
const INVALID_SESSION_TIMEOUT: i16 = 26;
const REBALANCE_IN_PROGRESS: i16 = 27;
const TOPIC_ALREADY_EXISTS: i16 = 36;
const INVALID_REQUEST: i16 = 42;
const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
const INVALID_PARTITIONS: i16 = 37;
const NON_EMPTY_GROUP: i16 = 68;
const GROUP_ID_NOT_FOUND: i16 = 69;
const MEMBER_ID_REQUIRED: i16 = 79;

async fn topic(kafka: &TestKafka, prefix: &str, partitions: i32) -> String {
    let name = unique_name(prefix);
    kafka.create_topic(&name, partitions).await;
    name
}

// ---------------------------------------------------------------- produce, fetch, offsets

#[tokio::test]
async fn conformance_api_versions_lists_every_api_clients_need() {
    let kafka = TestKafka::start().await;
    let conn = bootstrap(&kafka).await;
    let response = conn
        .send_version(
            ApiVersionsRequest::default()
                .with_client_software_name(s("kafka-listener-tests"))
                .with_client_software_version(s("0.1.0")),
            3,
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(response.error_code, NONE);
    for (api, version) in [
        (ApiKey::Produce, 9),
        (ApiKey::Fetch, 12),
        (ApiKey::ListOffsets, 7),
        (ApiKey::Metadata, 12),
        (ApiKey::OffsetCommit, 9),
        (ApiKey::OffsetFetch, 9),
        (ApiKey::FindCoordinator, 4),
        (ApiKey::JoinGroup, 9),
        (ApiKey::SyncGroup, 5),
        (ApiKey::Heartbeat, 4),
        (ApiKey::LeaveGroup, 5),
        (ApiKey::DescribeGroups, 5),
        (ApiKey::ListGroups, 4),
        (ApiKey::CreateTopics, 7),
        (ApiKey::InitProducerId, 4),
    ] {
        let entry = response
            .api_keys
            .iter()
            .find(|k| k.api_key == api as i16)
            .unwrap_or_else(|| panic!("{api:?} advertised"));
        assert!(
            entry.min_version <= version && version <= entry.max_version,
            "{api:?} v{version} in {entry:?}"
        );
    }
}

#[tokio::test]
async fn conformance_produce_assigns_consecutive_offsets_and_moves_the_high_watermark() {
    let kafka = TestKafka::start().await;
    let t = topic(&kafka, "offsets", 1).await;
    assert_eq!(
        produce(
            &kafka,
            &t,
            0,
            &[("a", "1", 1000), ("b", "2", 1000), ("c", "3", 1000)]
        )
        .await,
        0
    );
    assert_eq!(
        produce(&kafka, &t, 0, &[("d", "4", 1000), ("e", "5", 1000)]).await,
        3
    );
    assert_eq!(list_offset(&kafka, &t, 0, -1).await, (NONE, 5, -1));
    assert_eq!(list_offset(&kafka, &t, 0, -2).await, (NONE, 0, -1));
    let conn = leader(&kafka, &t, 0).await;
    let p = &fetch(&conn, fetch_request(&t, &[(0, 0)], 0, 1)).await[0];
    assert_eq!(
        (
            p.error_code,
            p.high_watermark,
            p.last_stable_offset,
            p.log_start_offset
        ),
        (NONE, 5, 5, 0)
    );
    let offsets: Vec<i64> = decode(&p.records).iter().map(|r| r.0).collect();
    assert_eq!(offsets, [0, 1, 2, 3, 4]);
}

#[tokio::test]
async fn conformance_fetch_from_the_middle_of_a_batch_returns_that_whole_batch() {
    let kafka = TestKafka::start().await;
    let t = topic(&kafka, "middle", 1).await;
    produce(&kafka, &t, 0, &[("a", "1", 1), ("b", "2", 1)]).await;
    produce(
        &kafka,
        &t,
        0,
        &[("c", "3", 1), ("d", "4", 1), ("e", "5", 1)],
    )
    .await;
    let conn = leader(&kafka, &t, 0).await;
    let p = &fetch(&conn, fetch_request(&t, &[(0, 3)], 0, 1)).await[0];
    let records = decode(&p.records);
    // Brokers return whole batches; the consumer skips offsets before its position.
    assert_eq!(records.iter().map(|r| r.0).collect::<Vec<_>>(), [2, 3, 4]);
    assert_eq!(records[1].2, "4");
}

#[tokio::test]
async fn conformance_fetch_at_the_end_waits_max_wait_then_returns_empty() {
    let kafka = TestKafka::start().await;
    let t = topic(&kafka, "wait", 1).await;
    produce(&kafka, &t, 0, &[("a", "1", 1)]).await;
    let conn = leader(&kafka, &t, 0).await;
    let started = Instant::now();
    let p = &fetch(&conn, fetch_request(&t, &[(0, 1)], 700, 1)).await[0];
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(600),
        "returned after {waited:?}, before max_wait"
    );
    assert!(waited < Duration::from_secs(5), "took {waited:?}");
    assert_eq!(p.error_code, NONE);
    assert_eq!(p.high_watermark, 1);
    assert!(decode(&p.records).is_empty());
}

#[tokio::test]
async fn conformance_waiting_fetch_returns_as_soon_as_records_arrive() {
    let kafka = TestKafka::start().await;
    let t = topic(&kafka, "wake", 1).await;
    let conn = leader(&kafka, &t, 0).await;
    let started = Instant::now();
    let waiting = tokio::spawn({
        let request = fetch_request(&t, &[(0, 0)], 15_000, 1);
        async move { fetch(&conn, request).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    produce(&kafka, &t, 0, &[("k", "arrived", 5)]).await;
    let partitions = waiting.await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "fetch slept through the append"
    );
    assert_eq!(decode(&partitions[0].records)[0].2, "arrived");
}

#[tokio::test]
async fn conformance_fetch_beyond_the_high_watermark_is_offset_out_of_range() {
    let kafka = TestKafka::start().await;
    let t = topic(&kafka, "beyond", 1).await;
    produce(&kafka, &t, 0, &[("a", "1", 1)]).await;
    let conn = leader(&kafka, &t, 0).await;
    let p = &fetch(&conn, fetch_request(&t, &[(0, 5)], 0, 1)).await[0];
    assert_eq!(p.error_code, OFFSET_OUT_OF_RANGE);
}

#[tokio::test]
async fn conformance_one_fetch_reads_several_partitions() {
    let kafka = TestKafka::start().await;
    let t = topic(&kafka, "multi", 3).await;
    for p in 0..3 {
        produce(&kafka, &t, p, &[("k", &format!("p{p}"), 1)]).await;
    }
    let conn = leader(&kafka, &t, 0).await;
    // Ask only for partitions this broker leads (all of them on one broker).
    let md = metadata(&conn, Some(&[&t]), false).await;
    let led: Vec<(i32, i64)> = md.topics[0]
        .partitions
        .iter()
        .filter(|p| p.leader_id == md.topics[0].partitions[0].leader_id)
        .map(|p| (p.partition_index, 0))
        .collect();
    let partitions = fetch(&conn, fetch_request(&t, &led, 0, 1)).await;
    assert_eq!(partitions.len(), led.len());
    for p in &partitions {
        assert_eq!(p.error_code, NONE);
        assert_eq!(decode(&p.records)[0].2, format!("p{}", p.partition_index));
    }
}

#[tokio::test]
async fn conformance_list_offsets_by_timestamp_finds_the_first_later_record() {
    let kafka = TestKafka::start().await;
    let t = topic(&kafka, "bytime", 1).await;
    produce(&kafka, &t, 0, &[("a", "1", 1_000)]).await;
    produce(&kafka, &t, 0, &[("b", "2", 2_000)]).await;
    produce(&kafka, &t, 0, &[("c", "3", 3_000)]).await;
    assert_eq!(list_offset(&kafka, &t, 0, 1_500).await, (NONE, 1, 2_000));
    assert_eq!(list_offset(&kafka, &t, 0, 2_000).await, (NONE, 1, 2_000));
    assert_eq!(list_offset(&kafka, &t, 0, 0).await, (NONE, 0, 1_000));
    assert_eq!(list_offset(&kafka, &t, 0, 9_000).await, (NONE, -1, -1));
    // -3: the record with the largest timestamp.
    assert_eq!(list_offset(&kafka, &t, 0, -3).await, (NONE, 2, 3_000));
}

#[tokio::test]
async fn conformance_list_offsets_by_timestamp_looks_inside_a_batch() {
    let kafka = TestKafka::start().await;
    let t = topic(&kafka, "bytime-batch", 1).await;
    produce(
        &kafka,
        &t,
        0,
        &[("a", "1", 1_000), ("b", "2", 3_000), ("c", "3", 2_000)],
    )
    .await;
    assert_eq!(list_offset(&kafka, &t, 0, 1_500).await, (NONE, 1, 3_000));
    assert_eq!(list_offset(&kafka, &t, 0, 500).await, (NONE, 0, 1_000));
    assert_eq!(list_offset(&kafka, &t, 0, -3).await, (NONE, 1, 3_000));
}

#[tokio::test]
async fn conformance_compressed_batches_round_trip() {
    use rskafka::client::partition::{Compression, UnknownTopicHandling};
    use rskafka::record::Record;
    let kafka = TestKafka::start().await;
    let t = topic(&kafka, "compressed", 1).await;
    let client = kafka.connection().rskafka_client().await.unwrap();
    let partition = client
        .partition_client(&t, 0, UnknownTopicHandling::Retry)
        .await
        .unwrap();
    let codecs = [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ];
    for (i, codec) in codecs.into_iter().enumerate() {
        let records = (0..3)
            .map(|j| Record {
                key: Some(format!("k{i}-{j}").into_bytes()),
                value: Some(vec![b'x'; 200]),
                headers: Default::default(),
                timestamp: rskafka::chrono::DateTime::from_timestamp_millis(1_700_000_000_000)
                    .unwrap(),
            })
            .collect();
        let offsets = partition.produce(records, codec).await.unwrap();
        assert_eq!(offsets, [i as i64 * 3, i as i64 * 3 + 1, i as i64 * 3 + 2]);
    }
    let (records, high_watermark) = partition
        .fetch_records(0, 1..1_000_000, 1_000)
        .await
        .unwrap();
    assert_eq!(high_watermark, 12);
    let keys: Vec<String> = records
        .iter()
        .map(|r| String::from_utf8(r.record.key.clone().unwrap()).unwrap())
        .collect();
    assert_eq!(keys.len(), 12);
    assert_eq!(keys[4], "k1-1");
    assert_eq!(records[11].offset, 11);
}

#[tokio::test]
async fn conformance_produce_to_a_missing_topic_or_partition_is_unknown_topic_or_partition() {
    let kafka = TestKafka::start().await;
    let t = topic(&kafka, "known", 1).await;
    let conn = leader(&kafka, &t, 0).await;
    let missing = produce_raw(
        &conn,
        &unique_name("never-created"),
        0,
        batch(&[("k", "v", 1)]),
    )
    .await;
    assert_eq!(missing.error_code, UNKNOWN_TOPIC_OR_PARTITION);
    let bad_partition = produce_raw(&conn, &t, 7, batch(&[("k", "v", 1)])).await;
    assert_eq!(bad_partition.error_code, UNKNOWN_TOPIC_OR_PARTITION);
}

// ------------------------------------------------------------------------------ topics

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

// ------------------------------------------------------------------------------ groups

#[tokio::test]
async fn conformance_a_first_join_without_member_id_gets_member_id_required() {
    let kafka = TestKafka::start().await;
    let group = unique_name("g-required");
    let conn = coordinator(&kafka, &group).await;
    let r = join_raw(&conn, join_request(&group, "", &["range"], 10_000, 10_000)).await;
    assert_eq!(r.error_code, MEMBER_ID_REQUIRED);
    assert!(!r.member_id.is_empty());
    assert_eq!(r.generation_id, -1);
}

#[tokio::test]
async fn conformance_a_lone_member_joins_syncs_and_is_stable() {
    let kafka = TestKafka::start().await;
    let group = unique_name("g-alone");
    let conn = coordinator(&kafka, &group).await;
    let joined = join_new(&conn, &group, &["range", "roundrobin"], 10_000, 10_000).await;
    assert_eq!(joined.error_code, NONE);
    assert_eq!(joined.generation_id, 1);
    assert_eq!(joined.leader, joined.member_id);
    assert_eq!(
        joined.protocol_name.as_ref().map(|p| p.as_str()),
        Some("range")
    );
    assert_eq!(joined.members.len(), 1);
    assert_eq!(joined.members[0].metadata.as_ref(), b"meta-range");
    let me = joined.member_id.to_string();
    let synced = sync(&conn, &group, 1, &me, &[(&me, "my-assignment")]).await;
    assert_eq!(synced.error_code, NONE);
    assert_eq!(synced.assignment.as_ref(), b"my-assignment");
    assert_eq!(heartbeat(&conn, &group, 1, &me).await, NONE);
    let d = describe(&conn, &group).await;
    assert_eq!(
        (
            d.group_state.as_str(),
            d.protocol_type.as_str(),
            d.protocol_data.as_str()
        ),
        ("Stable", "consumer", "range")
    );
    assert_eq!(d.members[0].member_assignment.as_ref(), b"my-assignment");
}

#[tokio::test]
async fn conformance_joining_without_a_common_protocol_is_inconsistent_group_protocol() {
    let kafka = TestKafka::start().await;
    let group = unique_name("g-inconsistent");
    let conn = coordinator(&kafka, &group).await;
    let first = join_new(&conn, &group, &["range"], 10_000, 10_000).await;
    assert_eq!(first.error_code, NONE);
    let other = coordinator(&kafka, &group).await;
    let r = join_raw(
        &other,
        join_request(&group, "", &["sticky"], 10_000, 10_000),
    )
    .await;
    assert_eq!(r.error_code, INCONSISTENT_GROUP_PROTOCOL);
}

#[tokio::test]
async fn conformance_a_session_timeout_below_the_minimum_is_invalid_session_timeout() {
    let kafka = TestKafka::start().await;
    let group = unique_name("g-session");
    let conn = coordinator(&kafka, &group).await;
    let r = join_raw(&conn, join_request(&group, "", &["range"], 10, 10_000)).await;
    assert_eq!(r.error_code, INVALID_SESSION_TIMEOUT);
}

/// Two members in a stable group of generation 2: (connection, member id) each, leader first.
async fn two_member_group(
    kafka: &TestKafka,
    group: &str,
) -> [(Arc<kafka_listener::client::BrokerConnection>, String); 2] {
    let c1 = coordinator(kafka, group).await;
    let j1 = join_new(&c1, group, &["range"], 10_000, 20_000).await;
    let m1 = j1.member_id.to_string();
    assert_eq!(
        sync(&c1, group, j1.generation_id, &m1, &[(&m1, "a1")])
            .await
            .error_code,
        NONE
    );
    let c2 = coordinator(kafka, group).await;
    let second = tokio::spawn({
        let (c2, group) = (Arc::clone(&c2), group.to_owned());
        async move { join_new(&c2, &group, &["range"], 10_000, 20_000).await }
    });
    // The first member learns of the rebalance from its heartbeat, then rejoins.
    eventually("heartbeat to report the rebalance", TIMEOUT, || async {
        heartbeat(&c1, group, 1, &m1).await == REBALANCE_IN_PROGRESS
    })
    .await;
    let rejoined = join_raw(&c1, join_request(group, &m1, &["range"], 10_000, 20_000)).await;
    let j2 = second.await.unwrap();
    assert_eq!((rejoined.error_code, j2.error_code), (NONE, NONE));
    assert_eq!((rejoined.generation_id, j2.generation_id), (2, 2));
    assert_eq!(rejoined.leader.as_str(), m1);
    assert_eq!(j2.leader.as_str(), m1);
    assert_eq!(rejoined.members.len(), 2, "the leader sees every member");
    assert!(j2.members.is_empty(), "followers see no members");
    let m2 = j2.member_id.to_string();
    let follower_sync = tokio::spawn({
        let (c2, group, m2) = (Arc::clone(&c2), group.to_owned(), m2.clone());
        async move { sync(&c2, &group, 2, &m2, &[]).await }
    });
    let leader_sync = sync(&c1, group, 2, &m1, &[(&m1, "a1"), (&m2, "a2")]).await;
    assert_eq!(leader_sync.assignment.as_ref(), b"a1");
    assert_eq!(follower_sync.await.unwrap().assignment.as_ref(), b"a2");
    [(c1, m1), (c2, m2)]
}

#[tokio::test]
async fn conformance_a_second_member_triggers_a_rebalance_to_the_next_generation() {
    let kafka = TestKafka::start().await;
    let group = unique_name("g-rebalance");
    let [(c1, m1), (_c2, m2)] = two_member_group(&kafka, &group).await;
    assert_eq!(heartbeat(&c1, &group, 2, &m1).await, NONE);
    let d = describe(&c1, &group).await;
    assert_eq!(d.group_state.as_str(), "Stable");
    let mut ids: Vec<String> = d.members.iter().map(|m| m.member_id.to_string()).collect();
    ids.sort();
    let mut expected = vec![m1, m2];
    expected.sort();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn conformance_a_leaving_member_triggers_a_rebalance_for_the_rest() {
    let kafka = TestKafka::start().await;
    let group = unique_name("g-leave");
    let [(c1, m1), (c2, m2)] = two_member_group(&kafka, &group).await;
    let left = leave(&c2, &group, &[&m2]).await;
    assert_eq!((left.error_code, left.members[0].error_code), (NONE, NONE));
    assert_eq!(heartbeat(&c1, &group, 2, &m1).await, REBALANCE_IN_PROGRESS);
    let rejoined = join_raw(&c1, join_request(&group, &m1, &["range"], 10_000, 20_000)).await;
    assert_eq!(
        (
            rejoined.error_code,
            rejoined.generation_id,
            rejoined.members.len()
        ),
        (NONE, 3, 1)
    );
}

#[tokio::test]
async fn conformance_heartbeats_with_stale_generation_or_unknown_member_fail() {
    let kafka = TestKafka::start().await;
    let group = unique_name("g-heartbeat");
    let [(c1, m1), _] = two_member_group(&kafka, &group).await;
    assert_eq!(heartbeat(&c1, &group, 1, &m1).await, ILLEGAL_GENERATION);
    assert_eq!(
        heartbeat(&c1, &group, 2, "stranger").await,
        UNKNOWN_MEMBER_ID
    );
    let no_protocol = c1
        .send_version(
            SyncGroupRequest::default()
                .with_group_id(GroupId(s(&group)))
                .with_generation_id(2)
                .with_member_id(s(&m1)),
            5,
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(
        no_protocol.error_code, INCONSISTENT_GROUP_PROTOCOL,
        "v5 needs protocol type and name"
    );
    let sync_stale = sync(&c1, &group, 1, &m1, &[]).await;
    assert_eq!(sync_stale.error_code, ILLEGAL_GENERATION);
}

#[tokio::test]
async fn conformance_commit_with_a_stale_generation_is_illegal_generation() {
    let kafka = TestKafka::start().await;
    let group = unique_name("g-stale");
    let t = topic(&kafka, "stale", 1).await;
    let [(c1, m1), _] = two_member_group(&kafka, &group).await;
    assert_eq!(
        commit(&c1, &group, 1, &m1, &t, &[(0, 5)]).await,
        [ILLEGAL_GENERATION]
    );
    assert_eq!(
        commit(&c1, &group, 2, "stranger", &t, &[(0, 5)]).await,
        [UNKNOWN_MEMBER_ID]
    );
    assert_eq!(commit(&c1, &group, 2, &m1, &t, &[(0, 5)]).await, [NONE]);
    assert_eq!(committed(&c1, &group, &t, &[0]).await, [(0, 5)]);
}

#[tokio::test]
async fn conformance_commits_during_a_rebalance_follow_kafkas_rules() {
    let kafka = TestKafka::start().await;
    let group = unique_name("g-commit-rebalance");
    let t = topic(&kafka, "rebalancing", 1).await;
    let c1 = coordinator(&kafka, &group).await;
    let j1 = join_new(&c1, &group, &["range"], 10_000, 20_000).await;
    let m1 = j1.member_id.to_string();
    // Joined but not synced: CompletingRebalance refuses commits.
    assert_eq!(
        commit(&c1, &group, 1, &m1, &t, &[(0, 1)]).await,
        [REBALANCE_IN_PROGRESS]
    );
    assert_eq!(
        sync(&c1, &group, 1, &m1, &[(&m1, "a")]).await.error_code,
        NONE
    );
    // A new member puts the group in PreparingRebalance: the current generation may still commit.
    let c2 = coordinator(&kafka, &group).await;
    let _second = tokio::spawn({
        let (c2, group) = (Arc::clone(&c2), group.clone());
        async move { join_new(&c2, &group, &["range"], 10_000, 20_000).await }
    });
    eventually("the rebalance to start", TIMEOUT, || async {
        heartbeat(&c1, &group, 1, &m1).await == REBALANCE_IN_PROGRESS
    })
    .await;
    assert_eq!(commit(&c1, &group, 1, &m1, &t, &[(0, 2)]).await, [NONE]);
    assert_eq!(committed(&c1, &group, &t, &[0]).await, [(0, 2)]);
}

#[tokio::test]
async fn conformance_simple_commits_work_without_membership_and_fetch_returns_them() {
    let kafka = TestKafka::start().await;
    let group = unique_name("g-simple");
    let t = topic(&kafka, "simple", 2).await;
    let conn = coordinator(&kafka, &group).await;
    assert_eq!(
        committed(&conn, &group, &t, &[0, 1]).await,
        [(0, -1), (1, -1)]
    );
    assert_eq!(
        commit(&conn, &group, -1, "", &t, &[(0, 42), (1, 7)]).await,
        [NONE, NONE]
    );
    assert_eq!(
        committed(&conn, &group, &t, &[0, 1]).await,
        [(0, 42), (1, 7)]
    );
    let d = describe(&conn, &group).await;
    assert_eq!((d.group_state.as_str(), d.members.len()), ("Empty", 0));
}

#[tokio::test]
async fn conformance_a_member_commit_to_an_unknown_group_is_refused() {
    let kafka = TestKafka::start().await;
    let group = unique_name("g-unknown");
    let t = topic(&kafka, "unknown-group", 1).await;
    let conn = coordinator(&kafka, &group).await;
    // OffsetCommit v9+ says GROUP_ID_NOT_FOUND (older versions ILLEGAL_GENERATION).
    let codes = commit(&conn, &group, 3, "someone", &t, &[(0, 1)]).await;
    assert_eq!(codes, [GROUP_ID_NOT_FOUND]);
    assert_eq!(
        heartbeat(&conn, &group, 1, "someone").await,
        UNKNOWN_MEMBER_ID
    );
}

#[tokio::test]
async fn conformance_committed_offsets_survive_the_members_leave() {
    let kafka = TestKafka::start().await;
    let group = unique_name("g-survive");
    let t = topic(&kafka, "survive", 1).await;
    let conn = coordinator(&kafka, &group).await;
    let j = join_new(&conn, &group, &["range"], 10_000, 10_000).await;
    let me = j.member_id.to_string();
    assert_eq!(
        sync(&conn, &group, 1, &me, &[(&me, "a")]).await.error_code,
        NONE
    );
    assert_eq!(commit(&conn, &group, 1, &me, &t, &[(0, 9)]).await, [NONE]);
    let left = leave(&conn, &group, &[&me]).await;
    assert_eq!(left.members[0].error_code, NONE);
    assert_eq!(committed(&conn, &group, &t, &[0]).await, [(0, 9)]);
    eventually("the group to be Empty", TIMEOUT, || async {
        describe(&conn, &group).await.group_state.as_str() == "Empty"
    })
    .await;
}

#[tokio::test]
async fn conformance_batch_leave_reports_each_member() {
    let kafka = TestKafka::start().await;
    let group = unique_name("g-batch-leave");
    let conn = coordinator(&kafka, &group).await;
    let j = join_new(&conn, &group, &["range"], 10_000, 10_000).await;
    let me = j.member_id.to_string();
    let r = leave(&conn, &group, &[&me, "not-a-member"]).await;
    assert_eq!(r.error_code, NONE);
    let codes: Vec<i16> = r.members.iter().map(|m| m.error_code).collect();
    assert_eq!(codes, [NONE, UNKNOWN_MEMBER_ID]);
}

#[tokio::test]
async fn conformance_list_and_describe_groups() {
    let kafka = TestKafka::start().await;
    let group = unique_name("g-list");
    let conn = coordinator(&kafka, &group).await;
    let j = join_new(&conn, &group, &["roundrobin"], 10_000, 10_000).await;
    let me = j.member_id.to_string();
    let synced = sync_with(&conn, &group, 1, &me, "roundrobin", &[(&me, "a")]).await;
    assert_eq!(synced.error_code, NONE);
    let listed = conn
        .send_version(ListGroupsRequest::default(), 4, TIMEOUT)
        .await
        .unwrap();
    let entry = listed
        .groups
        .iter()
        .find(|g| g.group_id.as_str() == group)
        .expect("group listed");
    assert_eq!(
        (entry.protocol_type.as_str(), entry.group_state.as_str()),
        ("consumer", "Stable")
    );
    let filtered = conn
        .send_version(
            ListGroupsRequest::default().with_states_filter(vec![s("Empty")]),
            4,
            TIMEOUT,
        )
        .await
        .unwrap();
    assert!(filtered.groups.iter().all(|g| g.group_id.as_str() != group));
    let d = describe(&conn, &group).await;
    assert_eq!(d.members[0].client_id.as_str(), "kafka-listener-tests");
    let unknown = describe(&conn, &unique_name("g-never")).await;
    assert_eq!(
        (unknown.error_code, unknown.group_state.as_str()),
        (NONE, "Dead")
    );
    let v6 = conn
        .send_version(
            DescribeGroupsRequest::default().with_groups(vec![GroupId(s(&unique_name("g-never")))]),
            6,
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(v6.groups[0].error_code, GROUP_ID_NOT_FOUND);
}

#[tokio::test]
async fn conformance_delete_groups_refuses_active_groups_and_removes_empty_ones() {
    let kafka = TestKafka::start().await;
    let group = unique_name("g-delete");
    let t = topic(&kafka, "delete-group", 1).await;
    let conn = coordinator(&kafka, &group).await;
    let j = join_new(&conn, &group, &["range"], 10_000, 10_000).await;
    let me = j.member_id.to_string();
    sync(&conn, &group, 1, &me, &[(&me, "a")]).await;
    commit(&conn, &group, 1, &me, &t, &[(0, 3)]).await;
    let delete = || DeleteGroupsRequest::default().with_groups_names(vec![GroupId(s(&group))]);
    assert_eq!(
        conn.send_version(delete(), 2, TIMEOUT)
            .await
            .unwrap()
            .results[0]
            .error_code,
        NON_EMPTY_GROUP
    );
    leave(&conn, &group, &[&me]).await;
    eventually("the group to be Empty", TIMEOUT, || async {
        describe(&conn, &group).await.group_state.as_str() == "Empty"
    })
    .await;
    assert_eq!(
        conn.send_version(delete(), 2, TIMEOUT)
            .await
            .unwrap()
            .results[0]
            .error_code,
        NONE
    );
    assert_eq!(committed(&conn, &group, &t, &[0]).await, [(0, -1)]);
    assert_eq!(
        conn.send_version(delete(), 2, TIMEOUT)
            .await
            .unwrap()
            .results[0]
            .error_code,
        GROUP_ID_NOT_FOUND
    );
}

#[tokio::test]
async fn conformance_find_coordinator_answers_batched_keys() {
    let kafka = TestKafka::start().await;
    let conn = bootstrap(&kafka).await;
    let keys: Vec<String> = (0..3).map(|i| unique_name(&format!("g-find{i}"))).collect();
    let r = poll_until("coordinators for every key", || async {
        let request = FindCoordinatorRequest::default()
            .with_key_type(0)
            .with_coordinator_keys(keys.iter().map(|k| s(k)).collect());
        let r = conn.send_version(request, 4, TIMEOUT).await.unwrap();
        r.coordinators
            .iter()
            .all(|c| c.error_code == NONE)
            .then_some(r)
    })
    .await;
    assert_eq!(r.coordinators.len(), 3);
    for (c, k) in r.coordinators.iter().zip(&keys) {
        assert_eq!(c.key.as_str(), k);
        assert!(c.node_id.0 >= 0 && c.port > 0);
    }
}

#[tokio::test]
async fn conformance_a_restarted_static_member_keeps_its_generation() {
    let kafka = TestKafka::start().await;
    let group = unique_name("g-static");
    let conn = coordinator(&kafka, &group).await;
    let join = |member: &str| {
        join_request(&group, member, &["range"], 10_000, 10_000)
            .with_group_instance_id(Some(s("instance-1")))
    };
    let first = join_raw(&conn, join("")).await;
    assert_eq!(
        (first.error_code, first.generation_id),
        (NONE, 1),
        "static members skip MEMBER_ID_REQUIRED"
    );
    let me = first.member_id.to_string();
    let synced = conn
        .send_version(
            SyncGroupRequest::default()
                .with_group_id(GroupId(s(&group)))
                .with_generation_id(1)
                .with_member_id(s(&me))
                .with_group_instance_id(Some(s("instance-1")))
                .with_protocol_type(Some(s("consumer")))
                .with_protocol_name(Some(s("range")))
                .with_assignments(vec![
                    sync_group_request::SyncGroupRequestAssignment::default()
                        .with_member_id(s(&me))
                        .with_assignment(bytes::Bytes::from_static(b"kept")),
                ]),
            5,
            TIMEOUT,
        )
        .await
        .unwrap();
    assert_eq!(synced.error_code, NONE);
    let again = join_raw(&conn, join("")).await;
    assert_eq!(again.error_code, NONE);
    assert_eq!(
        again.generation_id, 1,
        "no rebalance for a known static member"
    );
    assert_ne!(
        again.member_id.as_str(),
        me,
        "a new member id replaces the old one"
    );
    assert_eq!(heartbeat(&conn, &group, 1, &me).await, UNKNOWN_MEMBER_ID);
}

#[tokio::test]
async fn conformance_a_member_that_stops_heartbeating_is_removed_after_its_session_timeout() {
    let kafka = TestKafka::start().await;
    let group = unique_name("g-expire");
    let conn = coordinator(&kafka, &group).await;
    let j = join_new(&conn, &group, &["range"], 6_000, 6_000).await;
    let me = j.member_id.to_string();
    sync(&conn, &group, 1, &me, &[(&me, "a")]).await;
    let started = Instant::now();
    eventually(
        "the silent member to expire",
        Duration::from_secs(30),
        || async { describe(&conn, &group).await.group_state.as_str() == "Empty" },
    )
    .await;
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "expired after {:?}",
        started.elapsed()
    );
    assert_eq!(heartbeat(&conn, &group, 1, &me).await, UNKNOWN_MEMBER_ID);
}

#[tokio::test]
async fn conformance_a_member_that_does_not_rejoin_is_dropped_after_the_rebalance_timeout() {
    let kafka = TestKafka::start().await;
    let group = unique_name("g-rebalance-timeout");
    let c1 = coordinator(&kafka, &group).await;
    let j1 = join_new(&c1, &group, &["range"], 30_000, 1_000).await;
    let m1 = j1.member_id.to_string();
    sync(&c1, &group, 1, &m1, &[(&m1, "a")]).await;
    let c2 = coordinator(&kafka, &group).await;
    // The first member never rejoins; after the longest rebalance timeout the group moves on.
    let j2 = join_new(&c2, &group, &["range"], 30_000, 1_000).await;
    assert_eq!((j2.error_code, j2.generation_id), (NONE, 2));
    assert_eq!(j2.leader, j2.member_id);
    assert_eq!(j2.members.len(), 1);
    assert_eq!(heartbeat(&c1, &group, 1, &m1).await, UNKNOWN_MEMBER_ID);
}
