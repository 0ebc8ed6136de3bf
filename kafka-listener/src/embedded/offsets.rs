//! Committed offsets per group: OffsetCommit validation as Kafka's `ClassicGroup` does it, and
//! OffsetFetch lookups.

use std::collections::BTreeMap;

use kafka_protocol::protocol::StrBytes;

use super::codes;
use super::coordinator::Coordinator;
use super::group::{CommittedOffset, Group, GroupState};
use super::membership::validate_member;

/// Who commits, and under which generation.
pub(crate) struct CommitRequest<'a> {
    pub(crate) group_id: &'a str,
    pub(crate) generation_id: i32,
    pub(crate) member_id: &'a str,
    pub(crate) instance_id: Option<&'a StrBytes>,
    pub(crate) version: i16,
}

/// Kafka's `validateOffsetCommit` for classic groups.
fn validate(group: &Group, request: &CommitRequest<'_>) -> Result<(), i16> {
    if request.generation_id < 0 && group.state == GroupState::Empty {
        // A group that only stores offsets (admin tools, manual assignment).
        return Ok(());
    }
    if request.generation_id >= 0 || !request.member_id.is_empty() || request.instance_id.is_some()
    {
        validate_member(group, request.member_id, request.instance_id)?;
        if request.generation_id != group.generation_id {
            return Err(codes::ILLEGAL_GENERATION);
        }
    } else if group.state != GroupState::Empty {
        return Err(codes::UNKNOWN_MEMBER_ID);
    }
    if group.state == GroupState::CompletingRebalance {
        return Err(codes::REBALANCE_IN_PROGRESS);
    }
    Ok(())
}

/// Stores `offsets` (topic, partition, offset, leader epoch, metadata) when the commit is
/// valid; returns the error code for every partition.
pub(crate) fn commit(
    coordinator: &Coordinator,
    request: &CommitRequest<'_>,
    offsets: &[(String, i32, i64, i32, Option<String>)],
) -> i16 {
    if request.group_id.is_empty() {
        return codes::INVALID_GROUP_ID;
    }
    coordinator.with_groups(|groups| {
        if !groups.contains_key(request.group_id) {
            if request.generation_id >= 0 {
                // Kafka: a member commit to a group it does not know.
                return if request.version >= 9 {
                    codes::GROUP_ID_NOT_FOUND
                } else {
                    codes::ILLEGAL_GENERATION
                };
            }
            groups.insert(request.group_id.to_owned(), Group::new(request.group_id));
        }
        let group = groups.get_mut(request.group_id).expect("inserted above");
        if let Err(code) = validate(group, request) {
            return code;
        }
        for (topic, partition, offset, leader_epoch, metadata) in offsets {
            group.offsets.insert(
                (topic.clone(), *partition),
                CommittedOffset {
                    offset: *offset,
                    leader_epoch: *leader_epoch,
                    metadata: metadata.clone(),
                },
            );
        }
        codes::NONE
    })
}

/// Committed offsets of a group for the requested partitions (`None`: every committed one).
/// Partitions without a commit get offset -1, as Kafka answers.
pub(crate) fn fetch(
    coordinator: &Coordinator,
    group_id: &str,
    wanted: Option<Vec<(String, Vec<i32>)>>,
) -> Vec<(String, Vec<(i32, CommittedOffset)>)> {
    let none = CommittedOffset {
        offset: -1,
        leader_epoch: -1,
        metadata: Some(String::new()),
    };
    coordinator.with_groups(|groups| {
        let group = groups.get(group_id);
        match wanted {
            Some(topics) => topics
                .into_iter()
                .map(|(topic, partitions)| {
                    let found = partitions
                        .into_iter()
                        .map(|p| {
                            let c = group
                                .and_then(|g| g.offsets.get(&(topic.clone(), p)))
                                .cloned();
                            (p, c.unwrap_or_else(|| none.clone()))
                        })
                        .collect();
                    (topic, found)
                })
                .collect(),
            None => {
                let mut by_topic: BTreeMap<String, Vec<(i32, CommittedOffset)>> = BTreeMap::new();
                for ((topic, p), c) in group.map(|g| &g.offsets).into_iter().flatten() {
                    by_topic
                        .entry(topic.clone())
                        .or_default()
                        .push((*p, c.clone()));
                }
                by_topic.into_iter().collect()
            }
        }
    })
}
