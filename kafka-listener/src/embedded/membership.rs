//! Requests of members already in a group: SyncGroup (the leader's assignment reaches every
//! member), Heartbeat and LeaveGroup, with Kafka's validation of member ids, static instance
//! ids and generations.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::{SyncGroupRequest, SyncGroupResponse};
use kafka_protocol::protocol::StrBytes;
use tokio::sync::oneshot;
use tokio::time::Instant;

use super::codes;
use super::coordinator::{ms, sb, sync_error, Coordinator, SyncOutcome};
use super::group::{Group, GroupState, Member};

impl Coordinator {
    /// SyncGroup (Kafka's `classicGroupSync`).
    pub(crate) async fn sync(self: &Arc<Self>, request: SyncGroupRequest) -> SyncGroupResponse {
        match self.sync_now(request) {
            SyncOutcome::Now(response) => response,
            SyncOutcome::Later(rx) => rx
                .await
                .unwrap_or_else(|_| sync_error(codes::UNKNOWN_MEMBER_ID)),
        }
    }

    fn sync_now(self: &Arc<Self>, request: SyncGroupRequest) -> SyncOutcome {
        let group_id = request.group_id.0.to_string();
        let member_id = request.member_id.to_string();
        self.with_groups(|groups| {
            let Some(group) = groups.get_mut(&group_id) else {
                return SyncOutcome::Now(sync_error(codes::UNKNOWN_MEMBER_ID));
            };
            if let Err(code) =
                validate_member(group, &member_id, request.group_instance_id.as_ref())
            {
                return SyncOutcome::Now(sync_error(code));
            }
            if request.generation_id != group.generation_id {
                return SyncOutcome::Now(sync_error(codes::ILLEGAL_GENERATION));
            }
            let type_mismatch = request
                .protocol_type
                .as_ref()
                .is_some_and(|t| Some(t.as_str()) != group.protocol_type.as_deref());
            let name_mismatch = request
                .protocol_name
                .as_ref()
                .is_some_and(|n| Some(n.as_str()) != group.protocol_name.as_deref());
            if type_mismatch || name_mismatch {
                return SyncOutcome::Now(sync_error(codes::INCONSISTENT_GROUP_PROTOCOL));
            }
            match group.state {
                GroupState::Empty => SyncOutcome::Now(sync_error(codes::UNKNOWN_MEMBER_ID)),
                GroupState::PreparingRebalance => {
                    SyncOutcome::Now(sync_error(codes::REBALANCE_IN_PROGRESS))
                }
                GroupState::CompletingRebalance => {
                    let (tx, rx) = oneshot::channel();
                    let now = Instant::now();
                    if let Some(member) = group.members.get_mut(&member_id) {
                        member.sync_waiter = Some(tx);
                        member.session_deadline = now + ms(member.session_timeout_ms);
                    }
                    if group.leader.as_deref() == Some(member_id.as_str()) {
                        let mut assignments: HashMap<String, Bytes> = request
                            .assignments
                            .iter()
                            .map(|a| (a.member_id.to_string(), a.assignment.clone()))
                            .collect();
                        for member in group.members.values_mut() {
                            member.assignment =
                                assignments.remove(&member.member_id).unwrap_or_default();
                        }
                        group.state = GroupState::Stable;
                        let response = |m: &Member| {
                            SyncGroupResponse::default()
                                .with_protocol_type(group.protocol_type.as_deref().map(sb))
                                .with_protocol_name(group.protocol_name.as_deref().map(sb))
                                .with_assignment(m.assignment.clone())
                        };
                        let responses: Vec<(String, SyncGroupResponse)> = group
                            .members
                            .values()
                            .map(|m| (m.member_id.clone(), response(m)))
                            .collect();
                        for (id, r) in responses {
                            if let Some(w) = group
                                .members
                                .get_mut(&id)
                                .and_then(|m| m.sync_waiter.take())
                            {
                                let _ = w.send(r);
                            }
                        }
                    }
                    SyncOutcome::Later(rx)
                }
                GroupState::Stable => {
                    let member = &group.members[&member_id];
                    SyncOutcome::Now(
                        SyncGroupResponse::default()
                            .with_protocol_type(group.protocol_type.as_deref().map(sb))
                            .with_protocol_name(group.protocol_name.as_deref().map(sb))
                            .with_assignment(member.assignment.clone()),
                    )
                }
            }
        })
    }

    /// Heartbeat (Kafka's `classicGroupHeartbeat`); returns the error code.
    pub(crate) fn heartbeat(
        &self,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&StrBytes>,
        generation_id: i32,
    ) -> i16 {
        self.with_groups(|groups| {
            let Some(group) = groups.get_mut(group_id) else {
                return codes::UNKNOWN_MEMBER_ID;
            };
            if let Err(code) = validate_member(group, member_id, instance_id) {
                return code;
            }
            if generation_id != group.generation_id {
                return codes::ILLEGAL_GENERATION;
            }
            let state = group.state;
            if let Some(member) = group.members.get_mut(member_id) {
                member.session_deadline = Instant::now() + ms(member.session_timeout_ms);
            }
            match state {
                GroupState::Empty => codes::UNKNOWN_MEMBER_ID,
                GroupState::PreparingRebalance => codes::REBALANCE_IN_PROGRESS,
                GroupState::CompletingRebalance | GroupState::Stable => codes::NONE,
            }
        })
    }

    /// LeaveGroup for one member identity; returns the member's error code. As in Kafka 4.x,
    /// a group that does not exist makes each member UNKNOWN_MEMBER_ID, not the request.
    pub(crate) fn leave(
        self: &Arc<Self>,
        group_id: &str,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> i16 {
        self.with_groups(|groups| {
            let Some(group) = groups.get_mut(group_id) else {
                return codes::UNKNOWN_MEMBER_ID;
            };
            let resolved = match instance_id {
                Some(instance) => match group.static_members.get(instance) {
                    Some(current) if member_id.is_empty() || current == member_id => {
                        current.clone()
                    }
                    Some(_) => return codes::FENCED_INSTANCE_ID,
                    None => return codes::UNKNOWN_MEMBER_ID,
                },
                None => member_id.to_owned(),
            };
            if group.pending_members.remove(&resolved) {
                self.try_complete_join(group);
                return codes::NONE;
            }
            if !group.members.contains_key(&resolved) {
                return codes::UNKNOWN_MEMBER_ID;
            }
            self.remove_member_and_update(group, &resolved);
            codes::NONE
        })
    }
}

/// Kafka's `validateMember`: the member must exist and, for static members, be the current
/// incarnation of its instance id.
pub(crate) fn validate_member(
    group: &Group,
    member_id: &str,
    instance_id: Option<&StrBytes>,
) -> Result<(), i16> {
    if let Some(instance) = instance_id {
        match group.static_members.get(instance.as_str()) {
            Some(current) if current == member_id => return Ok(()),
            Some(_) => return Err(codes::FENCED_INSTANCE_ID),
            None => return Err(codes::UNKNOWN_MEMBER_ID),
        }
    }
    if group.members.contains_key(member_id) {
        Ok(())
    } else {
        Err(codes::UNKNOWN_MEMBER_ID)
    }
}
