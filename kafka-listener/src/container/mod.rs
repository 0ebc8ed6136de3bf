//! The listener container: group members, per-partition ordered dispatch, ack-mode commit
//! policies and graceful shutdown.

mod offset_tracker;

pub use offset_tracker::{AckRejected, OffsetTracker};
