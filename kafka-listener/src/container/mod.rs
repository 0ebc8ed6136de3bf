//! The listener container: group members, per-partition ordered dispatch, ack-mode commit
//! policies and graceful shutdown.

mod fetch;
mod offset_tracker;

pub use fetch::{FetchError, FetchSettings, Fetched, PartitionFetcher};

pub use offset_tracker::{AckRejected, OffsetTracker};
