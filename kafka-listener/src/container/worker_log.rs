//! What a partition worker says about its deliveries: the span per record and the events of
//! retries and recovery, shared by the sequential, parallel and batch paths.

use std::time::Duration;

use super::worker_handle::PartitionIdentity;
use crate::error::RecoveryFailed;

/// A span per delivery; cheap when the level is off (no field is formatted).
pub(super) fn record_span(
    identity: &PartitionIdentity,
    offset: i64,
    attempt: u64,
) -> tracing::Span {
    tracing::debug_span!(
        "record",
        topic = %identity.topic,
        partition = identity.partition,
        offset,
        group = identity.group_id.as_deref(),
        listener = %identity.listener_id,
        attempt,
    )
}

pub(super) fn log_retry(
    identity: &PartitionIdentity,
    offset: i64,
    attempt: u64,
    wait: Duration,
    failure: &dyn std::fmt::Display,
) {
    tracing::warn!(
        topic = %identity.topic,
        partition = identity.partition,
        offset,
        attempt,
        retry_in_ms = wait.as_millis() as u64,
        error = %failure,
        "handler failed; retrying the record in place"
    );
}

pub(super) fn log_recovered(identity: &PartitionIdentity, offset: i64, attempts: u64) {
    tracing::info!(
        topic = %identity.topic,
        partition = identity.partition,
        offset,
        attempts,
        "failed record recovered"
    );
}

pub(super) fn log_recovery_failed(
    identity: &PartitionIdentity,
    offset: i64,
    error: &RecoveryFailed,
) {
    tracing::error!(
        topic = %identity.topic,
        partition = identity.partition,
        offset,
        %error,
        "recovery failed; the record will be delivered again"
    );
}
