//! What a partition worker says about its deliveries: the span per record and the events of
//! retries and recovery, shared by every delivery mode.

use std::time::Duration;

use super::handle::PartitionIdentity;
use crate::error::RecoveryFailed;
use crate::record::ConsumerRecord;

/// The span a partition worker runs in: every line it logs names its listener, group, topic
/// and partition.
pub(super) fn partition_span(identity: &PartitionIdentity) -> tracing::Span {
    tracing::info_span!(
        "partition",
        listener = %identity.listener_id,
        group = identity.group_id.as_deref(),
        topic = %identity.topic,
        partition = identity.partition,
    )
}

/// A span per delivery of a record or a batch, inside the partition's span; cheap when the
/// level is off (no field is formatted).
pub(super) fn unit_span(
    identity: &PartitionIdentity,
    records: &[ConsumerRecord],
    attempt: u64,
    batch: bool,
) -> tracing::Span {
    let offset = records.first().map_or(-1, |r| r.offset);
    if batch {
        tracing::debug_span!(
            "batch",
            topic = %identity.topic,
            partition = identity.partition,
            first_offset = offset,
            records = records.len(),
            attempt,
        )
    } else {
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
