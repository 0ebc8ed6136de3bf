//! Java's RangeAssignor (without rack awareness): per topic, the sorted subscribers each get a
//! consecutive range; the first `partitions % subscribers` get one extra.

use std::collections::BTreeMap;

use super::{empty_assignment, member_order, GroupAssignment, MemberSubscription};
use crate::group::TopicPartition;

pub(super) fn assign(
    partitions_per_topic: &BTreeMap<String, i32>,
    members: &[MemberSubscription],
) -> GroupAssignment {
    let mut assignment = empty_assignment(members);
    for (topic, &partitions) in partitions_per_topic {
        let mut subscribers: Vec<&MemberSubscription> = members
            .iter()
            .filter(|m| m.subscription.topics.iter().any(|t| t == topic))
            .collect();
        if subscribers.is_empty() {
            continue;
        }
        subscribers.sort_by(|a, b| member_order(a, b));
        let count = subscribers.len() as i32;
        let per_member = partitions / count;
        let with_extra = partitions % count;
        for (i, member) in subscribers.iter().enumerate() {
            let i = i as i32;
            let start = per_member * i + i.min(with_extra);
            let length = per_member + i32::from(i < with_extra);
            assignment
                .get_mut(&member.member_id)
                .expect("every member has an entry")
                .extend((start..start + length).map(|p| TopicPartition::new(topic.clone(), p)));
        }
    }
    assignment
}
