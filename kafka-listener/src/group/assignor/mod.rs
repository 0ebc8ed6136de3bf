//! Partition assignors, run by the group leader over every member's subscription. Range and
//! roundrobin give exactly kafka-clients' results (checked against vectors its own classes
//! produced, see `java_vectors.json`); cooperative-sticky keeps owned partitions where balance
//! allows and never hands a partition to a new owner in the generation its old owner gives it up.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::protocol::Subscription;
use super::{AssignorKind, TopicPartition};

mod cooperative_sticky;
mod range;
mod round_robin;

/// One member's JoinGroup entry as the leader sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberSubscription {
    /// The member id the coordinator gave it.
    pub member_id: String,
    /// Its `group.instance.id`, if static.
    pub group_instance_id: Option<String>,
    /// Its decoded subscription.
    pub subscription: Subscription,
}

/// The partitions each member (by member id) gets. Every member of the input has an entry.
pub type GroupAssignment = BTreeMap<String, Vec<TopicPartition>>;

/// Runs `kind` over `members`, with `partitions_per_topic` from the cluster metadata. Topics a
/// member subscribes to that are missing from the metadata are skipped, as Java does.
///
/// ```
/// use std::collections::BTreeMap;
/// use kafka_listener::group::{assign, AssignorKind, MemberSubscription, Subscription};
///
/// let member = |id: &str| MemberSubscription {
///     member_id: id.into(),
///     group_instance_id: None,
///     subscription: Subscription { topics: vec!["orders".into()], ..Default::default() },
/// };
/// let topics = BTreeMap::from([("orders".to_string(), 3)]);
/// let result = assign(AssignorKind::Range, &topics, &[member("b"), member("a")]);
/// assert_eq!(result["a"].len(), 2);
/// assert_eq!(result["b"].len(), 1);
/// ```
pub fn assign(
    kind: AssignorKind,
    partitions_per_topic: &BTreeMap<String, i32>,
    members: &[MemberSubscription],
) -> GroupAssignment {
    match kind {
        AssignorKind::Range => range::assign(partitions_per_topic, members),
        AssignorKind::RoundRobin => round_robin::assign(partitions_per_topic, members),
        AssignorKind::CooperativeSticky => {
            cooperative_sticky::assign(partitions_per_topic, members)
        }
    }
}

/// The user data a member of `kind` sends in its subscription. Java's CooperativeStickyAssignor
/// writes the generation (an i32) there for members that predate subscription v2.
pub fn subscription_user_data(kind: AssignorKind, generation: i32) -> Option<bytes::Bytes> {
    match kind {
        AssignorKind::CooperativeSticky => {
            Some(bytes::Bytes::copy_from_slice(&generation.to_be_bytes()))
        }
        AssignorKind::Range | AssignorKind::RoundRobin => None,
    }
}

/// Java's `MemberInfo` order: static members first by instance id, then dynamic ones by
/// member id.
fn member_order(a: &MemberSubscription, b: &MemberSubscription) -> Ordering {
    match (&a.group_instance_id, &b.group_instance_id) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.member_id.cmp(&b.member_id),
    }
}

fn empty_assignment(members: &[MemberSubscription]) -> GroupAssignment {
    members
        .iter()
        .map(|m| (m.member_id.clone(), Vec::new()))
        .collect()
}

#[cfg(test)]
mod java_vectors {
    //! The range and roundrobin results must equal what kafka-clients' own assignor classes
    //! compute. Regenerate the vectors with tests/interop/assignors-java/regenerate.sh.

    use super::*;
    use serde_json::Value;

    const VECTORS: &str = include_str!("java_vectors.json");

    fn as_str(v: &Value) -> String {
        v.as_str().expect("string").to_owned()
    }

    #[test]
    fn range_and_roundrobin_match_kafka_clients_on_every_vector() {
        let root: Value = serde_json::from_str(VECTORS).expect("vectors parse");
        let vectors = root["vectors"].as_array().expect("vector list");
        assert!(vectors.len() >= 80, "expected the full vector set");
        for vector in vectors {
            let kind: AssignorKind = vector["assignor"].as_str().unwrap().parse().unwrap();
            let topics: BTreeMap<String, i32> = vector["topics"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_i64().unwrap() as i32))
                .collect();
            let members: Vec<MemberSubscription> = vector["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| MemberSubscription {
                    member_id: as_str(&m["member_id"]),
                    group_instance_id: m["group_instance_id"].as_str().map(str::to_owned),
                    subscription: Subscription {
                        topics: m["topics"].as_array().unwrap().iter().map(as_str).collect(),
                        ..Default::default()
                    },
                })
                .collect();
            let expected: GroupAssignment = vector["assignment"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(member, partitions)| {
                    let mut partitions: Vec<TopicPartition> = partitions
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|tp| {
                            TopicPartition::new(as_str(&tp[0]), tp[1].as_i64().unwrap() as i32)
                        })
                        .collect();
                    partitions.sort();
                    (member.clone(), partitions)
                })
                .collect();
            let mut actual = assign(kind, &topics, &members);
            actual.values_mut().for_each(|p| p.sort());
            assert_eq!(
                actual, expected,
                "{kind} differs from Java on scenario {}",
                vector["scenario"]
            );
        }
    }
}
