//! The listener container: group members, per-partition ordered dispatch, ack-mode commit
//! policies and graceful shutdown.

mod commit_policy;
mod fetch;
mod offset_tracker;

pub use commit_policy::{CommitPolicy, CommitSchedule};
pub use fetch::{FetchError, FetchSettings, Fetched, PartitionFetcher};

pub use offset_tracker::{AckRejected, OffsetTracker};
