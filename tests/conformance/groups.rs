//! The classic group protocol: join, sync, heartbeat, leave, commits, group admin.

#[allow(unused_imports)]
use super::*;

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
    // An unknown group is described by its own coordinator (another broker on a cluster).
    let never = unique_name("g-never");
    let never_conn = coordinator(&kafka, &never).await;
    let unknown = describe(&never_conn, &never).await;
    assert_eq!(
        (unknown.error_code, unknown.group_state.as_str()),
        (NONE, "Dead")
    );
    let v6 = never_conn
        .send_version(
            DescribeGroupsRequest::default().with_groups(vec![GroupId(s(&never))]),
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

#[tokio::test]
async fn conformance_requests_for_a_group_that_does_not_exist() {
    let kafka = TestKafka::start().await;
    let group = unique_name("g-ghost");
    let conn = coordinator(&kafka, &group).await;
    assert_eq!(
        heartbeat(&conn, &group, 1, "ghost").await,
        UNKNOWN_MEMBER_ID
    );
    let left = leave(&conn, &group, &["ghost"]).await;
    let codes: (i16, Vec<i16>) = (
        left.error_code,
        left.members.iter().map(|m| m.error_code).collect(),
    );
    // Kafka 4.x answers per member, not for the request.
    assert_eq!(codes, (NONE, vec![UNKNOWN_MEMBER_ID]));
    assert_eq!(
        sync(&conn, &group, 1, "ghost", &[]).await.error_code,
        UNKNOWN_MEMBER_ID
    );
    let rejoin = join_raw(
        &conn,
        join_request(&group, "ghost", &["range"], 10_000, 10_000),
    )
    .await;
    assert_eq!(rejoin.error_code, UNKNOWN_MEMBER_ID);
    assert_eq!(
        committed(&conn, &group, "no-such-topic", &[0]).await,
        [(0, -1)]
    );
}

#[tokio::test]
async fn conformance_join_before_v4_assigns_a_member_id_at_once() {
    let kafka = TestKafka::start().await;
    let group = unique_name("g-v3");
    let conn = coordinator(&kafka, &group).await;
    let request = join_request(&group, "", &["range"], 10_000, 10_000);
    let r = poll_until("a coordinator that accepts JoinGroup v3", || async {
        let r = conn
            .send_version(request.clone(), 3, Duration::from_secs(60))
            .await
            .unwrap();
        (![14, 15, 16].contains(&r.error_code)).then_some(r)
    })
    .await;
    assert_eq!((r.error_code, r.generation_id), (NONE, 1));
    assert!(!r.member_id.is_empty());
    assert_eq!(r.leader, r.member_id);
}

#[tokio::test]
async fn conformance_heartbeat_and_commits_while_completing_a_rebalance() {
    let kafka = TestKafka::start().await;
    let group = unique_name("g-completing");
    let t = topic(&kafka, "completing", 1).await;
    let conn = coordinator(&kafka, &group).await;
    let j = join_new(&conn, &group, &["range"], 10_000, 10_000).await;
    let me = j.member_id.to_string();
    // Joined, not yet synced: heartbeats are fine, member commits wait for the assignment.
    assert_eq!(heartbeat(&conn, &group, 1, &me).await, NONE);
    assert_eq!(
        describe(&conn, &group).await.group_state.as_str(),
        "CompletingRebalance"
    );
    // A commit without membership to a group with members is refused.
    assert_eq!(
        commit(&conn, &group, -1, "", &t, &[(0, 1)]).await,
        [UNKNOWN_MEMBER_ID]
    );
}
