//! `null-header-from-java`: the Java peer (`java null-header-produce`,
//! tests/interop/java/.../NullHeaders.java) wrote records rskafka could not read — null header
//! values, one header name several times, null keys, tombstones — to `interop-R-headers-log-append`
//! (created through Java's AdminClient with `message.timestamp.type=LogAppendTime`) and to
//! `interop-R-headers-create` (CreateTime). One listener on both topics must handle every record
//! intact: headers in wire order with duplicates and nulls, null versus empty keys and values,
//! the timestamp type, and on the LogAppendTime topic the broker's timestamp, not the producer's.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use kafka_listener::{
    kafka_listener, Acknowledgment, App, ConsumerRecord, Headers, State, TimestampType,
};

use crate::partition_order::same_records_per_partition;
use crate::{committed, wait_until, Seen, PARTITIONS, SCENARIO_TIMEOUT};

const RECORDS: i32 = 12;
const BASE_TIMESTAMP: i64 = 1_600_000_000_000;
const LISTENER_ID: &str = "interop-null-headers";
/// A LogAppendTime timestamp is the broker's clock when it appended, which run.sh did moments
/// before this peer started; the bound only has to tell it from the producer's 2020 timestamps.
const BROKER_CLOCK_SLACK: Duration = Duration::from_secs(3600);

#[kafka_listener(
    id = "interop-null-headers",
    topics = ["${interop.headers.log-append-topic}", "${interop.headers.create-time-topic}"],
    group_id = "${interop.headers.group}",
    ack_mode = "MANUAL"
)]
async fn on_unusual_record(
    record: ConsumerRecord<Bytes, Bytes>,
    seen: State<Seen>,
    ack: Acknowledgment,
) {
    seen.push(record);
    ack.acknowledge();
}

/// Record `i` of `topic` as Java wrote it (the table in NullHeaders.java); its timestamp is the
/// producer's.
fn written(topic: &str, timestamp_type: TimestampType, i: i32) -> ConsumerRecord<Bytes, Bytes> {
    let key = (i % 2 == 1).then(|| Bytes::from(format!("key-{i}")));
    let mut headers = Headers::new();
    let value = match i % 4 {
        0 => {
            headers.push("dup", Some("first"));
            headers.push("nothing", None::<Bytes>);
            headers.push("dup", Some("second"));
            Some(Bytes::from(format!("value-{i}")))
        }
        1 => {
            headers.push("nothing", None::<Bytes>);
            None
        }
        2 => None,
        _ => {
            headers.push("dup", None::<Bytes>);
            headers.push("dup", Some(Bytes::new()));
            headers.push("dup", Some("third"));
            Some(Bytes::new())
        }
    };
    ConsumerRecord {
        topic: topic.to_owned(),
        partition: i % PARTITIONS,
        offset: (i / PARTITIONS) as i64,
        timestamp: BASE_TIMESTAMP + i as i64,
        timestamp_type,
        key,
        value,
        headers,
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// CreateTime records keep the producer's timestamp; LogAppendTime ones carry the broker's
/// clock at append, which this machine's clock bounds.
fn check_timestamp(
    want: &ConsumerRecord<Bytes, Bytes>,
    got: &ConsumerRecord<Bytes, Bytes>,
    now: i64,
) -> Result<(), String> {
    let place = format!(
        "{} partition {} offset {}",
        got.topic, got.partition, got.offset
    );
    match want.timestamp_type {
        TimestampType::CreateTime if got.timestamp != want.timestamp => Err(format!(
            "{place}: CreateTime timestamp {}, the producer set {}",
            got.timestamp, want.timestamp
        )),
        TimestampType::LogAppendTime
            if got.timestamp == want.timestamp
                || got.timestamp < now - BROKER_CLOCK_SLACK.as_millis() as i64
                || got.timestamp > now + 60_000 =>
        {
            Err(format!(
                "{place}: LogAppendTime timestamp {} is not the broker's append time (producer's {}, now {now})",
                got.timestamp, want.timestamp
            ))
        }
        _ => Ok(()),
    }
}

pub(crate) async fn read(bootstrap: &str, run: &str) -> Result<(), String> {
    let log_append = format!("interop-{run}-headers-log-append");
    let create_time = format!("interop-{run}-headers-create");
    let group = format!("interop-{run}-headers-group");
    let want: Vec<_> = (0..RECORDS)
        .map(|i| written(&log_append, TimestampType::LogAppendTime, i))
        .chain((0..RECORDS).map(|i| written(&create_time, TimestampType::CreateTime, i)))
        .collect();
    let seen = Arc::new(Seen::default());
    let yml = format!(
        "spring.kafka.consumer.auto-offset-reset: earliest
spring.kafka.listener.poll-timeout: 200ms
interop.headers:
  log-append-topic: {log_append}
  create-time-topic: {create_time}
  group: {group}
"
    );
    let app = App::from_yaml_str(&yml)
        .map_err(|e| format!("configuration: {e}"))?
        .bootstrap(bootstrap)
        .shared_state(Arc::clone(&seen))
        .listeners([LISTENER_ID])
        .start()
        .await
        .map_err(|e| format!("start the app: {e}"))?;
    let ends: BTreeMap<i32, i64> = (0..PARTITIONS)
        .map(|p| {
            (
                p,
                (0..RECORDS).filter(|i| i % PARTITIONS == p).count() as i64,
            )
        })
        .collect();
    let consumed = wait_until(
        "every record handled and committed on both topics",
        SCENARIO_TIMEOUT,
        || async {
            Ok(seen.len() >= want.len()
                && committed(bootstrap, &group, &log_append, PARTITIONS).await? == ends
                && committed(bootstrap, &group, &create_time, PARTITIONS).await? == ends)
        },
    )
    .await;
    let shutdown = app.shutdown().await;
    consumed.map_err(|e| format!("{e}; handled {} of {}", seen.len(), want.len()))?;
    shutdown.map_err(|e| format!("shutdown: {e}"))?;
    let handled = seen.snapshot();
    same_records_per_partition(&want, &handled)?;
    let now = now_ms();
    for got in &handled {
        let want = want
            .iter()
            .find(|w| (&w.topic, w.partition, w.offset) == (&got.topic, got.partition, got.offset))
            .ok_or_else(|| {
                format!(
                    "{} partition {} offset {} was never written",
                    got.topic, got.partition, got.offset
                )
            })?;
        check_timestamp(want, got, now)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_records_cover_null_and_empty_keys_values_and_headers() {
        let records: Vec<_> = (0..4)
            .map(|i| written("t", TimestampType::CreateTime, i))
            .collect();
        assert_eq!(records[0].key, None);
        assert_eq!(records[1].value, None, "a tombstone");
        assert!(records[2].headers.is_empty());
        assert_eq!(
            records[3].value.as_deref(),
            Some(&b""[..]),
            "empty, not null"
        );
        let dup: Vec<_> = records[3]
            .headers
            .get_all("dup")
            .map(|h| h.value.clone())
            .collect();
        assert_eq!(dup, [None, Some(Bytes::new()), Some(Bytes::from("third"))]);
    }

    #[test]
    fn a_log_append_time_record_must_not_carry_the_producers_timestamp() {
        let now = BASE_TIMESTAMP + 1_000_000_000;
        let want = written("t", TimestampType::LogAppendTime, 5);
        let mut got = want.clone();
        assert!(check_timestamp(&want, &got, now).is_err());
        got.timestamp = now - 2_000;
        assert_eq!(check_timestamp(&want, &got, now), Ok(()));
    }

    #[test]
    fn a_create_time_record_keeps_the_producers_timestamp() {
        let want = written("t", TimestampType::CreateTime, 5);
        let mut got = want.clone();
        assert_eq!(check_timestamp(&want, &got, 0), Ok(()));
        got.timestamp += 1;
        assert!(check_timestamp(&want, &got, 0).is_err());
    }
}
