//! The classic consumer-group protocol on `kafka-protocol`.
//!
//! A [`GroupMember`] finds the group coordinator, joins (JoinGroup with the member-id-required
//! retry), computes the assignment when it is the leader, syncs, heartbeats from its own task
//! on its own connection, commits and fetches offsets, and leaves on close. Its subscription and
//! assignment bytes are kafka-clients' ConsumerProtocol, so Java and librdkafka consumers share
//! groups with it. rskafka stays the fetch/produce path.
//!
//! Connections: JoinGroup/SyncGroup/LeaveGroup, commits/offset fetches and heartbeats each use
//! their own connection to the coordinator, because a broker serves one request per connection
//! at a time and holds JoinGroup/SyncGroup for the whole rebalance.
//!
//! Known differences from kafka-clients: the range assignor is not rack-aware (Java's is when
//! both members and partitions carry racks); cooperative-sticky gives a balanced, sticky,
//! incremental assignment by its own algorithm, so its exact choice of which partitions move
//! can differ from Java's (range and roundrobin match Java exactly).

mod assignor;
mod config;
mod coordinator;
mod error;
mod heartbeat;
mod identity;
mod listener;
mod member;
mod membership;
mod offsets;
mod protocol;
mod reset;
mod topic_partition;

// The consumer protocol's pieces: the member and the embedded broker use them; not an API.
#[doc(hidden)]
pub use assignor::{assign, subscription_user_data, GroupAssignment, MemberSubscription};
pub use config::{AssignorKind, AutoOffsetReset, GroupConfig, InvalidOffsetReset, UnknownAssignor};
pub use error::GroupError;
pub use listener::{BoxFuture, RebalanceListener};
pub use member::{AssignmentChange, GroupMember};
#[doc(hidden)]
pub use offsets::PendingCommit;
pub use offsets::{OffsetAndMetadata, OffsetCommitter};
#[doc(hidden)]
pub use protocol::{
    Assignment, ProtocolError, Subscription, CONSUMER_PROTOCOL_TYPE, CONSUMER_PROTOCOL_VERSION,
};
pub(crate) use reset::starting_offsets;
pub use topic_partition::TopicPartition;
