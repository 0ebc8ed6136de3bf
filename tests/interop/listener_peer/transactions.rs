//! `txn-read-committed-from-java`: the Java peer's transactional producer (`java txn-produce`,
//! tests/interop/java/.../Transactions.java) wrote 11 transactions of 20 records across the 3
//! partitions of `interop-R-txn`, even ones committed, odd ones aborted, the last committed. Two
//! groups read the topic at once:
//!
//! - a MANUAL-ack listener with `spring.kafka.consumer.isolation-level: read_committed` must
//!   handle exactly the committed records, in order per partition, none aborted;
//! - a BATCH-ack listener with `spring.kafka.consumer.properties.isolation.level:
//!   read_uncommitted` must handle every record, committed and aborted.
//!
//! Each record is compared byte for byte at the offset the layout gives it (every transaction
//! leaves one marker per partition), and each group's committed offsets must reach the log end
//! of every partition, past the final commit marker, which no record follows.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use kafka_listener::{kafka_listener, Acknowledgment, App, ConsumerRecord, Headers, State};

use crate::partition_order::same_records_per_partition;
use crate::{committed, log_ends, rskafka_client, wait_until, Seen, PARTITIONS, SCENARIO_TIMEOUT};

const TRANSACTIONS: i32 = 11;
const RECORDS_PER_TRANSACTION: i32 = 20;
const READ_COMMITTED: &str = "interop-txn-read-committed";
const READ_UNCOMMITTED: &str = "interop-txn-read-uncommitted";

#[kafka_listener(
    id = "interop-txn-read-committed",
    topics = "${interop.txn.topic}",
    group_id = "${interop.txn.group}",
    ack_mode = "MANUAL"
)]
async fn on_committed_record(
    record: ConsumerRecord<Bytes, Bytes>,
    seen: State<Seen>,
    ack: Acknowledgment,
) {
    seen.push(record);
    ack.acknowledge();
}

#[kafka_listener(
    id = "interop-txn-read-uncommitted",
    topics = "${interop.txn.topic}",
    group_id = "${interop.txn.group}",
    ack_mode = "BATCH"
)]
async fn on_any_record(record: ConsumerRecord<Bytes, Bytes>, seen: State<Seen>) {
    seen.push(record);
}

fn commits(t: i32) -> bool {
    t % 2 == 0
}

/// Records of one transaction on `partition`: 7, 7 and 6.
fn per_transaction(partition: i32) -> i64 {
    ((RECORDS_PER_TRANSACTION - partition + PARTITIONS - 1) / PARTITIONS) as i64
}

/// Record `j` of transaction `t` as Java wrote it (see Transactions.java).
fn written(topic: &str, t: i32, j: i32) -> ConsumerRecord<Bytes, Bytes> {
    let outcome = if commits(t) { "commit" } else { "abort" };
    let mut value = format!("{t}-{j}-{outcome}").into_bytes();
    value.extend((0..j).map(|k| ((t * 31 + j + k) % 256) as u8));
    let mut headers = Headers::new();
    headers.push("txn", Some(t.to_be_bytes().to_vec()));
    headers.push("seq", Some(j.to_be_bytes().to_vec()));
    headers.push("outcome", Some(outcome));
    let partition = j % PARTITIONS;
    ConsumerRecord {
        topic: topic.to_owned(),
        partition,
        offset: t as i64 * (per_transaction(partition) + 1) + (j / PARTITIONS) as i64,
        key: Some(format!("txn-{t}-{j}").into()),
        value: Some(value.into()),
        headers,
        ..ConsumerRecord::default()
    }
}

/// Every record written, in offset order within each partition.
fn all_written(topic: &str) -> Vec<ConsumerRecord<Bytes, Bytes>> {
    (0..TRANSACTIONS)
        .flat_map(|t| (0..RECORDS_PER_TRANSACTION).map(move |j| (t, j)))
        .map(|(t, j)| written(topic, t, j))
        .collect()
}

fn committed_only(topic: &str) -> Vec<ConsumerRecord<Bytes, Bytes>> {
    all_written(topic)
        .into_iter()
        .filter(|r| r.headers.last_value("outcome").as_deref() == Some(b"commit"))
        .collect()
}

/// Each partition ends after its last transaction's marker.
fn expected_log_ends() -> BTreeMap<i32, i64> {
    (0..PARTITIONS)
        .map(|p| (p, TRANSACTIONS as i64 * (per_transaction(p) + 1)))
        .collect()
}

/// One group reading the topic: its App, what it handled and what it must have handled.
struct Reader {
    listener: &'static str,
    group: String,
    seen: Arc<Seen>,
    want: Vec<ConsumerRecord<Bytes, Bytes>>,
    app: kafka_listener::RunningApp,
}

async fn start(
    bootstrap: &str,
    listener: &'static str,
    isolation_yml: &str,
    topic: &str,
    want: Vec<ConsumerRecord<Bytes, Bytes>>,
) -> Result<Reader, String> {
    let group = format!("{topic}-{listener}");
    let seen = Arc::new(Seen::default());
    let yml = format!(
        "spring.kafka.consumer.auto-offset-reset: earliest
{isolation_yml}
spring.kafka.listener.poll-timeout: 200ms
interop.txn:
  topic: {topic}
  group: {group}
"
    );
    let app = App::from_yaml_str(&yml)
        .map_err(|e| format!("{listener} configuration: {e}"))?
        .bootstrap(bootstrap)
        .shared_state(Arc::clone(&seen))
        .listeners([listener])
        .start()
        .await
        .map_err(|e| format!("start {listener}: {e}"))?;
    Ok(Reader {
        listener,
        group,
        seen,
        want,
        app,
    })
}

pub(crate) async fn read(bootstrap: &str, run: &str) -> Result<(), String> {
    let topic = format!("interop-{run}-txn");
    let client = rskafka_client(bootstrap).await?;
    let ends = log_ends(&client, &topic, PARTITIONS).await?;
    if ends != expected_log_ends() {
        return Err(format!(
            "log ends {ends:?}, expected {:?} (records and one marker per transaction)",
            expected_log_ends()
        ));
    }
    let committed_reader = start(
        bootstrap,
        READ_COMMITTED,
        "spring.kafka.consumer.isolation-level: read_committed",
        &topic,
        committed_only(&topic),
    )
    .await?;
    let uncommitted_reader = start(
        bootstrap,
        READ_UNCOMMITTED,
        "spring.kafka.consumer.properties.isolation.level: read_uncommitted",
        &topic,
        all_written(&topic),
    )
    .await;
    let uncommitted_reader = match uncommitted_reader {
        Ok(reader) => reader,
        Err(e) => {
            let _ = committed_reader.app.shutdown().await;
            return Err(e);
        }
    };
    let mut outcome = Ok(());
    for reader in [committed_reader, uncommitted_reader] {
        let verdict = finish(bootstrap, &topic, &ends, reader).await;
        outcome = outcome.and(verdict);
    }
    outcome
}

/// Waits until the reader handled its records and committed the log ends, shuts its App down,
/// then compares what it handled with what it should have.
async fn finish(
    bootstrap: &str,
    topic: &str,
    ends: &BTreeMap<i32, i64>,
    reader: Reader,
) -> Result<(), String> {
    let Reader {
        listener,
        group,
        seen,
        want,
        app,
    } = reader;
    let consumed = wait_until(
        "its records handled and the log ends committed",
        SCENARIO_TIMEOUT,
        || async {
            Ok(seen.len() >= want.len()
                && committed(bootstrap, &group, topic, PARTITIONS).await? == *ends)
        },
    )
    .await;
    let shutdown = app.shutdown().await;
    let last_commit = committed(bootstrap, &group, topic, PARTITIONS).await;
    consumed.map_err(|e| {
        format!(
            "{listener}: {e}; handled {} of {}, committed {last_commit:?}, log ends {ends:?}",
            seen.len(),
            want.len()
        )
    })?;
    shutdown.map_err(|e| format!("{listener}: shutdown: {e}"))?;
    same_records_per_partition(&want, &seen.snapshot()).map_err(|e| format!("{listener}: {e}"))?;
    let after = last_commit?;
    if after != *ends {
        return Err(format!(
            "{listener}: after shutdown the group committed {after:?}, log ends {ends:?}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_partition_ends_in_the_last_transactions_commit_marker() {
        assert_eq!(
            expected_log_ends(),
            BTreeMap::from([(0, 88), (1, 88), (2, 77)])
        );
        let last = written("t", TRANSACTIONS - 1, RECORDS_PER_TRANSACTION - 1);
        assert_eq!(
            (last.partition, last.offset),
            (1, 86),
            "offset 87 is the marker"
        );
        assert!(commits(TRANSACTIONS - 1));
    }

    #[test]
    fn record_3_of_transaction_1_is_the_documented_bytes() {
        let record = written("t", 1, 3);
        assert_eq!(
            (record.partition, record.offset),
            (0, 9),
            "after 7 records and a marker"
        );
        assert_eq!(record.key.as_deref(), Some(&b"txn-1-3"[..]));
        assert_eq!(record.value.as_deref(), Some(&b"1-3-abort\x22\x23\x24"[..]));
        let headers: Vec<_> = record.headers.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(headers, ["txn", "seq", "outcome"]);
    }

    #[test]
    fn read_committed_expects_the_six_committed_transactions() {
        assert_eq!(committed_only("t").len(), 6 * 20);
        assert_eq!(all_written("t").len(), 11 * 20);
    }
}
