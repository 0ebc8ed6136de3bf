//! The listener container: group members, per-partition ordered dispatch, ack-mode commit
//! policies and graceful shutdown.

mod ack_events;
mod assigned;
mod commit_policy;
mod events;
mod handler_glue;
mod lanes;
mod member;
mod offset_tracker;
mod subscription;
mod worker;

// What applications name: the events, seeks, the ack-mode policy and parallelism settings.
pub use commit_policy::CommitPolicy;
pub use events::ContainerEvent;
pub use lanes::{DispatchOrdering, Parallelism};
pub use member::MemberControl;
pub use worker::SeekTo;

// The container's machinery, public for the app, the benches and the tests; not an API.
#[doc(hidden)]
pub use crate::client::fetch::{FetchError, FetchSettings, Fetched, PartitionFetcher};
#[doc(hidden)]
pub use ack_events::{AckEvent, AckEventReceiver, AckEvents};
#[doc(hidden)]
pub use assigned::{run_assigned, Assignment};
#[doc(hidden)]
pub use commit_policy::CommitSchedule;
#[doc(hidden)]
pub use handler_glue::{batch_dispatch, record_dispatch};
#[doc(hidden)]
pub use member::{run_member, MemberEnvironment, MemberSettings};
#[doc(hidden)]
pub use offset_tracker::{AckRejected, OffsetTracker};
#[doc(hidden)]
pub use subscription::{Subscription, TopicPattern};
#[doc(hidden)]
pub use worker::{
    spawn_partition_worker, spawn_worker, BatchDispatch, HandlerClock, ListenerDispatch,
    PartitionCommitter, PartitionIdentity, RecordSource, WorkerHandle, WorkerSettings,
    WorkerStopped,
};
