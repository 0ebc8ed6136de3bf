//! Produce, fetch, watermarks, ListOffsets, compression.

#[allow(unused_imports)]
use super::*;

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

#[tokio::test]
async fn conformance_fetch_limits_still_return_the_whole_first_batch() {
    let kafka = TestKafka::start().await;
    let t = topic(&kafka, "limits", 1).await;
    let big = "x".repeat(1_000);
    produce(&kafka, &t, 0, &[("a", &big, 1), ("b", &big, 1)]).await;
    produce(&kafka, &t, 0, &[("c", &big, 1)]).await;
    let conn = leader(&kafka, &t, 0).await;
    let mut request = fetch_request(&t, &[(0, 0)], 0, 1);
    request.topics[0].partitions[0].partition_max_bytes = 100;
    let p = &fetch(&conn, request).await[0];
    let offsets: Vec<i64> = decode(&p.records).iter().map(|r| r.0).collect();
    assert_eq!(
        offsets,
        [0, 1],
        "one oversized batch, whole, and nothing after it"
    );
    let mut request = fetch_request(&t, &[(0, 0)], 0, 1);
    request.max_bytes = 100;
    let p = &fetch(&conn, request).await[0];
    assert_eq!(decode(&p.records).len(), 2);
}

#[tokio::test]
async fn conformance_produce_and_fetch_by_topic_id_at_the_newest_versions() {
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
    let kafka = TestKafka::start().await;
    let t = topic(&kafka, "by-id", 1).await;
    let conn = leader(&kafka, &t, 0).await;
    let md = metadata(&conn, Some(&[&t]), false).await;
    let id = md.topics[0].topic_id;
    // The nil UUID, which no topic has.
    let nil_id = metadata_response::MetadataResponseTopic::default().topic_id;
    assert_ne!(id, nil_id, "Metadata v12 carries topic ids");
    let produce_version = conn.version_for::<ProduceRequest>().unwrap();
    let fetch_version = conn.version_for::<FetchRequest>().unwrap();
    assert!(
        produce_version >= 13 && fetch_version >= 13,
        "v{produce_version} / v{fetch_version}"
    );
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_topic_id(id)
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(batch(&[("k", "by-id", 5)])))])]);
    // On a cluster a new partition's leader may still be loading it: Kafka answers with a
    // retriable error (NOT_LEADER_OR_FOLLOWER) and clients retry, as we do here.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let r = loop {
        let r = conn.send(request.clone()).await.unwrap();
        let code = r.responses[0].partition_responses[0].error_code;
        let retriable =
            kafka_protocol::ResponseError::try_from_code(code).is_some_and(|e| e.is_retriable());
        if !retriable || std::time::Instant::now() >= deadline {
            break r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let p = &r.responses[0].partition_responses[0];
    assert_eq!(
        (r.responses[0].topic_id, p.error_code, p.base_offset),
        (id, NONE, 0)
    );
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_bytes(1 << 20)
        .with_min_bytes(1)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic_id(id)
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(1 << 20)
                .with_current_leader_epoch(-1)
                .with_last_fetched_epoch(-1)
                .with_log_start_offset(-1)])]);
    let r = conn.send(request).await.unwrap();
    assert_eq!(r.responses[0].topic_id, id);
    let p = &r.responses[0].partitions[0];
    assert_eq!((p.error_code, p.high_watermark), (NONE, 1));
    assert_eq!(decode(&p.records)[0].2, "by-id");
    let unknown = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_bytes(1 << 20)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic_id(nil_id)
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_partition_max_bytes(1024)])]);
    let r = conn.send(unknown).await.unwrap();
    assert_eq!(r.responses[0].partitions[0].error_code, UNKNOWN_TOPIC_ID);
}
