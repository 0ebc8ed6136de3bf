//! The member's identity in the group (member id, generation), shared by the member, its
//! heartbeat task and its committers, and the signals they send the member.

use std::sync::{Arc, Mutex};

use kafka_protocol::ResponseError;

/// Generation -1: not in any generation (Java's `Generation.NO_GENERATION`).
pub(crate) const NO_GENERATION: i32 = -1;

/// Who we are in the group right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub(crate) member_id: String,
    pub(crate) generation: i32,
    pub(crate) instance_id: Option<String>,
}

impl Identity {
    pub(crate) fn in_generation(&self) -> bool {
        self.generation != NO_GENERATION && !self.member_id.is_empty()
    }
}

/// The identity cell shared with the heartbeat task and committers.
#[derive(Debug, Clone)]
pub(crate) struct SharedIdentity(Arc<Mutex<Identity>>);

impl SharedIdentity {
    pub(crate) fn new(instance_id: Option<String>) -> Self {
        Self(Arc::new(Mutex::new(Identity {
            member_id: String::new(),
            generation: NO_GENERATION,
            instance_id,
        })))
    }

    pub(crate) fn get(&self) -> Identity {
        self.0.lock().expect("identity lock").clone()
    }

    pub(crate) fn set(&self, member_id: String, generation: i32) {
        let mut identity = self.0.lock().expect("identity lock");
        identity.member_id = member_id;
        identity.generation = generation;
    }

    /// Drops the generation; with `forget_member_id` also the member id (UNKNOWN_MEMBER_ID,
    /// fencing), so the next JoinGroup starts from scratch.
    pub(crate) fn reset(&self, forget_member_id: bool) {
        let mut identity = self.0.lock().expect("identity lock");
        identity.generation = NO_GENERATION;
        if forget_member_id {
            identity.member_id.clear();
        }
    }
}

/// What the heartbeat task and committers tell the member; it acts on them in its next poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// The group is rebalancing: rejoin (revoking first as the protocol requires).
    RejoinNeeded,
    /// The member was fenced (UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID):
    /// its partitions are lost.
    Fenced(ResponseError),
    /// The coordinator connection broke or the coordinator moved.
    CoordinatorLost,
    /// The owner did not poll within max.poll.interval.ms; the member left the group.
    PollIntervalExceeded,
}
