//! Unit tests of [`GroupMember`](super::GroupMember) that need no broker.

use super::*;
use std::time::Instant;

/// An address nothing listens on (bound, then released).
fn dead_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

fn unreachable_member() -> GroupMember {
    let connection =
        ConnectionConfig::new([dead_address()]).request_timeout(Duration::from_millis(500));
    let mut member = GroupMember::new(connection, GroupConfig::new("g"));
    member.subscribe(["orders"]);
    member
}

#[tokio::test]
async fn poll_without_a_reachable_broker_fails_within_the_request_timeout() {
    let mut member = unreachable_member();
    let started = Instant::now();
    let err = member.poll().await.unwrap_err();
    assert!(
        matches!(err, GroupError::CoordinatorNotFound { .. }),
        "{err}"
    );
    assert!(err.is_retriable_after_rejoin());
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(member.generation(), None);
    assert!(member.assignment().is_empty());
}

#[tokio::test]
async fn close_of_a_member_that_never_joined_returns_at_once() {
    let member = unreachable_member();
    let started = Instant::now();
    member.close().await.expect("nothing to leave");
    assert!(started.elapsed() < Duration::from_millis(200));
}

#[tokio::test]
async fn commit_before_joining_is_refused_with_a_clear_error() {
    let member = unreachable_member();
    let offsets = BTreeMap::from([(TopicPartition::new("orders", 0), OffsetAndMetadata::new(1))]);
    let err = member.commit(&offsets).await.unwrap_err();
    assert!(matches!(err, GroupError::NotInGeneration { .. }), "{err}");
    assert!(err.to_string().contains("has not joined"), "{err}");
}

#[test]
fn subscription_is_sorted_and_deduplicated_and_only_a_change_forces_a_rejoin() {
    let mut member = unreachable_member();
    member.rejoin_needed = false;
    member.subscribe(["orders"]);
    assert!(!member.rejoin_needed);
    member.subscribe(["payments", "orders", "payments"]);
    assert!(member.rejoin_needed);
    assert_eq!(member.topics, ["orders", "payments"]);
}
