//! CooperativeStickyAssignor: a balanced assignment that keeps every member's owned partitions
//! where balance allows, and — the cooperative part — never gives a partition to a new owner in
//! the same generation its previous owner still holds it. The previous owner revokes it after
//! this rebalance and rejoins; the follow-up rebalance hands it over. So only moved partitions
//! stop, and never two members hold one partition at once.

use std::collections::{BTreeMap, BTreeSet};

use super::{member_order, GroupAssignment, MemberSubscription};
use crate::group::TopicPartition;

pub(super) fn assign(
    partitions_per_topic: &BTreeMap<String, i32>,
    members: &[MemberSubscription],
) -> GroupAssignment {
    let mut sorted: Vec<&MemberSubscription> = members.iter().collect();
    sorted.sort_by(|a, b| member_order(a, b));
    let subscribes = |m: &MemberSubscription, tp: &TopicPartition| {
        m.subscription.topics.contains(&tp.topic)
            && partitions_per_topic
                .get(&tp.topic)
                .is_some_and(|&n| tp.partition < n)
    };

    let previous_owner = resolve_previous_owners(&sorted, &subscribes);
    let mut current: Vec<BTreeSet<TopicPartition>> = vec![BTreeSet::new(); sorted.len()];
    for (tp, &owner) in &previous_owner {
        current[owner].insert(tp.clone());
    }

    // Every partition someone subscribes to and nobody validly owns goes to the least loaded
    // subscriber.
    let all_partitions: BTreeSet<TopicPartition> = sorted
        .iter()
        .flat_map(|m| m.subscription.topics.iter())
        .filter_map(|t| partitions_per_topic.get_key_value(t))
        .flat_map(|(t, &n)| (0..n).map(move |p| TopicPartition::new(t.clone(), p)))
        .collect();
    for tp in &all_partitions {
        if previous_owner.contains_key(tp) {
            continue;
        }
        if let Some(target) = (0..sorted.len())
            .filter(|&i| subscribes(sorted[i], tp))
            .min_by_key(|&i| (current[i].len(), i))
        {
            current[target].insert(tp.clone());
        }
    }

    balance(&sorted, &mut current, &subscribes);

    let mut assignment = GroupAssignment::new();
    for (i, member) in sorted.iter().enumerate() {
        // Cooperative rule: a partition moving away from a member that still owns it is left
        // out this generation.
        let partitions = current[i]
            .iter()
            .filter(|tp| previous_owner.get(*tp).is_none_or(|&owner| owner == i))
            .cloned()
            .collect();
        assignment.insert(member.member_id.clone(), partitions);
    }
    assignment
}

/// Moves partitions from the most to the least loaded eligible member until no move can narrow
/// the gap, taking the highest-numbered partitions first so low ones stay put.
fn balance(
    members: &[&MemberSubscription],
    current: &mut [BTreeSet<TopicPartition>],
    subscribes: &impl Fn(&MemberSubscription, &TopicPartition) -> bool,
) {
    loop {
        let mut moved = false;
        let mut by_load: Vec<usize> = (0..members.len()).collect();
        by_load.sort_by_key(|&i| (std::cmp::Reverse(current[i].len()), i));
        'donors: for &donor in &by_load {
            let candidates: Vec<TopicPartition> = current[donor].iter().rev().cloned().collect();
            for tp in candidates {
                let receiver = (0..members.len())
                    .filter(|&r| r != donor && subscribes(members[r], &tp))
                    .filter(|&r| current[r].len() + 1 < current[donor].len())
                    .min_by_key(|&r| (current[r].len(), r));
                if let Some(receiver) = receiver {
                    current[donor].remove(&tp);
                    current[receiver].insert(tp);
                    moved = true;
                    break 'donors;
                }
            }
        }
        if !moved {
            return;
        }
    }
}

/// Who validly owned each partition before this rebalance: a member still subscribed to it,
/// with the highest generation among its claimants. A claim tied at the highest generation is
/// a conflict; such a partition counts as unowned.
fn resolve_previous_owners(
    members: &[&MemberSubscription],
    subscribes: &impl Fn(&MemberSubscription, &TopicPartition) -> bool,
) -> BTreeMap<TopicPartition, usize> {
    let mut claims: BTreeMap<TopicPartition, (i32, Option<usize>)> = BTreeMap::new();
    for (i, member) in members.iter().enumerate() {
        let generation = member_generation(member);
        for tp in &member.subscription.owned_partitions {
            if !subscribes(member, tp) {
                continue;
            }
            match claims.get_mut(tp) {
                None => {
                    claims.insert(tp.clone(), (generation, Some(i)));
                }
                Some(claim) if generation > claim.0 => *claim = (generation, Some(i)),
                Some(claim) if generation == claim.0 => {
                    tracing::warn!(partition = %tp, generation, "two members claim one partition in the same generation; reassigning it");
                    claim.1 = None;
                }
                Some(_) => {}
            }
        }
    }
    claims
        .into_iter()
        .filter_map(|(tp, (_, owner))| owner.map(|o| (tp, o)))
        .collect()
}

/// The generation a member's owned partitions are from: subscription v2+ carries it; older
/// members put it in the user data as one i32.
fn member_generation(member: &MemberSubscription) -> i32 {
    if member.subscription.generation_id >= 0 {
        return member.subscription.generation_id;
    }
    match member.subscription.user_data.as_deref() {
        Some(&[a, b, c, d]) => i32::from_be_bytes([a, b, c, d]),
        _ => -1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::protocol::Subscription;

    fn tp(topic: &str, p: i32) -> TopicPartition {
        TopicPartition::new(topic, p)
    }

    fn member(id: &str, topics: &[&str], owned: &[TopicPartition], gen: i32) -> MemberSubscription {
        MemberSubscription {
            member_id: id.into(),
            group_instance_id: None,
            subscription: Subscription {
                topics: topics.iter().map(|t| t.to_string()).collect(),
                owned_partitions: owned.to_vec(),
                generation_id: gen,
                ..Default::default()
            },
        }
    }

    fn topics(list: &[(&str, i32)]) -> BTreeMap<String, i32> {
        list.iter().map(|(t, n)| (t.to_string(), *n)).collect()
    }

    #[test]
    fn fresh_group_is_balanced_with_no_overlap() {
        let members: Vec<_> = ["a", "b", "c"]
            .iter()
            .map(|id| member(id, &["t"], &[], -1))
            .collect();
        let result = assign(&topics(&[("t", 8)]), &members);
        let sizes: Vec<usize> = result.values().map(Vec::len).collect();
        assert_eq!(sizes.iter().sum::<usize>(), 8);
        assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
        let all: BTreeSet<_> = result.values().flatten().collect();
        assert_eq!(all.len(), 8);
    }

    #[test]
    fn joining_member_gets_nothing_that_is_still_owned_elsewhere() {
        let owned: Vec<_> = (0..6).map(|p| tp("t", p)).collect();
        let members = vec![member("a", &["t"], &owned, 3), member("b", &["t"], &[], -1)];
        let result = assign(&topics(&[("t", 6)]), &members);
        // a keeps three of its six; the three it gives up are assigned to nobody this round.
        assert_eq!(result["a"].len(), 3);
        assert!(result["a"].iter().all(|p| owned.contains(p)));
        assert!(result["b"].is_empty());
    }

    #[test]
    fn second_round_hands_revoked_partitions_over() {
        let kept: Vec<_> = (0..3).map(|p| tp("t", p)).collect();
        let members = vec![member("a", &["t"], &kept, 4), member("b", &["t"], &[], -1)];
        let result = assign(&topics(&[("t", 6)]), &members);
        assert_eq!(result["a"], kept);
        assert_eq!(result["b"], vec![tp("t", 3), tp("t", 4), tp("t", 5)]);
    }

    #[test]
    fn a_leaving_members_partitions_move_at_once_and_others_keep_theirs() {
        let members = vec![
            member("a", &["t"], &[tp("t", 0), tp("t", 1)], 5),
            member("c", &["t"], &[tp("t", 4), tp("t", 5)], 5),
        ];
        let result = assign(&topics(&[("t", 6)]), &members);
        assert!(result["a"].contains(&tp("t", 0)) && result["a"].contains(&tp("t", 1)));
        assert!(result["c"].contains(&tp("t", 4)) && result["c"].contains(&tp("t", 5)));
        assert_eq!(result["a"].len(), 3);
        assert_eq!(result["a"].len() + result["c"].len(), 6);
    }

    #[test]
    fn stale_generation_claims_lose_to_newer_ones() {
        let members = vec![
            member("a", &["t"], &[tp("t", 0)], 2),
            member("b", &["t"], &[tp("t", 0)], 7),
        ];
        let result = assign(&topics(&[("t", 2)]), &members);
        assert_eq!(result["b"], vec![tp("t", 0)]);
        assert_eq!(result["a"], vec![tp("t", 1)]);
    }

    #[test]
    fn generation_from_user_data_of_pre_v2_members() {
        let mut old = member("a", &["t"], &[tp("t", 0)], -1);
        old.subscription.user_data = Some(bytes::Bytes::copy_from_slice(&9i32.to_be_bytes()));
        assert_eq!(member_generation(&old), 9);
    }
}
