//! The coordinator's timers on a paused tokio clock: session expiry, rebalance timeout and the
//! initial rebalance delay happen exactly when Kafka's would, with no real waiting.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::{GroupId, JoinGroupRequest, JoinGroupResponse, SyncGroupRequest};
use kafka_protocol::protocol::StrBytes;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::embedded::coordinator::{ClientInfo, Coordinator, CoordinatorConfig};
use crate::embedded::group::GroupState;

fn coordinator(initial_delay_ms: i32) -> Arc<Coordinator> {
    Coordinator::new(
        CoordinatorConfig {
            min_session_timeout_ms: 10,
            max_session_timeout_ms: 600_000,
            initial_rebalance_delay_ms: initial_delay_ms,
        },
        TaskTracker::new(),
        CancellationToken::new(),
    )
}

fn request(member_id: &str, session_ms: i32, rebalance_ms: i32) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("g")))
        .with_member_id(StrBytes::from_string(member_id.to_owned()))
        .with_session_timeout_ms(session_ms)
        .with_rebalance_timeout_ms(rebalance_ms)
        .with_protocol_type(StrBytes::from_static_str("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(StrBytes::from_static_str("range"))
            .with_metadata(Bytes::new())])
}

fn client() -> ClientInfo {
    ClientInfo {
        client_id: "c".into(),
        client_host: "/127.0.0.1".into(),
    }
}

/// Joins as a new member (v9: MEMBER_ID_REQUIRED first), in the background.
fn spawn_join(
    c: &Arc<Coordinator>,
    session_ms: i32,
    rebalance_ms: i32,
) -> tokio::task::JoinHandle<JoinGroupResponse> {
    let c = Arc::clone(c);
    tokio::spawn(async move {
        let first = c
            .join(request("", session_ms, rebalance_ms), 9, client())
            .await;
        assert_eq!(first.error_code, 79);
        c.join(
            request(first.member_id.as_str(), session_ms, rebalance_ms),
            9,
            client(),
        )
        .await
    })
}

/// The lone leader syncs, so the group is Stable (an unsynced member would be removed when the
/// rebalance timeout passes, as in Kafka).
async fn sync_alone(c: &Arc<Coordinator>, member_id: &str) {
    let request = SyncGroupRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("g")))
        .with_generation_id(1)
        .with_member_id(StrBytes::from_string(member_id.to_owned()));
    assert_eq!(c.sync(request).await.error_code, 0);
    assert_eq!(state(c).0, GroupState::Stable);
}

fn state(c: &Coordinator) -> (GroupState, usize, i32) {
    c.with_groups(|g| {
        let g = &g["g"];
        (g.state, g.members.len(), g.generation_id)
    })
}

#[tokio::test(start_paused = true)]
async fn a_silent_member_expires_exactly_after_its_session_timeout() {
    let c = coordinator(0);
    let joined = spawn_join(&c, 10_000, 5_000).await.unwrap();
    let me = joined.member_id.to_string();
    sync_alone(&c, &me).await;
    assert_eq!(c.heartbeat("g", &me, None, 1), 0);
    tokio::time::sleep(Duration::from_millis(9_900)).await;
    assert_eq!(state(&c).1, 1, "still a member just before the timeout");
    tokio::time::sleep(Duration::from_millis(200)).await;
    tokio::task::yield_now().await;
    assert_eq!(state(&c), (GroupState::Empty, 0, 2));
}

#[tokio::test(start_paused = true)]
async fn heartbeats_keep_a_member_alive() {
    let c = coordinator(0);
    let joined = spawn_join(&c, 10_000, 5_000).await.unwrap();
    let me = joined.member_id.to_string();
    sync_alone(&c, &me).await;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(c.heartbeat("g", &me, None, 1), 0);
    }
    assert_eq!(state(&c).1, 1);
}

#[tokio::test(start_paused = true)]
async fn a_member_that_does_not_rejoin_is_removed_when_the_rebalance_times_out() {
    let c = coordinator(0);
    let first = spawn_join(&c, 60_000, 8_000).await.unwrap();
    sync_alone(&c, first.member_id.as_str()).await;
    let second = spawn_join(&c, 60_000, 8_000);
    tokio::time::sleep(Duration::from_millis(7_900)).await;
    assert!(
        !second.is_finished(),
        "the join waits for the first member up to the rebalance timeout"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = second.await.unwrap();
    assert_eq!(
        (
            second.error_code,
            second.generation_id,
            second.members.len()
        ),
        (0, 2, 1)
    );
    assert_eq!(c.heartbeat("g", first.member_id.as_str(), None, 1), 25);
}

#[tokio::test(start_paused = true)]
async fn a_member_that_never_syncs_is_removed_after_the_rebalance_timeout() {
    let c = coordinator(0);
    let joined = spawn_join(&c, 60_000, 5_000).await.unwrap();
    assert_eq!(state(&c), (GroupState::CompletingRebalance, 1, 1));
    tokio::time::sleep(Duration::from_millis(5_100)).await;
    assert_eq!(c.heartbeat("g", joined.member_id.as_str(), None, 1), 25);
    assert_eq!(state(&c).1, 0);
}

#[tokio::test(start_paused = true)]
async fn the_initial_rebalance_delay_waits_for_more_members() {
    let c = coordinator(3_000);
    let first = spawn_join(&c, 60_000, 30_000);
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let second = spawn_join(&c, 60_000, 30_000);
    // The second arrival extends the delay by another 3 s from the first timer's expiry.
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    assert!(!first.is_finished());
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let (first, second) = (first.await.unwrap(), second.await.unwrap());
    assert_eq!((first.generation_id, second.generation_id), (1, 1));
    assert_eq!(
        first.members.len() + second.members.len(),
        2,
        "the leader sees both"
    );
}
