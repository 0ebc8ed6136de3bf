//! `spring.kafka.*` → the container's settings: the app is where configuration meets the
//! container, so neither module imports the other.

use std::time::Duration;

use crate::client::fetch::{FetchSettings, IsolationLevel};
use crate::config::{AckMode, ConsumerProperties, ListenerProperties};
use crate::container::{CommitPolicy, WorkerSettings};

/// Kafka's default `auto.commit.interval.ms`.
const DEFAULT_AUTO_COMMIT_INTERVAL: Duration = Duration::from_secs(5);

/// The commit policy Spring derives from the ack mode and `enable-auto-commit`: with
/// auto-commit on, the consumer commits on its interval whatever the ack mode.
pub(super) fn commit_policy_for(
    listener: &ListenerProperties,
    consumer: &ConsumerProperties,
) -> CommitPolicy {
    if consumer.auto_commit() {
        return CommitPolicy::AutoCommit(
            consumer
                .auto_commit_interval
                .unwrap_or(DEFAULT_AUTO_COMMIT_INTERVAL),
        );
    }
    ack_mode_policy(listener.ack_mode, listener.ack_count, listener.ack_time)
}

/// The policy of an ack mode with its count and time thresholds.
pub(super) fn ack_mode_policy(mode: AckMode, ack_count: u32, ack_time: Duration) -> CommitPolicy {
    match mode {
        AckMode::Record => CommitPolicy::Record,
        AckMode::Batch => CommitPolicy::Batch,
        AckMode::Time => CommitPolicy::Time(ack_time),
        AckMode::Count => CommitPolicy::Count(ack_count),
        AckMode::CountTime => CommitPolicy::CountTime(ack_count, ack_time),
        AckMode::Manual => CommitPolicy::Manual,
        AckMode::ManualImmediate => CommitPolicy::ManualImmediate,
    }
}

/// Per-partition settings from `spring.kafka.listener.*` and `spring.kafka.consumer.*`.
pub(super) fn worker_settings_for(
    listener: &ListenerProperties,
    consumer: &ConsumerProperties,
    drain_timeout: Duration,
) -> WorkerSettings {
    WorkerSettings {
        commit_policy: commit_policy_for(listener, consumer),
        max_poll_records: consumer.max_poll_records.unwrap_or(500).max(1) as usize,
        idle_between_polls: listener.idle_between_polls,
        drain_timeout,
        reset: consumer.auto_offset_reset.unwrap_or_default(),
        ..WorkerSettings::default()
    }
}

/// Fetch sizes, wait and isolation from `fetch-min-size`, `fetch-max-wait`, `isolation-level`
/// and the consumer's Kafka properties (`max.partition.fetch.bytes`, `fetch.max.bytes`,
/// `check.crcs`, and `isolation.level` / `fetch.min.bytes` / `fetch.max.wait.ms` where the typed
/// keys are unset).
pub(super) fn fetch_settings_for(consumer: &ConsumerProperties) -> FetchSettings {
    let defaults = FetchSettings::default();
    let property = |name: &str| consumer.properties.get(name).map(|v| v.trim());
    let positive_i32 = |name: &str| {
        property(name)
            .and_then(|v| v.parse::<i32>().ok())
            .filter(|&b| b > 0)
    };
    let isolation = consumer.isolation_level.or_else(|| {
        match property("isolation.level")?.to_ascii_lowercase().as_str() {
            "read_committed" => Some(IsolationLevel::ReadCommitted),
            "read_uncommitted" => Some(IsolationLevel::ReadUncommitted),
            _ => None,
        }
    });
    FetchSettings {
        min_bytes: consumer
            .fetch_min_size
            .map(|b| b.clamp(1, i32::MAX as u64) as i32)
            .or_else(|| positive_i32("fetch.min.bytes"))
            .unwrap_or(defaults.min_bytes),
        max_bytes: positive_i32("max.partition.fetch.bytes").unwrap_or(defaults.max_bytes),
        response_max_bytes: positive_i32("fetch.max.bytes").unwrap_or(defaults.response_max_bytes),
        max_wait: consumer
            .fetch_max_wait
            .or_else(|| {
                property("fetch.max.wait.ms")
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(Duration::from_millis)
            })
            .unwrap_or(defaults.max_wait),
        isolation: isolation.unwrap_or(defaults.isolation),
        check_crcs: property("check.crcs")
            .map(|v| !v.eq_ignore_ascii_case("false"))
            .unwrap_or(defaults.check_crcs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KafkaProperties;

    fn props(yaml: &str) -> KafkaProperties {
        KafkaProperties::from_yaml_str(yaml).unwrap()
    }

    #[test]
    fn every_ack_mode_maps_to_its_commit_policy() {
        let cases = [
            ("RECORD", CommitPolicy::Record),
            ("BATCH", CommitPolicy::Batch),
            ("TIME", CommitPolicy::Time(Duration::from_secs(5))),
            ("COUNT", CommitPolicy::Count(1)),
            (
                "COUNT_TIME",
                CommitPolicy::CountTime(1, Duration::from_secs(5)),
            ),
            ("MANUAL", CommitPolicy::Manual),
            ("MANUAL_IMMEDIATE", CommitPolicy::ManualImmediate),
        ];
        for (mode, policy) in cases {
            let p = props(&format!("spring.kafka.listener.ack-mode: {mode}"));
            assert_eq!(
                commit_policy_for(&p.listener, &p.consumer),
                policy,
                "{mode}"
            );
        }
    }

    #[test]
    fn count_time_takes_ack_count_and_ack_time() {
        let p = props("spring.kafka.listener: {ack-mode: COUNT_TIME, ack-count: 10, ack-time: 2s}");
        assert_eq!(
            commit_policy_for(&p.listener, &p.consumer),
            CommitPolicy::CountTime(10, Duration::from_secs(2)),
        );
    }

    #[test]
    fn auto_commit_overrides_the_ack_mode() {
        let p =
            props("spring.kafka.consumer: {enable-auto-commit: true, auto-commit-interval: 250ms}");
        assert_eq!(
            commit_policy_for(&p.listener, &p.consumer),
            CommitPolicy::AutoCommit(Duration::from_millis(250))
        );
    }

    #[test]
    fn consumer_keys_shape_fetches_and_polls() {
        let p = props(
            "spring.kafka.consumer: {max-poll-records: 50, fetch-min-size: 1024, fetch-max-wait: 100ms, auto-offset-reset: earliest, properties: {max.partition.fetch.bytes: 65536}}",
        );
        let fetch = fetch_settings_for(&p.consumer);
        assert_eq!(fetch.min_bytes, 1024);
        assert_eq!(fetch.max_bytes, 65536);
        assert_eq!(fetch.max_wait, Duration::from_millis(100));
        let worker = worker_settings_for(&p.listener, &p.consumer, Duration::from_secs(1));
        assert_eq!(worker.max_poll_records, 50);
        assert_eq!(worker.reset, crate::vocabulary::AutoOffsetReset::Earliest);
    }
}
