//! The group coordinator: Kafka's classic-group state machine (join, sync, heartbeat, leave,
//! session and rebalance timeouts) over [`Group`]. Timers run on tokio time, so tests with a
//! paused clock are deterministic.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{JoinGroupRequest, JoinGroupResponse, SyncGroupResponse};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::{oneshot, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::codes;
use super::group::{Group, GroupState, Member};
use super::topics::new_uuid;

/// Coordinator settings (Kafka's `group.*` broker configs).
#[derive(Debug, Clone)]
pub(crate) struct CoordinatorConfig {
    pub(crate) min_session_timeout_ms: i32,
    pub(crate) max_session_timeout_ms: i32,
    pub(crate) initial_rebalance_delay_ms: i32,
}

/// Who sent a request, for DescribeGroups.
#[derive(Debug, Clone)]
pub(crate) struct ClientInfo {
    pub(crate) client_id: String,
    pub(crate) client_host: String,
}

pub(crate) fn sb(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_owned())
}

fn join_error(code: i16, member_id: &str) -> JoinGroupResponse {
    JoinGroupResponse::default()
        .with_error_code(code)
        .with_generation_id(-1)
        .with_member_id(sb(member_id))
}

pub(crate) fn sync_error(code: i16) -> SyncGroupResponse {
    SyncGroupResponse::default().with_error_code(code)
}

/// What a JoinGroup call gets: an answer now, or one once the rebalance completes.
enum JoinOutcome {
    Now(JoinGroupResponse),
    Later(oneshot::Receiver<JoinGroupResponse>),
}

pub(crate) enum SyncOutcome {
    Now(SyncGroupResponse),
    Later(oneshot::Receiver<SyncGroupResponse>),
}

/// Every group of the cluster and the tasks that time them.
#[derive(Debug)]
pub(crate) struct Coordinator {
    config: CoordinatorConfig,
    groups: Mutex<HashMap<String, Group>>,
    tasks: TaskTracker,
    cancel: CancellationToken,
    /// Bumped on every group change, for test helpers that wait for a state.
    changes: watch::Sender<u64>,
}

impl Coordinator {
    pub(crate) fn new(
        config: CoordinatorConfig,
        tasks: TaskTracker,
        cancel: CancellationToken,
    ) -> Arc<Self> {
        Arc::new(Self {
            config,
            groups: Mutex::new(HashMap::new()),
            tasks,
            cancel,
            changes: watch::channel(0).0,
        })
    }

    /// Runs `f` on the group map; notifies watchers afterwards.
    pub(crate) fn with_groups<T>(&self, f: impl FnOnce(&mut HashMap<String, Group>) -> T) -> T {
        let result = f(&mut self.groups.lock().expect("groups lock"));
        self.changes.send_modify(|n| *n += 1);
        result
    }

    /// Runs `f` on the group map without notifying watchers: for readers, so a waiter that
    /// checks the groups on every change does not wake itself forever.
    pub(crate) fn read_groups<T>(&self, f: impl FnOnce(&HashMap<String, Group>) -> T) -> T {
        f(&self.groups.lock().expect("groups lock"))
    }

    /// A receiver that changes whenever any group does.
    pub(crate) fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    pub(crate) fn spawn_timer(
        self: &Arc<Self>,
        delay: Duration,
        f: impl FnOnce(&Arc<Self>) + Send + 'static,
    ) {
        let this = Arc::clone(self);
        let cancel = self.cancel.clone();
        self.tasks.spawn(async move {
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = tokio::time::sleep(delay) => f(&this),
            }
        });
    }

    /// JoinGroup (Kafka's `classicGroupJoin`).
    pub(crate) async fn join(
        self: &Arc<Self>,
        request: JoinGroupRequest,
        version: i16,
        client: ClientInfo,
    ) -> JoinGroupResponse {
        let member_id = request.member_id.to_string();
        let outcome = self.join_now(request, version, client);
        match outcome {
            JoinOutcome::Now(response) => response,
            JoinOutcome::Later(rx) => rx
                .await
                .unwrap_or_else(|_| join_error(codes::UNKNOWN_MEMBER_ID, &member_id)),
        }
    }

    fn join_now(
        self: &Arc<Self>,
        request: JoinGroupRequest,
        version: i16,
        client: ClientInfo,
    ) -> JoinOutcome {
        let group_id = request.group_id.0.to_string();
        let member_id = request.member_id.to_string();
        if group_id.is_empty() {
            return JoinOutcome::Now(join_error(codes::INVALID_GROUP_ID, &member_id));
        }
        let session = request.session_timeout_ms;
        if session < self.config.min_session_timeout_ms
            || session > self.config.max_session_timeout_ms
        {
            return JoinOutcome::Now(join_error(codes::INVALID_SESSION_TIMEOUT, &member_id));
        }
        // Version 0 has no rebalance timeout: it equals the session timeout.
        let rebalance_timeout = if version == 0 {
            session
        } else {
            request.rebalance_timeout_ms
        };
        let protocol_type = request.protocol_type.to_string();
        let protocols: Vec<(String, Bytes)> = request
            .protocols
            .iter()
            .map(|p| (p.name.to_string(), p.metadata.clone()))
            .collect();
        let instance_id = request.group_instance_id.as_ref().map(|s| s.to_string());
        self.with_groups(|groups| {
            if !member_id.is_empty() && !groups.contains_key(&group_id) {
                return JoinOutcome::Now(join_error(codes::UNKNOWN_MEMBER_ID, &member_id));
            }
            let group = groups
                .entry(group_id.clone())
                .or_insert_with(|| Group::new(&group_id));
            if !group.supports_protocols(&protocol_type, &protocols) {
                return JoinOutcome::Now(join_error(
                    codes::INCONSISTENT_GROUP_PROTOCOL,
                    &member_id,
                ));
            }
            let spec = NewMember {
                client,
                session_timeout_ms: session,
                rebalance_timeout_ms: rebalance_timeout,
                protocol_type,
                protocols,
                instance_id,
            };
            if member_id.is_empty() {
                self.join_unknown_member(group, spec, version)
            } else {
                self.join_known_member(group, &member_id, spec)
            }
        })
    }

    fn join_unknown_member(
        self: &Arc<Self>,
        group: &mut Group,
        spec: NewMember,
        version: i16,
    ) -> JoinOutcome {
        let new_id = format!("{}-{}", spec.client.client_id, new_uuid());
        if let Some(instance) = spec.instance_id.clone() {
            if let Some(old_id) = group.static_members.get(&instance).cloned() {
                return self.replace_static_member(group, &old_id, new_id, spec);
            }
            return self.add_member_and_rebalance(group, new_id, spec);
        }
        if version >= 4 {
            // KIP-394: hand out the id first; the client joins again with it.
            group.pending_members.insert(new_id.clone());
            let timeout = Duration::from_millis(spec.session_timeout_ms.max(0) as u64);
            let (group_id, pending_id) = (group.id.clone(), new_id.clone());
            self.spawn_timer(timeout, move |this| {
                this.expire_pending_member(&group_id, &pending_id)
            });
            return JoinOutcome::Now(join_error(codes::MEMBER_ID_REQUIRED, &new_id));
        }
        self.add_member_and_rebalance(group, new_id, spec)
    }

    fn join_known_member(
        self: &Arc<Self>,
        group: &mut Group,
        member_id: &str,
        spec: NewMember,
    ) -> JoinOutcome {
        if group.pending_members.remove(member_id) {
            return self.add_member_and_rebalance(group, member_id.to_owned(), spec);
        }
        let Some(member) = group.members.get(member_id) else {
            return JoinOutcome::Now(join_error(codes::UNKNOWN_MEMBER_ID, member_id));
        };
        if let Some(instance) = &spec.instance_id {
            if group.static_members.get(instance).map(String::as_str) != Some(member_id) {
                return JoinOutcome::Now(join_error(codes::FENCED_INSTANCE_ID, member_id));
            }
        }
        let same = member.same_protocols(&spec.protocols);
        let is_leader = group.leader.as_deref() == Some(member_id);
        match group.state {
            GroupState::PreparingRebalance => {
                self.update_member_and_rebalance(group, member_id, spec)
            }
            GroupState::CompletingRebalance if same => {
                JoinOutcome::Now(current_join_response(group, member_id, is_leader))
            }
            GroupState::Stable if same && !is_leader => {
                JoinOutcome::Now(current_join_response(group, member_id, false))
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.update_member_and_rebalance(group, member_id, spec)
            }
            GroupState::Empty => JoinOutcome::Now(join_error(codes::UNKNOWN_MEMBER_ID, member_id)),
        }
    }

    fn replace_static_member(
        self: &Arc<Self>,
        group: &mut Group,
        old_id: &str,
        new_id: String,
        spec: NewMember,
    ) -> JoinOutcome {
        let Some(mut member) = group.members.shift_remove(old_id) else {
            return self.add_member_and_rebalance(group, new_id, spec);
        };
        // The old incarnation is fenced: anything it still waits for fails.
        if let Some(w) = member.join_waiter.take() {
            let _ = w.send(join_error(codes::FENCED_INSTANCE_ID, old_id));
        }
        if let Some(w) = member.sync_waiter.take() {
            let _ = w.send(sync_error(codes::FENCED_INSTANCE_ID));
        }
        let same = member.same_protocols(&spec.protocols);
        member.member_id = new_id.clone();
        member.client_id = spec.client.client_id.clone();
        member.client_host = spec.client.client_host.clone();
        member.session_timeout_ms = spec.session_timeout_ms;
        member.rebalance_timeout_ms = spec.rebalance_timeout_ms;
        member.session_deadline = Instant::now() + ms(spec.session_timeout_ms);
        group.members.insert(new_id.clone(), member);
        if let Some(instance) = &spec.instance_id {
            group
                .static_members
                .insert(instance.clone(), new_id.clone());
        }
        if group.leader.as_deref() == Some(old_id) {
            group.leader = Some(new_id.clone());
        }
        self.watch_session(group, &new_id);
        match group.state {
            GroupState::Stable if same => {
                // KIP-345: a static member restarting with the same subscription keeps its
                // assignment; no rebalance. A leader learns the members but skips assigning.
                let is_leader = group.leader.as_deref() == Some(new_id.as_str());
                let mut response = current_join_response(group, &new_id, is_leader);
                response.skip_assignment = is_leader;
                JoinOutcome::Now(response)
            }
            _ => self.update_member_and_rebalance(group, &new_id, spec),
        }
    }

    fn add_member_and_rebalance(
        self: &Arc<Self>,
        group: &mut Group,
        member_id: String,
        spec: NewMember,
    ) -> JoinOutcome {
        let (tx, rx) = oneshot::channel();
        if group.members.is_empty() {
            group.protocol_type = Some(spec.protocol_type.clone());
        }
        if let Some(instance) = &spec.instance_id {
            group
                .static_members
                .insert(instance.clone(), member_id.clone());
        }
        group.members.insert(
            member_id.clone(),
            Member {
                member_id: member_id.clone(),
                group_instance_id: spec.instance_id,
                client_id: spec.client.client_id,
                client_host: spec.client.client_host,
                session_timeout_ms: spec.session_timeout_ms,
                rebalance_timeout_ms: spec.rebalance_timeout_ms,
                protocols: spec.protocols,
                assignment: Bytes::new(),
                join_waiter: Some(tx),
                sync_waiter: None,
                session_deadline: Instant::now() + ms(spec.session_timeout_ms),
                is_new: true,
            },
        );
        if group.leader.is_none() {
            group.leader = Some(member_id.clone());
        }
        self.watch_session(group, &member_id);
        if group.state == GroupState::PreparingRebalance && group.initial_rebalance {
            group.new_member_added = true;
        }
        self.prepare_rebalance_or_try_complete(group);
        JoinOutcome::Later(rx)
    }

    fn update_member_and_rebalance(
        self: &Arc<Self>,
        group: &mut Group,
        member_id: &str,
        spec: NewMember,
    ) -> JoinOutcome {
        let (tx, rx) = oneshot::channel();
        if let Some(member) = group.members.get_mut(member_id) {
            member.protocols = spec.protocols;
            member.session_timeout_ms = spec.session_timeout_ms;
            member.rebalance_timeout_ms = spec.rebalance_timeout_ms;
            member.join_waiter = Some(tx);
        }
        self.prepare_rebalance_or_try_complete(group);
        JoinOutcome::Later(rx)
    }

    fn prepare_rebalance_or_try_complete(self: &Arc<Self>, group: &mut Group) {
        match group.state {
            GroupState::PreparingRebalance => self.try_complete_join(group),
            _ => self.prepare_rebalance(group),
        }
    }

    /// Enters PreparingRebalance and arms the join timer (Kafka's `prepareRebalance`).
    pub(crate) fn prepare_rebalance(self: &Arc<Self>, group: &mut Group) {
        if group.state == GroupState::CompletingRebalance {
            // Members waiting for an assignment must rejoin.
            for member in group.members.values_mut() {
                if let Some(w) = member.sync_waiter.take() {
                    let _ = w.send(sync_error(codes::REBALANCE_IN_PROGRESS));
                }
            }
        }
        group.initial_rebalance = group.state == GroupState::Empty;
        group.new_member_added = false;
        group.state = GroupState::PreparingRebalance;
        group.rebalance_epoch += 1;
        let epoch = group.rebalance_epoch;
        let group_id = group.id.clone();
        if group.initial_rebalance {
            let delay = self
                .config
                .initial_rebalance_delay_ms
                .min(group.max_rebalance_timeout_ms());
            let remaining = group.max_rebalance_timeout_ms() - delay;
            self.spawn_timer(ms(delay), move |this| {
                this.initial_join_timer(&group_id, epoch, remaining)
            });
        } else {
            let timeout = ms(group.max_rebalance_timeout_ms());
            self.spawn_timer(timeout, move |this| this.join_timer(&group_id, epoch));
            self.try_complete_join(group);
        }
    }

    /// Kafka's InitialDelayedJoin: wait `group.initial.rebalance.delay.ms` more while new
    /// members keep arriving, up to the rebalance timeout.
    fn initial_join_timer(self: &Arc<Self>, group_id: &str, epoch: u64, remaining: i32) {
        self.with_groups(|groups| {
            let Some(group) = groups.get_mut(group_id) else {
                return;
            };
            if group.rebalance_epoch != epoch || group.state != GroupState::PreparingRebalance {
                return;
            }
            if group.new_member_added && remaining > 0 {
                group.new_member_added = false;
                let delay = self.config.initial_rebalance_delay_ms.min(remaining);
                let id = group_id.to_owned();
                self.spawn_timer(ms(delay), move |this| {
                    this.initial_join_timer(&id, epoch, remaining - delay)
                });
            } else {
                self.complete_join(group);
            }
        });
    }

    fn join_timer(self: &Arc<Self>, group_id: &str, epoch: u64) {
        self.with_groups(|groups| {
            if let Some(group) = groups.get_mut(group_id) {
                if group.rebalance_epoch == epoch && group.state == GroupState::PreparingRebalance {
                    self.complete_join(group);
                }
            }
        });
    }

    pub(crate) fn try_complete_join(self: &Arc<Self>, group: &mut Group) {
        if group.state == GroupState::PreparingRebalance
            && !group.initial_rebalance
            && group.all_members_joined()
        {
            self.complete_join(group);
        }
    }

    /// Ends the join phase (Kafka's `completeClassicGroupJoin`): members that did not rejoin
    /// leave, the generation advances, and every waiting member gets its JoinGroup response.
    fn complete_join(self: &Arc<Self>, group: &mut Group) {
        let missing: Vec<String> = group
            .members
            .values()
            .filter(|m| m.join_waiter.is_none())
            .map(|m| m.member_id.clone())
            .collect();
        for id in missing {
            group.remove_member(&id);
        }
        group.generation_id += 1;
        group.rebalance_epoch += 1;
        if group.members.is_empty() {
            group.state = GroupState::Empty;
            group.protocol_name = None;
            group.leader = None;
            return;
        }
        group.state = GroupState::CompletingRebalance;
        group.protocol_name = group.select_protocol();
        if group
            .leader
            .as_ref()
            .is_none_or(|l| !group.members.contains_key(l))
        {
            group.leader = group.members.keys().next().cloned();
        }
        let leader = group.leader.clone().unwrap_or_default();
        let protocol = group.protocol_name.clone().unwrap_or_default();
        let all: Vec<JoinGroupResponseMember> = group
            .members
            .values()
            .map(|m| {
                JoinGroupResponseMember::default()
                    .with_member_id(sb(&m.member_id))
                    .with_group_instance_id(m.group_instance_id.as_deref().map(sb))
                    .with_metadata(m.metadata(&protocol))
            })
            .collect();
        let now = Instant::now();
        for member in group.members.values_mut() {
            member.is_new = false;
            member.session_deadline = now + ms(member.session_timeout_ms);
            if let Some(waiter) = member.join_waiter.take() {
                let response = JoinGroupResponse::default()
                    .with_generation_id(group.generation_id)
                    .with_protocol_type(group.protocol_type.as_deref().map(sb))
                    .with_protocol_name(Some(sb(&protocol)))
                    .with_leader(sb(&leader))
                    .with_member_id(sb(&member.member_id))
                    .with_members(if member.member_id == leader {
                        all.clone()
                    } else {
                        Vec::new()
                    });
                let _ = waiter.send(response);
            }
        }
        let sync_timeout = ms(group.max_rebalance_timeout_ms());
        let (group_id, generation) = (group.id.clone(), group.generation_id);
        self.spawn_timer(sync_timeout, move |this| {
            this.sync_timer(&group_id, generation)
        });
    }

    /// Members that never sent SyncGroup within the rebalance timeout are removed (Kafka 3.x+).
    fn sync_timer(self: &Arc<Self>, group_id: &str, generation: i32) {
        self.with_groups(|groups| {
            let Some(group) = groups.get_mut(group_id) else {
                return;
            };
            if group.generation_id != generation || group.state != GroupState::CompletingRebalance {
                return;
            }
            let missing: Vec<String> = group
                .members
                .values()
                .filter(|m| m.sync_waiter.is_none())
                .map(|m| m.member_id.clone())
                .collect();
            for id in missing {
                group.remove_member(&id);
            }
            self.prepare_rebalance(group);
        });
    }

    /// Arms the session timer of a member; it re-checks the deadline heartbeats push forward.
    fn watch_session(self: &Arc<Self>, group: &Group, member_id: &str) {
        let Some(member) = group.members.get(member_id) else {
            return;
        };
        let delay = member
            .session_deadline
            .saturating_duration_since(Instant::now());
        let (group_id, member_id) = (group.id.clone(), member_id.to_owned());
        self.spawn_timer(delay, move |this| this.session_check(&group_id, &member_id));
    }

    fn session_check(self: &Arc<Self>, group_id: &str, member_id: &str) {
        let mut rearm = false;
        self.with_groups(|groups| {
            let Some(group) = groups.get_mut(group_id) else {
                return;
            };
            let Some(member) = group.members.get(member_id) else {
                return;
            };
            // While a member waits in JoinGroup, the rebalance timeout governs it instead.
            if member.join_waiter.is_some() || Instant::now() < member.session_deadline {
                rearm = true;
                return;
            }
            tracing::info!(
                group = group_id,
                member = member_id,
                "member session expired"
            );
            self.remove_member_and_update(group, member_id);
        });
        if rearm {
            let groups = self.groups.lock().expect("groups lock");
            if let Some(group) = groups.get(group_id) {
                let member = group.members.get(member_id);
                let delay = member
                    .map(|m| {
                        m.session_deadline
                            .saturating_duration_since(Instant::now())
                            .max(ms(m.session_timeout_ms.min(1000) / 10))
                    })
                    .unwrap_or_default();
                if member.is_some() {
                    let (g, m) = (group_id.to_owned(), member_id.to_owned());
                    self.spawn_timer(delay, move |this| this.session_check(&g, &m));
                }
            }
        }
    }

    fn expire_pending_member(self: &Arc<Self>, group_id: &str, member_id: &str) {
        self.with_groups(|groups| {
            if let Some(group) = groups.get_mut(group_id) {
                if group.pending_members.remove(member_id) {
                    self.try_complete_join(group);
                }
            }
        });
    }

    /// Kafka's `removeMemberAndUpdateGroup`.
    pub(crate) fn remove_member_and_update(self: &Arc<Self>, group: &mut Group, member_id: &str) {
        let Some(mut member) = group.remove_member(member_id) else {
            return;
        };
        if let Some(w) = member.join_waiter.take() {
            let _ = w.send(join_error(codes::UNKNOWN_MEMBER_ID, member_id));
        }
        if let Some(w) = member.sync_waiter.take() {
            let _ = w.send(sync_error(codes::UNKNOWN_MEMBER_ID));
        }
        match group.state {
            GroupState::Stable | GroupState::CompletingRebalance => self.prepare_rebalance(group),
            GroupState::PreparingRebalance => self.try_complete_join(group),
            GroupState::Empty => {}
        }
    }
}

fn current_join_response(group: &Group, member_id: &str, with_members: bool) -> JoinGroupResponse {
    let protocol = group.protocol_name.clone().unwrap_or_default();
    let members = if with_members {
        group
            .members
            .values()
            .map(|m| {
                JoinGroupResponseMember::default()
                    .with_member_id(sb(&m.member_id))
                    .with_group_instance_id(m.group_instance_id.as_deref().map(sb))
                    .with_metadata(m.metadata(&protocol))
            })
            .collect()
    } else {
        Vec::new()
    };
    JoinGroupResponse::default()
        .with_generation_id(group.generation_id)
        .with_protocol_type(group.protocol_type.as_deref().map(sb))
        .with_protocol_name(group.protocol_name.as_deref().map(sb))
        .with_leader(sb(group.leader.as_deref().unwrap_or_default()))
        .with_member_id(sb(member_id))
        .with_members(members)
}

struct NewMember {
    client: ClientInfo,
    session_timeout_ms: i32,
    rebalance_timeout_ms: i32,
    protocol_type: String,
    protocols: Vec<(String, Bytes)>,
    instance_id: Option<String>,
}

pub(crate) fn ms(millis: i32) -> Duration {
    Duration::from_millis(millis.max(0) as u64)
}
