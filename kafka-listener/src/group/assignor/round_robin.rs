//! Java's RoundRobinAssignor: every subscribed partition, sorted by topic then partition, is
//! dealt to the next member in Java's member order that subscribes to its topic.

use std::collections::{BTreeMap, BTreeSet};

use super::{empty_assignment, member_order, GroupAssignment, MemberSubscription};
use crate::group::TopicPartition;

pub(super) fn assign(
    partitions_per_topic: &BTreeMap<String, i32>,
    members: &[MemberSubscription],
) -> GroupAssignment {
    let mut assignment = empty_assignment(members);
    let mut sorted: Vec<&MemberSubscription> = members.iter().collect();
    sorted.sort_by(|a, b| member_order(a, b));
    let subscribed: BTreeSet<&str> = members
        .iter()
        .flat_map(|m| m.subscription.topics.iter().map(String::as_str))
        .collect();
    let mut next = 0usize;
    for topic in subscribed {
        let Some(&partitions) = partitions_per_topic.get(topic) else {
            continue;
        };
        for partition in 0..partitions {
            // Some member subscribes to `topic`, so this search ends within one lap.
            while !sorted[next % sorted.len()]
                .subscription
                .topics
                .iter()
                .any(|t| t == topic)
            {
                next += 1;
            }
            let member = sorted[next % sorted.len()];
            next += 1;
            assignment
                .get_mut(&member.member_id)
                .expect("every member has an entry")
                .push(TopicPartition::new(topic, partition));
        }
    }
    assignment
}
