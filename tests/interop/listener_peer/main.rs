//! Our own listener and group member as a peer of the third-party interop runner
//! (`tests/interop/run.sh`): a real `#[kafka_listener]` run by [`App`] against data written by
//! Java and librdkafka, and sharing one consumer group with them.
//!
//! ```text
//! interop-listener-peer cross       --bootstrap B --run R --from P [...]
//!     consume-from-P: the MANUAL-ack listener reads P's data set (tests/interop/README.md),
//!     checks every record byte for byte and that the group committed the log end offsets.
//! interop-listener-peer group-mixed --bootstrap B --run R --with P --sync DIR
//!     group-mixed-P: our listener and P's consumer (started by run.sh with the same DIR) in one
//!     group; see group_mixed.rs for the phases and the file protocol.
//! interop-listener-peer dlt-publish --bootstrap B --run R
//!     dlt-publish: our listener dead-letters a poison record per partition with Spring's
//!     kafka_dlt-* headers, for the Java peer's dlt-read (dead_letter.rs).
//! interop-listener-peer txn-read --bootstrap B --run R
//!     txn-read-committed-from-java: read_committed and read_uncommitted listeners read the
//!     Java peer's committed and aborted transactions (transactions.rs).
//! interop-listener-peer null-header --bootstrap B --run R
//!     null-header-from-java: null header values, duplicate header names, null keys, tombstones
//!     and LogAppendTime timestamps written by the Java peer (null_headers.rs).
//! ```
//!
//! Prints one `PASS listener <scenario>` / `FAIL listener <scenario> <reason>` line per scenario
//! (`PASS group group-mixed-P` for the group scenario) and exits 0; bad arguments exit 2.

mod dead_letter;
mod group_mixed;
mod null_headers;
mod partition_order;
mod transactions;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_listener::client::ConnectionConfig;
use kafka_listener::config::KafkaProperties;
use kafka_listener::group::{GroupConfig, GroupMember, TopicPartition};
use kafka_listener::{kafka_listener, Acknowledgment, App, ConsumerRecord, State};
use rskafka::client::partition::{OffsetAt, UnknownTopicHandling};
use rskafka::client::Client;

const RECORDS: usize = 1000;
const PARTITIONS: i32 = 3;
const LISTENER_ID: &str = "interop-listener";
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(60);

/// Every record a listener handled, in handling order.
#[derive(Default)]
pub(crate) struct Seen(Mutex<Vec<ConsumerRecord<Bytes, Bytes>>>);

impl Seen {
    pub(crate) fn snapshot(&self) -> Vec<ConsumerRecord<Bytes, Bytes>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn push(&self, record: ConsumerRecord<Bytes, Bytes>) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(record);
    }
}

/// The listener under test for `consume-from-P`: keeps the raw record, acknowledges it.
#[kafka_listener(
    id = "interop-listener",
    topics = "${interop.listener.topic}",
    group_id = "${interop.listener.group}",
    ack_mode = "MANUAL"
)]
async fn on_data_set_record(
    record: ConsumerRecord<Bytes, Bytes>,
    seen: State<Seen>,
    ack: Acknowledgment,
) {
    seen.push(record);
    ack.acknowledge();
}

/// The application.yml both modes run with; every listener's placeholders resolve.
pub(crate) fn application_yml(listener: (&str, &str), group_member: (&str, &str)) -> String {
    format!(
        "spring:
  kafka:
    consumer:
      auto-offset-reset: earliest
      properties:
        partition.assignment.strategy: org.apache.kafka.clients.consumer.RangeAssignor
        session.timeout.ms: 10000
        heartbeat.interval.ms: 1000
    listener:
      poll-timeout: 200ms
interop:
  listener:
    topic: {}
    group: {}
  group:
    topic: {}
    group: {}
",
        listener.0, listener.1, group_member.0, group_member.1
    )
}

/// Record `i` of `producer`'s data set: (partition, offset, key, value, headers in order).
type Expected = (i32, i64, Vec<u8>, Vec<u8>, Vec<(String, Vec<u8>)>);

fn expected(producer: &str, i: usize) -> Expected {
    let mut value = format!("value-{i}-").into_bytes();
    value.extend((0..i % 50).map(|j| ((i * 7 + j) % 256) as u8));
    let headers = vec![
        ("bin".to_owned(), vec![(i % 256) as u8, 0, 255]),
        ("producer".to_owned(), producer.as_bytes().to_vec()),
        ("seq".to_owned(), (i as i32).to_be_bytes().to_vec()),
    ];
    (
        (i % PARTITIONS as usize) as i32,
        (i / PARTITIONS as usize) as i64,
        format!("key-{i:04}").into_bytes(),
        value,
        headers,
    )
}

/// `spring.kafka.*` as our App reads it with no application file: empty but for what
/// `SPRING_CONFIG_ADDITIONAL_LOCATION` adds (run.sh --security points it at the
/// client-security.yml of the broker), so this peer's helper clients are secured exactly like
/// its listeners. Loaded once; a bad file ends the peer with the loader's message.
fn client_properties() -> &'static KafkaProperties {
    static PROPERTIES: OnceLock<KafkaProperties> = OnceLock::new();
    PROPERTIES.get_or_init(|| {
        KafkaProperties::from_yaml_str("{}").unwrap_or_else(|e| {
            eprintln!("interop-listener-peer: cannot load the client settings: {e}");
            std::process::exit(2);
        })
    })
}

/// The connection of this peer's helper clients (admin, template, offset checks).
pub(crate) fn connection(bootstrap: &str) -> ConnectionConfig {
    client_properties()
        .admin_connection()
        .with_bootstrap_servers(bootstrap.split(','))
        .client_id("interop-listener")
        .request_timeout(Duration::from_secs(30))
}

pub(crate) async fn rskafka_client(bootstrap: &str) -> Result<Client, String> {
    connection(bootstrap)
        .rskafka_client()
        .await
        .map_err(|e| format!("connect to {bootstrap}: {e}"))
}

/// The log end offset of each partition of `topic`.
pub(crate) async fn log_ends(
    client: &Client,
    topic: &str,
    partitions: i32,
) -> Result<BTreeMap<i32, i64>, String> {
    let mut ends = BTreeMap::new();
    for partition in 0..partitions {
        let end = client
            .partition_client(topic, partition, UnknownTopicHandling::Retry)
            .await
            .map_err(|e| format!("partition {partition}: {e}"))?
            .get_offset(OffsetAt::Latest)
            .await
            .map_err(|e| format!("log end of partition {partition}: {e}"))?;
        ends.insert(partition, end);
    }
    Ok(ends)
}

/// The offsets `group` committed on `topic`'s partitions (absent where it committed none).
pub(crate) async fn committed(
    bootstrap: &str,
    group: &str,
    topic: &str,
    partitions: i32,
) -> Result<BTreeMap<i32, i64>, String> {
    let member = GroupMember::new(connection(bootstrap), GroupConfig::new(group));
    let tps: Vec<_> = (0..partitions)
        .map(|p| TopicPartition::new(topic, p))
        .collect();
    Ok(member
        .committed(&tps)
        .await
        .map_err(|e| format!("committed offsets of {group}: {e}"))?
        .into_iter()
        .filter_map(|(tp, offset)| offset.map(|o| (tp.partition, o.offset)))
        .collect())
}

/// Polls `check` every 100 ms until it returns `Ok(true)` or `timeout` passes.
pub(crate) async fn wait_until<F, Fut>(
    what: &str,
    timeout: Duration,
    mut check: F,
) -> Result<(), String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, String>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_error = String::new();
    loop {
        match check().await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => last_error = format!(" (last error: {e})"),
        }
        if Instant::now() > deadline {
            return Err(format!(
                "timed out after {timeout:?} waiting for {what}{last_error}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// consume-from-P: our MANUAL-ack listener reads P's whole data set.
async fn consume_from(bootstrap: &str, run: &str, producer: &str) -> Result<(), String> {
    let topic = format!("interop-{run}-{producer}");
    let group = format!("interop-{run}-listener-from-{producer}");
    let seen = Arc::new(Seen::default());
    let running = App::from_yaml_str(&application_yml((&topic, &group), ("unused", "unused")))
        .map_err(|e| format!("configuration: {e}"))?
        .bootstrap(bootstrap)
        .shared_state(Arc::clone(&seen))
        .listeners([LISTENER_ID])
        .start()
        .await
        .map_err(|e| format!("start the app: {e}"))?;
    let client = rskafka_client(bootstrap).await?;
    let ends = log_ends(&client, &topic, PARTITIONS).await?;
    let consumed = wait_until(
        "all records handled and committed",
        SCENARIO_TIMEOUT,
        || async {
            Ok(seen.len() >= RECORDS
                && committed(bootstrap, &group, &topic, PARTITIONS).await? == ends)
        },
    )
    .await;
    let shutdown = running.shutdown().await;
    consumed.map_err(|e| format!("{e}; handled {} of {RECORDS}", seen.len()))?;
    shutdown.map_err(|e| format!("shutdown: {e}"))?;
    let want_ends: BTreeMap<i32, i64> = (0..PARTITIONS)
        .map(|p| {
            (
                p,
                (0..RECORDS)
                    .filter(|i| expected(producer, *i).0 == p)
                    .count() as i64,
            )
        })
        .collect();
    if ends != want_ends {
        return Err(format!("log ends {ends:?}, expected {want_ends:?}"));
    }
    verify_data_set(producer, &seen.snapshot())?;
    let after = committed(bootstrap, &group, &topic, PARTITIONS).await?;
    if after != ends {
        return Err(format!(
            "after shutdown the group committed {after:?}, log ends {ends:?}"
        ));
    }
    Ok(())
}

/// Every record of `producer`'s data set exactly once, byte for byte, where it belongs.
fn verify_data_set(producer: &str, records: &[ConsumerRecord<Bytes, Bytes>]) -> Result<(), String> {
    let mut seen = vec![false; RECORDS];
    for record in records {
        let place = format!("partition {} offset {}", record.partition, record.offset);
        let seq = record
            .headers
            .last_value("seq")
            .and_then(|v| <[u8; 4]>::try_from(v.as_ref()).ok())
            .map(i32::from_be_bytes)
            .ok_or_else(|| format!("{place}: no 4-byte seq header"))?;
        let i = usize::try_from(seq)
            .ok()
            .filter(|i| *i < RECORDS)
            .ok_or_else(|| format!("{place}: seq {seq} out of range"))?;
        let (partition, offset, key, value, headers) = expected(producer, i);
        if (record.partition, record.offset) != (partition, offset) {
            return Err(format!(
                "record {i} at {place}, expected partition {partition} offset {offset}"
            ));
        }
        if record.key.as_deref() != Some(key.as_slice()) {
            return Err(format!("record {i}: key {:?} differs", record.key));
        }
        if record.value.as_deref() != Some(value.as_slice()) {
            return Err(format!("record {i}: value differs"));
        }
        let got: Vec<(String, Vec<u8>)> = record
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.clone(),
                    h.value.as_deref().unwrap_or_default().to_vec(),
                )
            })
            .collect();
        if got != headers {
            return Err(format!("record {i}: headers {got:?} differ"));
        }
        if std::mem::replace(&mut seen[i], true) {
            return Err(format!("record {i} handled twice"));
        }
    }
    let missing = seen.iter().filter(|s| !**s).count();
    if missing > 0 {
        return Err(format!("{missing} of {RECORDS} records never handled"));
    }
    Ok(())
}

pub(crate) fn report(peer: &str, scenario: &str, outcome: Result<(), String>) {
    match outcome {
        Ok(()) => println!("PASS {peer} {scenario}"),
        Err(reason) => println!("FAIL {peer} {scenario} {}", reason.replace('\n', " ")),
    }
}

struct Args {
    mode: String,
    bootstrap: String,
    run: String,
    from: Vec<String>,
    with: Option<String>,
    sync: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    const MODES: [&str; 5] = [
        "cross",
        "group-mixed",
        "dlt-publish",
        "txn-read",
        "null-header",
    ];
    let mode = args
        .next()
        .ok_or(format!("missing mode (one of {MODES:?})"))?;
    if !MODES.contains(&mode.as_str()) {
        return Err(format!("unknown mode {mode:?} (one of {MODES:?})"));
    }
    let (mut bootstrap, mut run, mut from, mut with, mut sync) =
        (None, None, Vec::new(), None, None);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--bootstrap" => bootstrap = Some(value),
            "--run" => run = Some(value),
            "--from" => from.push(value),
            "--with" => with = Some(value),
            "--sync" => sync = Some(value),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(Args {
        mode,
        bootstrap: bootstrap.ok_or("--bootstrap HOST:PORT is required")?,
        run: run.ok_or("--run ID is required")?,
        from,
        with,
        sync,
    })
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,rskafka=error".into()),
        )
        .init();
    client_properties();
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("interop-listener-peer: {message}");
            eprintln!("usage: interop-listener-peer cross --bootstrap B --run R --from P [...]");
            eprintln!("       interop-listener-peer group-mixed --bootstrap B --run R --with P --sync DIR");
            eprintln!("       interop-listener-peer dlt-publish|txn-read|null-header --bootstrap B --run R");
            std::process::exit(2);
        }
    };
    if args.mode == "dlt-publish" {
        let outcome = dead_letter::publish(&args.bootstrap, &args.run).await;
        report("listener", "dlt-publish", outcome);
    } else if args.mode == "txn-read" {
        let outcome = transactions::read(&args.bootstrap, &args.run).await;
        report("listener", "txn-read-committed-from-java", outcome);
    } else if args.mode == "null-header" {
        let outcome = null_headers::read(&args.bootstrap, &args.run).await;
        report("listener", "null-header-from-java", outcome);
    } else if args.mode == "cross" {
        for producer in &args.from {
            let outcome = consume_from(&args.bootstrap, &args.run, producer).await;
            report("listener", &format!("consume-from-{producer}"), outcome);
        }
    } else {
        let (Some(with), Some(sync)) = (args.with, args.sync) else {
            eprintln!("interop-listener-peer: group-mixed needs --with PEER and --sync DIR");
            std::process::exit(2);
        };
        let outcome = group_mixed::run(&args.bootstrap, &args.run, &with, sync.as_ref()).await;
        report("group", &format!("group-mixed-{with}"), outcome);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_listener::Headers;

    fn as_consumed(producer: &str, i: usize) -> ConsumerRecord<Bytes, Bytes> {
        let (partition, offset, key, value, headers) = expected(producer, i);
        let mut wire = Headers::new();
        for (name, value) in headers {
            wire.push(name, Some(value));
        }
        ConsumerRecord {
            topic: format!("interop-r-{producer}"),
            partition,
            offset,
            key: Some(key.into()),
            value: Some(value.into()),
            headers: wire,
            ..ConsumerRecord::default()
        }
    }

    fn data_set(producer: &str) -> Vec<ConsumerRecord<Bytes, Bytes>> {
        (0..RECORDS).map(|i| as_consumed(producer, i)).collect()
    }

    #[test]
    fn record_42_is_the_documented_bytes() {
        let (partition, offset, key, value, headers) = expected("java", 42);
        assert_eq!((partition, offset), (0, 14));
        assert_eq!(key, b"key-0042");
        let mut want = b"value-42-".to_vec();
        want.extend(38u8..80); // (42 * 7 + j) mod 256 for j in 0..42
        assert_eq!(value, want);
        let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["bin", "producer", "seq"]);
        assert_eq!(headers[2].1, [0, 0, 0, 42]);
    }

    #[test]
    fn the_whole_data_set_in_any_order_verifies() {
        let mut records = data_set("java");
        records.reverse();
        assert_eq!(verify_data_set("java", &records), Ok(()));
    }

    #[test]
    fn one_changed_value_byte_fails() {
        let mut records = data_set("java");
        let mut value = records[7].value.clone().unwrap().to_vec();
        *value.last_mut().unwrap() ^= 1;
        records[7].value = Some(value.into());
        let error = verify_data_set("java", &records).unwrap_err();
        assert!(error.contains("record 7: value differs"), "{error}");
    }

    #[test]
    fn a_missing_or_duplicated_record_fails() {
        let mut records = data_set("confluent-kafka");
        records.remove(500);
        let error = verify_data_set("confluent-kafka", &records).unwrap_err();
        assert!(error.contains("1 of 1000 records never handled"), "{error}");
        records.push(as_consumed("confluent-kafka", 3));
        let error = verify_data_set("confluent-kafka", &records).unwrap_err();
        assert!(error.contains("record 3 handled twice"), "{error}");
    }

    #[test]
    fn another_producers_headers_or_a_wrong_offset_fail() {
        let records = data_set("java");
        let error = verify_data_set("confluent-kafka", &records).unwrap_err();
        assert!(error.contains("headers"), "{error}");
        let mut records = data_set("java");
        records[4].offset += 1;
        let error = verify_data_set("java", &records).unwrap_err();
        assert!(
            error.contains("record 4 at partition 1 offset 2"),
            "{error}"
        );
    }
}
