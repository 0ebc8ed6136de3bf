//! One pass through the classic group protocol: JoinGroup (with the MEMBER_ID_REQUIRED retry),
//! the leader's assignment, SyncGroup; and LeaveGroup. The [`GroupMember`](super::GroupMember)
//! decides when to call these and what to revoke around them.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kafka_protocol::messages::{
    join_group_request::JoinGroupRequestProtocol, leave_group_request::MemberIdentity,
    metadata_request::MetadataRequestTopic, sync_group_request::SyncGroupRequestAssignment,
    GroupId, JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, MetadataRequest,
    SyncGroupRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::coordinator::{Coordinator, Lane};
use super::error::{coordinator_moved, response_error};
use super::identity::{Identity, SharedIdentity};
use super::{
    assign, subscription_user_data, Assignment, AssignorKind, GroupConfig, GroupError,
    MemberSubscription, Subscription, TopicPartition, CONSUMER_PROTOCOL_TYPE,
};
use crate::client::BrokerConnection;

/// How many JoinGroup/SyncGroup round trips one rejoin may take before giving up.
const MAX_JOIN_ATTEMPTS: usize = 30;

/// The wait before asking again after the coordinator moved or its connection broke,
/// doubling up to the maximum: Java's `retry.backoff.ms` and `retry.backoff.max.ms` defaults.
/// Without it a moved coordinator burns the join attempts in a burst of round trips.
const COORDINATOR_RETRY_FIRST: Duration = Duration::from_millis(100);
const COORDINATOR_RETRY_MAX: Duration = Duration::from_secs(1);

/// Waits out the current coordinator back-off and doubles the next one.
async fn back_off(backoff: &mut Duration) {
    tokio::time::sleep(*backoff).await;
    *backoff = (*backoff * 2).min(COORDINATOR_RETRY_MAX);
}

/// The outcome of a completed join and sync.
#[derive(Debug)]
pub(crate) struct Joined {
    pub(crate) generation: i32,
    pub(crate) member_id: String,
    pub(crate) protocol: AssignorKind,
    pub(crate) leader: bool,
    pub(crate) assignment: Assignment,
    pub(crate) coordinator_addr: String,
    /// The leader's: the partition counts it computed the assignment from. They, not a later
    /// read, are what a metadata change must be noticed against (Java's assignment snapshot):
    /// a topic missing from them got no owner even if the next read lists it.
    pub(crate) assigned_from: Option<BTreeMap<String, i32>>,
    /// The coordinator no longer knew our member id or generation when we rejoined: whatever
    /// we owned was already given to others (cooperative members report it lost).
    pub(crate) generation_lost: bool,
}

fn str_bytes(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_owned())
}

/// Joins the group and syncs, retrying what Java retries (member id required, unknown member,
/// rebalance during sync, coordinator moved). `owned` goes into the subscription so a
/// cooperative leader keeps it where it is.
pub(crate) async fn join_and_sync(
    coordinator: &Coordinator,
    identity: &SharedIdentity,
    config: &GroupConfig,
    topics: &[String],
    owned: &[TopicPartition],
) -> Result<Joined, GroupError> {
    let group = config.group_id.as_str();
    let mut last_error: Option<GroupError> = None;
    let mut generation_lost = false;
    let mut backoff = COORDINATOR_RETRY_FIRST;
    for _ in 0..MAX_JOIN_ATTEMPTS {
        let connection = coordinator.connection(Lane::Membership).await?;
        let current = identity.get();
        let response = match join(&connection, config, &current, topics, owned).await {
            Ok(response) => response,
            Err(e) => {
                coordinator.invalidate(&connection).await;
                last_error = Some(e);
                back_off(&mut backoff).await;
                continue;
            }
        };
        match response_error(response.error_code) {
            None => {}
            Some(ResponseError::MemberIdRequired) => {
                // KIP-394: the coordinator hands out the id; join again with it.
                identity.set(response.member_id.to_string(), current.generation);
                continue;
            }
            Some(ResponseError::UnknownMemberId | ResponseError::IllegalGeneration) => {
                identity.reset(true);
                generation_lost = true;
                continue;
            }
            Some(ResponseError::RebalanceInProgress | ResponseError::CoordinatorLoadInProgress) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Some(e) if coordinator_moved(e) => {
                coordinator.invalidate_all().await;
                back_off(&mut backoff).await;
                continue;
            }
            Some(ResponseError::FencedInstanceId) => {
                return Err(GroupError::FencedInstance {
                    group: group.to_owned(),
                    instance_id: current.instance_id.unwrap_or_default(),
                })
            }
            Some(e) => {
                return Err(GroupError::Broker {
                    group: group.to_owned(),
                    api: "JoinGroup",
                    error: e,
                    hint: join_hint(e),
                })
            }
        }
        let member_id = response.member_id.to_string();
        let generation = response.generation_id;
        identity.set(member_id.clone(), generation);
        let protocol_name = response
            .protocol_name
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_default();
        let protocol = config
            .assignors
            .iter()
            .copied()
            .find(|a| a.protocol_name() == protocol_name)
            .ok_or_else(|| GroupError::UnknownProtocol {
                group: group.to_owned(),
                protocol: protocol_name.clone(),
            })?;
        let leader = response.leader == response.member_id;
        tracing::info!(group, member_id = %member_id, generation, protocol = %protocol, leader, members = response.members.len(), "joined group");
        let (assignments, assigned_from) = if leader && !response.skip_assignment {
            let (assignments, counts) =
                leader_assignments(&connection, group, protocol, &response).await?;
            (assignments, Some(counts))
        } else {
            (Vec::new(), None)
        };
        let sync = sync(
            &connection,
            group,
            &member_id,
            generation,
            &current.instance_id,
            protocol,
            assignments,
        )
        .await;
        let sync = match sync {
            Ok(sync) => sync,
            Err(e) => {
                coordinator.invalidate(&connection).await;
                last_error = Some(e);
                back_off(&mut backoff).await;
                continue;
            }
        };
        match response_error(sync.error_code) {
            None => {
                let assignment = Assignment::decode(&sync.assignment).map_err(|source| {
                    GroupError::Protocol {
                        group: group.to_owned(),
                        source,
                    }
                })?;
                return Ok(Joined {
                    generation,
                    member_id,
                    protocol,
                    leader,
                    assignment,
                    coordinator_addr: connection.addr().to_owned(),
                    assigned_from,
                    generation_lost,
                });
            }
            Some(ResponseError::RebalanceInProgress) => continue,
            Some(ResponseError::UnknownMemberId) => {
                identity.reset(true);
                generation_lost = true;
            }
            Some(ResponseError::IllegalGeneration) => {
                identity.reset(false);
                generation_lost = true;
            }
            Some(e) if coordinator_moved(e) => {
                coordinator.invalidate_all().await;
                back_off(&mut backoff).await;
            }
            Some(ResponseError::FencedInstanceId) => {
                return Err(GroupError::FencedInstance {
                    group: group.to_owned(),
                    instance_id: current.instance_id.unwrap_or_default(),
                })
            }
            Some(e) => {
                return Err(GroupError::Broker {
                    group: group.to_owned(),
                    api: "SyncGroup",
                    error: e,
                    hint: join_hint(e),
                })
            }
        }
    }
    Err(last_error.unwrap_or_else(|| GroupError::Broker {
        group: group.to_owned(),
        api: "JoinGroup",
        error: ResponseError::RebalanceInProgress,
        hint: "the group kept rebalancing; check for members that join and leave in a loop",
    }))
}

fn join_hint(error: ResponseError) -> &'static str {
    match error {
        ResponseError::InconsistentGroupProtocol => {
            "the group's members share no partition.assignment.strategy; configure a common one"
        }
        ResponseError::InvalidSessionTimeout => {
            "session.timeout.ms must lie within the broker's group.min/max.session.timeout.ms"
        }
        ResponseError::GroupAuthorizationFailed => "grant the principal Read on the group",
        ResponseError::GroupMaxSizeReached => "the group is full (group.max.size)",
        _ => "see the broker log",
    }
}

async fn join(
    connection: &BrokerConnection,
    config: &GroupConfig,
    identity: &Identity,
    topics: &[String],
    owned: &[TopicPartition],
) -> Result<JoinGroupResponse, GroupError> {
    let version = connection.version_for::<JoinGroupRequest>()?;
    let protocols = config
        .assignors
        .iter()
        .map(|&kind| {
            let subscription = Subscription {
                topics: topics.to_vec(),
                user_data: subscription_user_data(kind, identity.generation),
                owned_partitions: owned.to_vec(),
                generation_id: identity.generation,
                rack_id: config.client_rack.clone(),
            };
            JoinGroupRequestProtocol::default()
                .with_name(str_bytes(kind.protocol_name()))
                .with_metadata(subscription.encode())
        })
        .collect();
    let mut request = JoinGroupRequest::default()
        .with_group_id(GroupId(str_bytes(&config.group_id)))
        .with_session_timeout_ms(millis(config.session_timeout))
        .with_rebalance_timeout_ms(millis(config.max_poll_interval))
        .with_member_id(str_bytes(&identity.member_id))
        .with_protocol_type(str_bytes(CONSUMER_PROTOCOL_TYPE))
        .with_protocols(protocols);
    if version >= 5 {
        request = request.with_group_instance_id(identity.instance_id.as_deref().map(str_bytes));
    }
    // The broker holds JoinGroup until every member rejoined, up to the rebalance timeout;
    // Java waits that long plus 5 s.
    let timeout = config.max_poll_interval + Duration::from_secs(5);
    Ok(connection.send_with_timeout(request, timeout).await?)
}

/// The leader's job: decode every member's subscription, read partition counts, run the
/// selected assignor, encode one assignment per member. Returns the counts it used too.
async fn leader_assignments(
    connection: &BrokerConnection,
    group: &str,
    protocol: AssignorKind,
    response: &JoinGroupResponse,
) -> Result<(Vec<(String, Assignment)>, BTreeMap<String, i32>), GroupError> {
    let members = response
        .members
        .iter()
        .map(|m| {
            Ok(MemberSubscription {
                member_id: m.member_id.to_string(),
                group_instance_id: m.group_instance_id.as_ref().map(|i| i.to_string()),
                subscription: Subscription::decode(&m.metadata).map_err(|source| {
                    GroupError::Protocol {
                        group: group.to_owned(),
                        source,
                    }
                })?,
            })
        })
        .collect::<Result<Vec<_>, GroupError>>()?;
    let topics: BTreeSet<String> = members
        .iter()
        .flat_map(|m| m.subscription.topics.iter().cloned())
        .collect();
    let partitions_per_topic = partition_counts(connection, &topics).await?;
    let result = assign(protocol, &partitions_per_topic, &members);
    tracing::debug!(group, protocol = %protocol, members = members.len(), ?result, "leader computed assignment");
    let assignments = result
        .into_iter()
        .map(|(member, partitions)| {
            (
                member,
                Assignment {
                    partitions,
                    user_data: None,
                },
            )
        })
        .collect();
    Ok((assignments, partitions_per_topic))
}

/// Partition counts of the existing `topics`; missing ones are left out (Java skips them).
pub(crate) async fn partition_counts(
    connection: &BrokerConnection,
    topics: &BTreeSet<String>,
) -> Result<BTreeMap<String, i32>, GroupError> {
    let request = MetadataRequest::default()
        .with_topics(Some(
            topics
                .iter()
                .map(|t| MetadataRequestTopic::default().with_name(Some(TopicName(str_bytes(t)))))
                .collect(),
        ))
        .with_allow_auto_topic_creation(false);
    let response = connection.send(request).await?;
    Ok(response
        .topics
        .into_iter()
        .filter(|t| t.error_code == 0)
        .filter_map(|t| Some((t.name?.0.to_string(), t.partitions.len() as i32)))
        .collect())
}

async fn sync(
    connection: &BrokerConnection,
    group: &str,
    member_id: &str,
    generation: i32,
    instance_id: &Option<String>,
    protocol: AssignorKind,
    assignments: Vec<(String, Assignment)>,
) -> Result<kafka_protocol::messages::SyncGroupResponse, GroupError> {
    let version = connection.version_for::<SyncGroupRequest>()?;
    let mut request = SyncGroupRequest::default()
        .with_group_id(GroupId(str_bytes(group)))
        .with_generation_id(generation)
        .with_member_id(str_bytes(member_id))
        .with_assignments(
            assignments
                .into_iter()
                .map(|(member, assignment)| {
                    SyncGroupRequestAssignment::default()
                        .with_member_id(StrBytes::from_string(member))
                        .with_assignment(assignment.encode())
                })
                .collect(),
        );
    if version >= 3 {
        request = request.with_group_instance_id(instance_id.as_deref().map(str_bytes));
    }
    if version >= 5 {
        request = request
            .with_protocol_type(Some(str_bytes(CONSUMER_PROTOCOL_TYPE)))
            .with_protocol_name(Some(str_bytes(protocol.protocol_name())));
    }
    Ok(connection.send(request).await?)
}

/// Sends LeaveGroup for `identity`, so the coordinator rebalances at once instead of waiting
/// out the session timeout.
pub(crate) async fn leave_group(
    connection: &BrokerConnection,
    group: &str,
    identity: &Identity,
    reason: &str,
) -> Result<(), GroupError> {
    let version = connection.version_for::<LeaveGroupRequest>()?;
    let mut request = LeaveGroupRequest::default().with_group_id(GroupId(str_bytes(group)));
    request = if version >= 3 {
        let mut member = MemberIdentity::default()
            .with_member_id(str_bytes(&identity.member_id))
            .with_group_instance_id(identity.instance_id.as_deref().map(str_bytes));
        if version >= 5 {
            member = member.with_reason(Some(str_bytes(reason)));
        }
        request.with_members(vec![member])
    } else {
        request.with_member_id(str_bytes(&identity.member_id))
    };
    let response = connection.send(request).await?;
    let error = response_error(response.error_code).or_else(|| {
        response
            .members
            .iter()
            .find_map(|m| response_error(m.error_code))
    });
    match error {
        // Already gone: what we wanted.
        None | Some(ResponseError::UnknownMemberId) => {
            tracing::info!(group, member_id = %identity.member_id, generation = identity.generation, reason, "left group");
            Ok(())
        }
        Some(e) => Err(GroupError::Broker {
            group: group.to_owned(),
            api: "LeaveGroup",
            error: e,
            hint: "the coordinator will evict the member after session.timeout.ms",
        }),
    }
}

fn millis(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}
