//! The listener container: group members, per-partition ordered dispatch, ack-mode commit
//! policies and graceful shutdown.

mod ack_events;
mod assigned;
mod commit_policy;
mod events;
mod from_config;
mod handler_glue;
mod lanes;
mod member;
mod offset_tracker;
mod subscription;
mod worker;

pub use crate::client::fetch::{FetchError, FetchSettings, Fetched, PartitionFetcher};
pub use commit_policy::{CommitPolicy, CommitSchedule};

pub use ack_events::{AckEvent, AckEventReceiver, AckEvents};
pub use assigned::{run_assigned, Assignment};
pub use events::ContainerEvent;
pub use from_config::{
    ack_mode_policy, commit_policy_for, fetch_settings_for, worker_settings_for,
};
pub use handler_glue::{batch_dispatch, record_dispatch};
pub use lanes::{DispatchOrdering, Parallelism};
pub use member::{run_member, MemberControl, MemberEnvironment, MemberSettings};
pub use offset_tracker::{AckRejected, OffsetTracker};
pub use subscription::{Subscription, TopicPattern};
pub use worker::{
    spawn_partition_worker, spawn_worker, BatchDispatch, HandlerClock, ListenerDispatch,
    PartitionCommitter, PartitionIdentity, RecordSource, ResetPolicy, SeekTo, WorkerHandle,
    WorkerSettings, WorkerStopped,
};
