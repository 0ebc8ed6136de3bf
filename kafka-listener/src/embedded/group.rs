//! One classic consumer group's state, as Kafka's `ClassicGroup` keeps it: members, generation,
//! the chosen protocol, and the responses parked until a rebalance phase completes.

use std::collections::{BTreeMap, HashMap, HashSet};

use bytes::Bytes;
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::{JoinGroupResponse, SyncGroupResponse};
use tokio::sync::oneshot;
use tokio::time::Instant;

/// Kafka's classic group states; the names are the strings DescribeGroups and ListGroups use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupState {
    /// No members (maybe committed offsets).
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Joined; waiting for the leader's assignment.
    CompletingRebalance,
    /// Assignment distributed; members heartbeat.
    Stable,
}

impl GroupState {
    /// The name Kafka reports for the state.
    pub(crate) fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
        }
    }
}

/// One member of a group.
#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) member_id: String,
    pub(crate) group_instance_id: Option<String>,
    pub(crate) client_id: String,
    pub(crate) client_host: String,
    pub(crate) session_timeout_ms: i32,
    pub(crate) rebalance_timeout_ms: i32,
    /// Protocols in the member's order of preference, with their metadata.
    pub(crate) protocols: Vec<(String, Bytes)>,
    pub(crate) assignment: Bytes,
    pub(crate) join_waiter: Option<oneshot::Sender<JoinGroupResponse>>,
    pub(crate) sync_waiter: Option<oneshot::Sender<SyncGroupResponse>>,
    /// When the session expires without a heartbeat.
    pub(crate) session_deadline: Instant,
    /// Joined during the current rebalance (not yet in a generation).
    pub(crate) is_new: bool,
}

impl Member {
    /// The member's metadata for `protocol`.
    pub(crate) fn metadata(&self, protocol: &str) -> Bytes {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, m)| m.clone())
            .unwrap_or_default()
    }

    /// `true` when the member would join with exactly these protocols again.
    pub(crate) fn same_protocols(&self, protocols: &[(String, Bytes)]) -> bool {
        self.protocols == protocols
    }
}

/// A committed offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommittedOffset {
    pub(crate) offset: i64,
    pub(crate) leader_epoch: i32,
    pub(crate) metadata: Option<String>,
}

/// A classic group.
#[derive(Debug)]
pub(crate) struct Group {
    pub(crate) id: String,
    pub(crate) state: GroupState,
    pub(crate) generation_id: i32,
    pub(crate) protocol_type: Option<String>,
    pub(crate) protocol_name: Option<String>,
    pub(crate) leader: Option<String>,
    /// Members in join order (Kafka keeps a LinkedHashMap; the first becomes leader).
    pub(crate) members: IndexMap<String, Member>,
    /// Member ids handed out with MEMBER_ID_REQUIRED whose owners have not joined yet.
    pub(crate) pending_members: HashSet<String>,
    /// group.instance.id → member id of static members.
    pub(crate) static_members: HashMap<String, String>,
    pub(crate) offsets: BTreeMap<(String, i32), CommittedOffset>,
    /// Identifies the current rebalance, so a stale timer does nothing.
    pub(crate) rebalance_epoch: u64,
    /// This rebalance started from Empty (Kafka's InitialDelayedJoin).
    pub(crate) initial_rebalance: bool,
    /// A member joined since the initial-delay timer last fired.
    pub(crate) new_member_added: bool,
}

impl Group {
    pub(crate) fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            state: GroupState::Empty,
            generation_id: 0,
            protocol_type: None,
            protocol_name: None,
            leader: None,
            members: IndexMap::new(),
            pending_members: HashSet::new(),
            static_members: HashMap::new(),
            offsets: BTreeMap::new(),
            rebalance_epoch: 0,
            initial_rebalance: false,
            new_member_added: false,
        }
    }

    /// Protocols every current member supports.
    fn candidate_protocols(&self) -> Option<HashSet<&str>> {
        let mut members = self.members.values();
        let first = members.next()?;
        let mut set: HashSet<&str> = first.protocols.iter().map(|(n, _)| n.as_str()).collect();
        for m in members {
            let theirs: HashSet<&str> = m.protocols.iter().map(|(n, _)| n.as_str()).collect();
            set.retain(|p| theirs.contains(p));
        }
        Some(set)
    }

    /// Whether a member with this protocol type and protocols may join (Kafka's
    /// `supportsProtocols`): same type, and at least one protocol every member supports.
    pub(crate) fn supports_protocols(
        &self,
        protocol_type: &str,
        protocols: &[(String, Bytes)],
    ) -> bool {
        if protocol_type.is_empty() || protocols.is_empty() {
            return false;
        }
        if self.members.is_empty() {
            return true;
        }
        if self.protocol_type.as_deref() != Some(protocol_type) {
            return false;
        }
        let candidates = self.candidate_protocols().unwrap_or_default();
        protocols
            .iter()
            .any(|(n, _)| candidates.contains(n.as_str()))
    }

    /// Kafka's vote: among the protocols all members support, each member votes for its most
    /// preferred one; the most votes wins (ties to the earliest member's choice).
    pub(crate) fn select_protocol(&self) -> Option<String> {
        let candidates = self.candidate_protocols()?;
        let mut votes: IndexMap<&str, usize> = IndexMap::new();
        for m in self.members.values() {
            if let Some((name, _)) = m
                .protocols
                .iter()
                .find(|(n, _)| candidates.contains(n.as_str()))
            {
                *votes.entry(name.as_str()).or_default() += 1;
            }
        }
        let max = votes.values().copied().max()?;
        votes
            .into_iter()
            .find(|(_, v)| *v == max)
            .map(|(name, _)| name.to_owned())
    }

    /// Every member is waiting in JoinGroup and no handed-out member id is still unused.
    pub(crate) fn all_members_joined(&self) -> bool {
        self.pending_members.is_empty() && self.members.values().all(|m| m.join_waiter.is_some())
    }

    /// The longest rebalance timeout among members (how long a rebalance may wait for them).
    pub(crate) fn max_rebalance_timeout_ms(&self) -> i32 {
        self.members
            .values()
            .map(|m| m.rebalance_timeout_ms)
            .max()
            .unwrap_or(0)
    }

    /// Removes a member, keeping leader and static mappings consistent.
    pub(crate) fn remove_member(&mut self, member_id: &str) -> Option<Member> {
        let member = self.members.shift_remove(member_id)?;
        if let Some(instance) = &member.group_instance_id {
            if self.static_members.get(instance).map(String::as_str) == Some(member_id) {
                self.static_members.remove(instance);
            }
        }
        if self.leader.as_deref() == Some(member_id) {
            self.leader = self.members.keys().next().cloned();
        }
        if self.members.is_empty() {
            self.protocol_type = None;
        }
        Some(member)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, protocols: &[&str]) -> Member {
        Member {
            member_id: id.into(),
            group_instance_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            session_timeout_ms: 10_000,
            rebalance_timeout_ms: 30_000,
            protocols: protocols
                .iter()
                .map(|p| ((*p).to_owned(), Bytes::new()))
                .collect(),
            assignment: Bytes::new(),
            join_waiter: None,
            sync_waiter: None,
            session_deadline: Instant::now(),
            is_new: false,
        }
    }

    #[test]
    fn protocol_selection_picks_the_most_preferred_common_protocol() {
        let mut g = Group::new("g");
        g.protocol_type = Some("consumer".into());
        g.members
            .insert("a".into(), member("a", &["range", "roundrobin"]));
        g.members
            .insert("b".into(), member("b", &["roundrobin", "range"]));
        g.members.insert("c".into(), member("c", &["roundrobin"]));
        assert_eq!(g.select_protocol().as_deref(), Some("roundrobin"));
    }

    #[test]
    fn a_member_without_a_common_protocol_cannot_join() {
        let mut g = Group::new("g");
        g.protocol_type = Some("consumer".into());
        g.members.insert("a".into(), member("a", &["range"]));
        let sticky = vec![("sticky".to_owned(), Bytes::new())];
        let range = vec![("range".to_owned(), Bytes::new())];
        assert!(!g.supports_protocols("consumer", &sticky));
        assert!(g.supports_protocols("consumer", &range));
        assert!(!g.supports_protocols("connect", &range));
    }

    #[test]
    fn removing_the_leader_promotes_the_next_member() {
        let mut g = Group::new("g");
        g.members.insert("a".into(), member("a", &["range"]));
        g.members.insert("b".into(), member("b", &["range"]));
        g.leader = Some("a".into());
        g.remove_member("a");
        assert_eq!(g.leader.as_deref(), Some("b"));
    }
}
