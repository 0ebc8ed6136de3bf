//! Committed offsets and auto.offset.reset (issue #4). Runs against the embedded broker, or
//! real Kafka with KAFKA_BOOTSTRAP_SERVERS set.

use crate::group_support;

use std::collections::BTreeMap;
use std::time::Duration;

use group_support::*;
use kafka_listener::group::{AutoOffsetReset, GroupError, OffsetAndMetadata, TopicPartition};
use kafka_listener_suite::{unique_name, TestKafka};

#[tokio::test]
async fn group_committed_offsets_are_resumed_after_restart() {
    init_tracing();
    let kafka = TestKafka::start().await;
    let topic = new_topic(&kafka, "group-resume", 2).await;
    produce(&kafka, &topic, 0, 10).await;
    produce(&kafka, &topic, 1, 4).await;
    let group = unique_name("g-resume");
    let config = fast_config(&group).auto_offset_reset(AutoOffsetReset::Earliest);

    let mut first = member(&kafka, config.clone(), &topic);
    join_alone(&mut first, Duration::from_secs(30)).await;
    let p0 = TopicPartition::new(topic.clone(), 0);
    let p1 = TopicPartition::new(topic.clone(), 1);
    let start = first
        .starting_offsets(&first.assignment())
        .await
        .expect("positions");
    assert_eq!(start, BTreeMap::from([(p0.clone(), 0), (p1.clone(), 0)]));
    first
        .commit(&BTreeMap::from([
            (p0.clone(), OffsetAndMetadata::with_metadata(7, "worker-a")),
            (p1.clone(), OffsetAndMetadata::new(3)),
        ]))
        .await
        .expect("sync commit");
    // An async commit moves partition 1 further; close waits for it.
    let pending = first.commit_async(BTreeMap::from([(p1.clone(), OffsetAndMetadata::new(4))]));
    pending.await.expect("async commit");
    first.close().await.expect("close");

    let mut restarted = member(&kafka, config, &topic);
    join_alone(&mut restarted, Duration::from_secs(30)).await;
    let committed = restarted
        .committed(&restarted.assignment())
        .await
        .expect("committed");
    assert_eq!(
        committed[&p0],
        Some(OffsetAndMetadata::with_metadata(7, "worker-a"))
    );
    assert_eq!(committed[&p1], Some(OffsetAndMetadata::new(4)));
    let start = restarted
        .starting_offsets(&restarted.assignment())
        .await
        .expect("positions");
    assert_eq!(start, BTreeMap::from([(p0, 7), (p1, 4)]));
    restarted.close().await.expect("close");
}

#[tokio::test]
async fn group_auto_offset_reset_applies_only_without_a_committed_offset() {
    init_tracing();
    let kafka = TestKafka::start().await;
    let topic = new_topic(&kafka, "group-reset", 2).await;
    produce(&kafka, &topic, 0, 5).await;
    produce(&kafka, &topic, 1, 5).await;
    let p0 = TopicPartition::new(topic.clone(), 0);
    let p1 = TopicPartition::new(topic.clone(), 1);

    for (reset, expected_p1) in [(AutoOffsetReset::Earliest, 0), (AutoOffsetReset::Latest, 5)] {
        let group = unique_name("g-reset");
        let mut member = member(&kafka, fast_config(&group).auto_offset_reset(reset), &topic);
        join_alone(&mut member, Duration::from_secs(30)).await;
        // Partition 0 has a committed offset, which wins over the reset policy.
        member
            .commit(&BTreeMap::from([(p0.clone(), OffsetAndMetadata::new(2))]))
            .await
            .expect("commit");
        let start = member
            .starting_offsets(&member.assignment())
            .await
            .expect("positions");
        assert_eq!(start[&p0], 2, "{reset:?}");
        assert_eq!(start[&p1], expected_p1, "{reset:?}");
        member.close().await.expect("close");
    }

    let group = unique_name("g-reset-none");
    let mut member = member(
        &kafka,
        fast_config(&group).auto_offset_reset(AutoOffsetReset::None),
        &topic,
    );
    join_alone(&mut member, Duration::from_secs(30)).await;
    let err = member
        .starting_offsets(&member.assignment())
        .await
        .expect_err("no committed offset with reset none");
    assert!(
        matches!(err, GroupError::NoOffsetForPartition { .. }),
        "{err}"
    );
    assert!(err.to_string().contains(&format!("{topic}-0")), "{err}");
    member.close().await.expect("close");
}

#[tokio::test]
async fn group_commit_from_a_fenced_member_fails_cleanly() {
    init_tracing();
    let kafka = TestKafka::start().await;
    let topic = new_topic(&kafka, "group-fenced", 2).await;
    let group = unique_name("g-fenced");
    let mut member = member(&kafka, fast_config(&group), &topic);
    join_alone(&mut member, Duration::from_secs(30)).await;
    let stale = member.committer();
    let tp = TopicPartition::new(topic.clone(), 0);
    // Close leaves the group; a committer still holding the old identity is refused with a
    // clear error instead of committing for partitions it no longer owns.
    member.close().await.expect("close");
    let err = stale
        .commit(&BTreeMap::from([(tp, OffsetAndMetadata::new(1))]))
        .await
        .expect_err("commit after leaving");
    assert!(matches!(err, GroupError::NotInGeneration { .. }), "{err}");
}
