//! The rskafka peer of the third-party interop runner (`tests/interop/run.sh`).
//!
//! rskafka has no consumer groups, so this peer only produces the shared data set and reads the
//! other peers' data sets partition by partition (see `tests/interop/README.md` for the data set):
//!
//! ```text
//! interop-rskafka-peer produce --bootstrap B --run R                create-topic, produce-1000
//! interop-rskafka-peer cross   --bootstrap B --run R --from P [...]  consume-from-P per producer
//! ```
//!
//! Prints one `PASS rskafka <scenario>` / `FAIL rskafka <scenario> <reason>` line per scenario and
//! exits 0 (the runner counts the lines); bad arguments exit 2.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kafka_listener::config::KafkaProperties;
use rskafka::client::partition::{Compression, UnknownTopicHandling};
use rskafka::client::Client;
use rskafka::record::Record;

const PEER: &str = "rskafka";
const RECORDS: usize = 1000;
const PARTITIONS: i32 = 3;
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(90);

/// Record `i` of `producer`'s data set, as every peer writes it.
struct Expected {
    partition: i32,
    offset: i64,
    key: Vec<u8>,
    value: Vec<u8>,
    headers: BTreeMap<String, Vec<u8>>,
}

fn expected(producer: &str, i: usize) -> Expected {
    let mut value = format!("value-{i}-").into_bytes();
    value.extend((0..i % 50).map(|j| ((i * 7 + j) % 256) as u8));
    let headers = BTreeMap::from([
        ("bin".to_owned(), vec![(i % 256) as u8, 0, 255]),
        ("producer".to_owned(), producer.as_bytes().to_vec()),
        ("seq".to_owned(), (i as i32).to_be_bytes().to_vec()),
    ]);
    Expected {
        partition: (i % PARTITIONS as usize) as i32,
        offset: (i / PARTITIONS as usize) as i64,
        key: format!("key-{i:04}").into_bytes(),
        value,
        headers,
    }
}

/// rskafka's chrono is built without its clock, so the wall clock comes from std.
fn now() -> rskafka::chrono::DateTime<rskafka::chrono::Utc> {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    rskafka::chrono::DateTime::from_timestamp_millis(millis).unwrap_or_default()
}

fn data_topic(run: &str, producer: &str) -> String {
    format!("interop-{run}-{producer}")
}

fn report(scenario: &str, outcome: Result<(), String>) {
    match outcome {
        Ok(()) => println!("PASS {PEER} {scenario}"),
        Err(reason) => println!("FAIL {PEER} {scenario} {}", reason.replace('\n', " ")),
    }
}

/// rskafka's client through our `ConnectionConfig`, secured as `spring.kafka.*` says: with no
/// application file that is what `SPRING_CONFIG_ADDITIONAL_LOCATION` adds (run.sh --security
/// points it at the broker's client-security.yml), else PLAINTEXT.
async fn connect(bootstrap: &str) -> Result<Client, String> {
    KafkaProperties::from_yaml_str("{}")
        .map_err(|e| format!("client settings: {e}"))?
        .admin_connection()
        .with_bootstrap_servers(bootstrap.split(','))
        .client_id("interop-rskafka")
        .request_timeout(Duration::from_secs(30))
        .rskafka_client()
        .await
        .map_err(|e| format!("connect to {bootstrap}: {e}"))
}

async fn create_topic(client: &Client, topic: &str) -> Result<(), String> {
    client
        .controller_client()
        .map_err(|e| format!("controller client: {e}"))?
        .create_topic(topic, PARTITIONS, 1, 30_000)
        .await
        .map_err(|e| format!("create {topic}: {e}"))?;
    let deadline = Instant::now() + SCENARIO_TIMEOUT;
    loop {
        let topics = client
            .list_topics()
            .await
            .map_err(|e| format!("list topics: {e}"))?;
        if topics
            .iter()
            .any(|t| t.name == topic && t.partitions.len() == PARTITIONS as usize)
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{topic} never showed {PARTITIONS} partitions"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn produce(client: &Client, topic: &str) -> Result<(), String> {
    for partition in 0..PARTITIONS {
        let partition_client = client
            .partition_client(topic, partition, UnknownTopicHandling::Retry)
            .await
            .map_err(|e| format!("partition {partition}: {e}"))?;
        let indices: Vec<usize> = (0..RECORDS)
            .filter(|i| expected(PEER, *i).partition == partition)
            .collect();
        // Batches of 100 keep each request well below the broker's message size limit.
        for chunk in indices.chunks(100) {
            let records = chunk
                .iter()
                .map(|&i| {
                    let want = expected(PEER, i);
                    Record {
                        key: Some(want.key),
                        value: Some(want.value),
                        headers: want.headers,
                        timestamp: now(),
                    }
                })
                .collect();
            let offsets = partition_client
                .produce(records, Compression::NoCompression)
                .await
                .map_err(|e| format!("produce to partition {partition}: {e}"))?;
            for (&i, offset) in chunk.iter().zip(&offsets) {
                let want = expected(PEER, i).offset;
                if *offset != want {
                    return Err(format!(
                        "record {i} acknowledged at offset {offset}, expected {want}"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Reads every partition of `producer`'s topic from offset 0 and compares each record with the
/// data set, byte for byte.
async fn consume_from(client: &Client, run: &str, producer: &str) -> Result<(), String> {
    let topic = data_topic(run, producer);
    let deadline = Instant::now() + SCENARIO_TIMEOUT;
    let mut seen = BTreeSet::new();
    for partition in 0..PARTITIONS {
        let partition_client = client
            .partition_client(&topic, partition, UnknownTopicHandling::Retry)
            .await
            .map_err(|e| format!("partition {partition}: {e}"))?;
        let want_in_partition = (0..RECORDS)
            .filter(|i| expected(producer, *i).partition == partition)
            .count() as i64;
        let mut offset = 0;
        while offset < want_in_partition {
            if Instant::now() > deadline {
                return Err(format!(
                    "timed out in partition {partition} at offset {offset} of {want_in_partition}"
                ));
            }
            let (records, _high_watermark) = partition_client
                .fetch_records(offset, 1..1_000_000, 500)
                .await
                .map_err(|e| format!("fetch partition {partition} at {offset}: {e}"))?;
            for record_and_offset in records {
                let record = record_and_offset.record;
                let at = record_and_offset.offset;
                let seq = record
                    .headers
                    .get("seq")
                    .and_then(|v| <[u8; 4]>::try_from(v.as_slice()).ok())
                    .map(i32::from_be_bytes)
                    .ok_or_else(|| format!("partition {partition} offset {at}: no seq header"))?;
                let i = usize::try_from(seq)
                    .ok()
                    .filter(|i| *i < RECORDS)
                    .ok_or_else(|| format!("seq {seq} out of range"))?;
                let want = expected(producer, i);
                let place = format!("record {i} (partition {partition} offset {at})");
                if want.partition != partition || want.offset != at {
                    return Err(format!(
                        "{place}: expected partition {} offset {}",
                        want.partition, want.offset
                    ));
                }
                if record.key.as_deref() != Some(want.key.as_slice()) {
                    return Err(format!("{place}: key differs"));
                }
                if record.value.as_deref() != Some(want.value.as_slice()) {
                    return Err(format!("{place}: value differs"));
                }
                if record.headers != want.headers {
                    return Err(format!("{place}: headers {:?} differ", record.headers));
                }
                if !seen.insert(i) {
                    return Err(format!("{place}: delivered twice"));
                }
                offset = at + 1;
            }
        }
    }
    if seen.len() != RECORDS {
        return Err(format!("{} of {RECORDS} records", seen.len()));
    }
    Ok(())
}

struct Args {
    mode: String,
    bootstrap: String,
    run: String,
    producers: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().ok_or("missing mode (produce or cross)")?;
    if mode != "produce" && mode != "cross" {
        return Err(format!("unknown mode {mode:?} (produce or cross)"));
    }
    let (mut bootstrap, mut run, mut producers) = (None, None, Vec::new());
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--bootstrap" => bootstrap = Some(value),
            "--run" => run = Some(value),
            "--from" => producers.push(value),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(Args {
        mode,
        bootstrap: bootstrap.ok_or("--bootstrap HOST:PORT is required")?,
        run: run.ok_or("--run ID is required")?,
        producers,
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("interop-rskafka-peer: {message}");
            eprintln!(
                "usage: interop-rskafka-peer produce|cross --bootstrap B --run R [--from P ...]"
            );
            std::process::exit(2);
        }
    };
    let client = connect(&args.bootstrap).await;
    if args.mode == "produce" {
        let topic = data_topic(&args.run, PEER);
        let created = match &client {
            Ok(client) => create_topic(client, &topic).await,
            Err(e) => Err(e.clone()),
        };
        report("create-topic", created);
        let produced = match &client {
            Ok(client) => produce(client, &topic).await,
            Err(e) => Err(e.clone()),
        };
        report("produce-1000", produced);
    } else {
        for producer in &args.producers {
            let outcome = match &client {
                Ok(client) => consume_from(client, &args.run, producer).await,
                Err(e) => Err(e.clone()),
            };
            report(&format!("consume-from-{producer}"), outcome);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_42_is_the_documented_bytes() {
        let record = expected("java", 42);
        assert_eq!((record.partition, record.offset), (0, 14));
        assert_eq!(record.key, b"key-0042");
        let mut value = b"value-42-".to_vec();
        value.extend(38u8..80); // (42 * 7 + j) mod 256 for j in 0..42
        assert_eq!(record.value, value);
        assert_eq!(record.headers["bin"], [42, 0, 255]);
        assert_eq!(record.headers["producer"], b"java");
        assert_eq!(record.headers["seq"], [0, 0, 0, 42]);
        let names: Vec<&str> = record.headers.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            ["bin", "producer", "seq"],
            "the documented header order"
        );
    }

    #[test]
    fn data_set_fills_partitions_in_order_without_gaps() {
        for partition in 0..PARTITIONS {
            let offsets: Vec<i64> = (0..RECORDS)
                .map(|i| expected(PEER, i))
                .filter(|r| r.partition == partition)
                .map(|r| r.offset)
                .collect();
            let want: Vec<i64> = (0..offsets.len() as i64).collect();
            assert_eq!(offsets, want, "partition {partition}");
        }
    }
}
