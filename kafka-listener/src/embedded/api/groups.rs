//! Group APIs: FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit,
//! OffsetFetch, ListGroups, DescribeGroups, DeleteGroups. Each checks that this broker
//! coordinates the group (NOT_COORDINATOR otherwise, as Kafka answers).

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::find_coordinator_response::Coordinator as CoordinatorEntry;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{
    BrokerId, DeleteGroupsRequest, DeleteGroupsResponse, DescribeGroupsRequest,
    DescribeGroupsResponse, FindCoordinatorRequest, FindCoordinatorResponse, GroupId,
    HeartbeatRequest, HeartbeatResponse, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest,
    LeaveGroupResponse, ListGroupsRequest, ListGroupsResponse, OffsetCommitRequest,
    OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse, SyncGroupRequest,
    SyncGroupResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::embedded::cluster::BrokerContext;
use crate::embedded::codes;
use crate::embedded::coordinator::{sb, ClientInfo};
use crate::embedded::group::GroupState;
use crate::embedded::offsets::{self, CommitRequest};

fn is_coordinator(ctx: &BrokerContext, group_id: &str) -> bool {
    ctx.cluster.coordinator_for(group_id) == ctx.node_id
}

/// FindCoordinator, single key (v0–v3) or batched keys (v4+).
pub(crate) fn find_coordinator(
    ctx: &BrokerContext,
    request: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    let entry = |key: &StrBytes| {
        let id = ctx.cluster.coordinator_for(key.as_str());
        let broker = ctx
            .cluster
            .topics
            .brokers()
            .iter()
            .find(|b| b.node_id == id)
            .cloned();
        match (request.key_type, broker) {
            (0 | 1, Some(b)) => CoordinatorEntry::default()
                .with_key(key.clone())
                .with_node_id(BrokerId(b.node_id))
                .with_host(sb(&b.host))
                .with_port(b.port),
            _ => CoordinatorEntry::default()
                .with_key(key.clone())
                .with_node_id(BrokerId(-1))
                .with_port(-1)
                .with_error_code(codes::INVALID_REQUEST)
                .with_error_message(Some(sb("Unsupported key type"))),
        }
    };
    if version >= 4 {
        return FindCoordinatorResponse::default()
            .with_coordinators(request.coordinator_keys.iter().map(entry).collect());
    }
    let e = entry(&request.key);
    FindCoordinatorResponse::default()
        .with_error_code(e.error_code)
        .with_error_message(e.error_message)
        .with_node_id(e.node_id)
        .with_host(e.host)
        .with_port(e.port)
}

/// JoinGroup.
pub(crate) async fn join_group(
    ctx: &BrokerContext,
    request: JoinGroupRequest,
    version: i16,
    client: ClientInfo,
) -> JoinGroupResponse {
    if !is_coordinator(ctx, request.group_id.as_str()) {
        return JoinGroupResponse::default()
            .with_error_code(codes::NOT_COORDINATOR)
            .with_generation_id(-1)
            .with_member_id(request.member_id);
    }
    let mut response = ctx.cluster.coordinator.join(request, version, client).await;
    if version < 7 && response.protocol_name.is_none() {
        // Non-nullable before v7: Kafka sends an empty string.
        response.protocol_name = Some(StrBytes::default());
    }
    response
}

/// SyncGroup.
pub(crate) async fn sync_group(
    ctx: &BrokerContext,
    request: SyncGroupRequest,
    version: i16,
) -> SyncGroupResponse {
    if !is_coordinator(ctx, request.group_id.as_str()) {
        return SyncGroupResponse::default().with_error_code(codes::NOT_COORDINATOR);
    }
    // From v5 Kafka requires both (SyncGroupRequest.areMandatoryProtocolTypeAndNamePresent).
    if version >= 5 && (request.protocol_type.is_none() || request.protocol_name.is_none()) {
        return SyncGroupResponse::default().with_error_code(codes::INCONSISTENT_GROUP_PROTOCOL);
    }
    ctx.cluster.coordinator.sync(request).await
}

/// Heartbeat.
pub(crate) fn heartbeat(ctx: &BrokerContext, request: HeartbeatRequest) -> HeartbeatResponse {
    if !is_coordinator(ctx, request.group_id.as_str()) {
        return HeartbeatResponse::default().with_error_code(codes::NOT_COORDINATOR);
    }
    let code = ctx.cluster.coordinator.heartbeat(
        request.group_id.as_str(),
        request.member_id.as_str(),
        request.group_instance_id.as_ref(),
        request.generation_id,
    );
    HeartbeatResponse::default().with_error_code(code)
}

/// LeaveGroup: one member (v0–v2) or a batch of member identities (v3+).
pub(crate) fn leave_group(
    ctx: &BrokerContext,
    request: LeaveGroupRequest,
    version: i16,
) -> LeaveGroupResponse {
    let group_id = request.group_id.as_str();
    if !is_coordinator(ctx, group_id) {
        return LeaveGroupResponse::default().with_error_code(codes::NOT_COORDINATOR);
    }
    let coordinator = &ctx.cluster.coordinator;
    if version < 3 {
        let code = coordinator.leave(group_id, request.member_id.as_str(), None);
        return LeaveGroupResponse::default().with_error_code(code);
    }
    let mut members = Vec::new();
    for identity in request.members {
        let instance = identity.group_instance_id.as_ref().map(|s| s.as_str());
        let code = coordinator.leave(group_id, identity.member_id.as_str(), instance);
        members.push(
            MemberResponse::default()
                .with_member_id(identity.member_id)
                .with_group_instance_id(identity.group_instance_id)
                .with_error_code(code),
        );
    }
    LeaveGroupResponse::default().with_members(members)
}

/// OffsetCommit.
pub(crate) fn offset_commit(
    ctx: &BrokerContext,
    request: OffsetCommitRequest,
    version: i16,
) -> OffsetCommitResponse {
    let group_id = request.group_id.to_string();
    let code = if !is_coordinator(ctx, &group_id) {
        Some(codes::NOT_COORDINATOR)
    } else {
        None
    };
    let commit = CommitRequest {
        group_id: &group_id,
        generation_id: request.generation_id_or_member_epoch,
        member_id: request.member_id.as_str(),
        instance_id: request.group_instance_id.as_ref(),
        version,
    };
    let offsets: Vec<(String, i32, i64, i32, Option<String>)> = request
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(move |p| {
                (
                    t.name.to_string(),
                    p.partition_index,
                    p.committed_offset,
                    p.committed_leader_epoch,
                    p.committed_metadata.as_ref().map(|m| m.to_string()),
                )
            })
        })
        .collect();
    let code = code.unwrap_or_else(|| offsets::commit(&ctx.cluster.coordinator, &commit, &offsets));
    let topics = request
        .topics
        .into_iter()
        .map(|t| {
            OffsetCommitResponseTopic::default()
                .with_name(t.name)
                .with_topic_id(t.topic_id)
                .with_partitions(
                    t.partitions
                        .iter()
                        .map(|p| {
                            OffsetCommitResponsePartition::default()
                                .with_partition_index(p.partition_index)
                                .with_error_code(code)
                        })
                        .collect(),
                )
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}

/// OffsetFetch: one group (v1–v7) or several (v8+). Partitions without a commit answer -1.
pub(crate) fn offset_fetch(
    ctx: &BrokerContext,
    request: OffsetFetchRequest,
    version: i16,
) -> OffsetFetchResponse {
    let coordinator = &ctx.cluster.coordinator;
    if version < 8 {
        let group_id = request.group_id.as_str();
        if !is_coordinator(ctx, group_id) {
            return OffsetFetchResponse::default().with_error_code(codes::NOT_COORDINATOR);
        }
        let wanted = request.topics.map(|ts| {
            ts.into_iter()
                .map(|t| (t.name.to_string(), t.partition_indexes))
                .collect()
        });
        let topics = offsets::fetch(coordinator, group_id, wanted)
            .into_iter()
            .map(|(name, partitions)| {
                OffsetFetchResponseTopic::default()
                    .with_name(TopicName(sb(&name)))
                    .with_partitions(
                        partitions
                            .into_iter()
                            .map(|(p, c)| {
                                OffsetFetchResponsePartition::default()
                                    .with_partition_index(p)
                                    .with_committed_offset(c.offset)
                                    .with_committed_leader_epoch(c.leader_epoch)
                                    .with_metadata(c.metadata.as_deref().map(sb))
                            })
                            .collect(),
                    )
            })
            .collect();
        return OffsetFetchResponse::default().with_topics(topics);
    }
    let groups = request
        .groups
        .into_iter()
        .map(|g| {
            let group_id = g.group_id.to_string();
            let result = OffsetFetchResponseGroup::default().with_group_id(g.group_id);
            if !is_coordinator(ctx, &group_id) {
                return result.with_error_code(codes::NOT_COORDINATOR);
            }
            let wanted = g.topics.map(|ts| {
                ts.into_iter()
                    .map(|t| (t.name.to_string(), t.partition_indexes))
                    .collect()
            });
            result.with_topics(
                offsets::fetch(coordinator, &group_id, wanted)
                    .into_iter()
                    .map(|(name, partitions)| {
                        OffsetFetchResponseTopics::default()
                            .with_name(TopicName(sb(&name)))
                            .with_partitions(
                                partitions
                                    .into_iter()
                                    .map(|(p, c)| {
                                        OffsetFetchResponsePartitions::default()
                                            .with_partition_index(p)
                                            .with_committed_offset(c.offset)
                                            .with_committed_leader_epoch(c.leader_epoch)
                                            .with_metadata(c.metadata.as_deref().map(sb))
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            )
        })
        .collect();
    OffsetFetchResponse::default().with_groups(groups)
}

/// ListGroups: the groups this broker coordinates, filtered by state (v4+) and type (v5+).
pub(crate) fn list_groups(ctx: &BrokerContext, request: ListGroupsRequest) -> ListGroupsResponse {
    let states: Vec<String> = request
        .states_filter
        .iter()
        .map(|s| s.to_lowercase())
        .collect();
    let types: Vec<String> = request
        .types_filter
        .iter()
        .map(|s| s.to_lowercase())
        .collect();
    let groups = ctx.cluster.coordinator.with_groups(|groups| {
        let mut listed: Vec<ListedGroup> = groups
            .values()
            .filter(|g| is_coordinator(ctx, &g.id))
            .filter(|g| states.is_empty() || states.contains(&g.state.name().to_lowercase()))
            .filter(|_| types.is_empty() || types.iter().any(|t| t == "classic"))
            .map(|g| {
                ListedGroup::default()
                    .with_group_id(GroupId(sb(&g.id)))
                    .with_protocol_type(sb(g.protocol_type.as_deref().unwrap_or_default()))
                    .with_group_state(sb(g.state.name()))
                    .with_group_type(sb("classic"))
            })
            .collect();
        listed.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        listed
    });
    ListGroupsResponse::default().with_groups(groups)
}

/// DescribeGroups. A group Kafka does not know is reported Dead (GROUP_ID_NOT_FOUND from v6).
pub(crate) fn describe_groups(
    ctx: &BrokerContext,
    request: DescribeGroupsRequest,
    version: i16,
) -> DescribeGroupsResponse {
    let groups = request
        .groups
        .into_iter()
        .map(|group_id| {
            let described = DescribedGroup::default()
                .with_group_id(group_id.clone())
                .with_authorized_operations(i32::MIN);
            if !is_coordinator(ctx, group_id.as_str()) {
                return described.with_error_code(codes::NOT_COORDINATOR);
            }
            ctx.cluster
                .coordinator
                .with_groups(|groups| match groups.get(group_id.as_str()) {
                    None => {
                        let dead = described.with_group_state(sb("Dead"));
                        if version >= 6 {
                            dead.with_error_code(codes::GROUP_ID_NOT_FOUND)
                                .with_error_message(Some(sb(&format!(
                                    "Group {} not found.",
                                    group_id.as_str()
                                ))))
                        } else {
                            dead
                        }
                    }
                    Some(g) => {
                        let stable = g.state == GroupState::Stable;
                        let protocol = g.protocol_name.clone().unwrap_or_default();
                        described
                            .with_group_state(sb(g.state.name()))
                            .with_protocol_type(sb(g.protocol_type.as_deref().unwrap_or_default()))
                            .with_protocol_data(sb(if stable { &protocol } else { "" }))
                            .with_members(
                                g.members
                                    .values()
                                    .map(|m| {
                                        let member = DescribedGroupMember::default()
                                            .with_member_id(sb(&m.member_id))
                                            .with_group_instance_id(
                                                m.group_instance_id.as_deref().map(sb),
                                            )
                                            .with_client_id(sb(&m.client_id))
                                            .with_client_host(sb(&m.client_host));
                                        if stable {
                                            member
                                                .with_member_metadata(m.metadata(&protocol))
                                                .with_member_assignment(m.assignment.clone())
                                        } else {
                                            member
                                        }
                                    })
                                    .collect(),
                            )
                    }
                })
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}

/// DeleteGroups: only groups without members; their committed offsets go with them.
pub(crate) fn delete_groups(
    ctx: &BrokerContext,
    request: DeleteGroupsRequest,
) -> DeleteGroupsResponse {
    let results = request
        .groups_names
        .into_iter()
        .map(|group_id| {
            let code = if !is_coordinator(ctx, group_id.as_str()) {
                codes::NOT_COORDINATOR
            } else {
                ctx.cluster
                    .coordinator
                    .with_groups(|groups| match groups.get(group_id.as_str()) {
                        None => codes::GROUP_ID_NOT_FOUND,
                        Some(g) if g.state != GroupState::Empty => codes::NON_EMPTY_GROUP,
                        Some(_) => {
                            groups.remove(group_id.as_str());
                            codes::NONE
                        }
                    })
            };
            DeletableGroupResult::default()
                .with_group_id(group_id)
                .with_error_code(code)
        })
        .collect();
    DeleteGroupsResponse::default().with_results(results)
}
