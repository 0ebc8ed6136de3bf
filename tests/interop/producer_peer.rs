//! Our `KafkaTemplate` as a peer of the interop runner (`tests/interop/run.sh`).
//!
//! ```text
//! interop-producer-peer same-partition --bootstrap B --run R    same-partition-as-java
//! ```
//!
//! Runs after the Java peer's `shared-keys` mode filled `interop-<run>-shared-keys` (6 partitions)
//! with 600 keyed records through kafka-clients' default partitioner. We send the same keys through
//! `KafkaTemplate`, then fetch every partition: each key must appear exactly twice, once from each
//! producer (header `producer`), both times on the same partition. The key set mirrors
//! `tests/interop/java/src/main/java/interop/SharedKeys.java`.
//!
//! Prints one `PASS template <scenario>` / `FAIL template <scenario> <reason>` line and exits 0;
//! bad arguments exit 2.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kafka_listener::config::KafkaProperties;
use kafka_listener::producer::{KafkaTemplate, ProducerRecord, ProducerSettings};
use kafka_listener::Headers;
use rskafka::client::partition::UnknownTopicHandling;

const PEER: &str = "template";
const KEYS: usize = 600;
const PARTITIONS: i32 = 6;
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(90);

/// Key `i`, byte for byte as `SharedKeys.key(i)` in the Java peer.
fn key(i: usize) -> Vec<u8> {
    match i % 4 {
        0 => format!("order-{i}").into_bytes(),
        1 => format!("клиент-{i}-ü").into_bytes(),
        2 => format!("キー{i}🔑").into_bytes(),
        _ => (i as i64 * 2_654_435_761).to_be_bytes().to_vec(),
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some("same-partition"), Some(bootstrap), Some(run)) = (
        args.first().map(String::as_str),
        option(&args, "--bootstrap"),
        option(&args, "--run"),
    ) else {
        eprintln!("usage: interop-producer-peer same-partition --bootstrap HOST:PORT --run ID");
        std::process::exit(2);
    };
    let outcome = tokio::time::timeout(SCENARIO_TIMEOUT, same_partition(&bootstrap, &run))
        .await
        .unwrap_or_else(|_| Err(format!("not done within {SCENARIO_TIMEOUT:?}")));
    match outcome {
        Ok(()) => println!("PASS {PEER} same-partition-as-java"),
        Err(reason) => println!(
            "FAIL {PEER} same-partition-as-java {}",
            reason.replace('\n', " ")
        ),
    }
}

fn option(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

async fn same_partition(bootstrap: &str, run: &str) -> Result<(), String> {
    let topic = format!("interop-{run}-shared-keys");
    // `spring.kafka.*` with no application file: what SPRING_CONFIG_ADDITIONAL_LOCATION adds
    // (run.sh --security points it at the broker's client-security.yml), else PLAINTEXT.
    let connection = KafkaProperties::from_yaml_str("{}")
        .map_err(|e| format!("client settings: {e}"))?
        .producer_connection()
        .with_bootstrap_servers(bootstrap.split(','))
        .client_id("interop-template")
        .request_timeout(Duration::from_secs(30));
    let template = KafkaTemplate::connect(connection.clone(), ProducerSettings::default())
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let partitions = template
        .partition_count(&topic)
        .await
        .map_err(|e| format!("metadata of {topic}: {e}"))?;
    if partitions != PARTITIONS {
        return Err(format!(
            "{topic} has {partitions} partitions, expected {PARTITIONS}"
        ));
    }
    let sends = (0..KEYS).map(|i| {
        let template = template.clone();
        let topic = topic.clone();
        async move {
            let mut headers = Headers::new();
            headers.push("producer", Some(PEER));
            template
                .send_record(ProducerRecord {
                    topic,
                    key: Some(key(i).into()),
                    value: Some(PEER.as_bytes().to_vec().into()),
                    headers,
                    ..ProducerRecord::default()
                })
                .await
                .map_err(|e| format!("send key {i}: {e}"))
        }
    });
    let tasks: Vec<_> = sends.map(tokio::spawn).collect();
    for task in tasks {
        task.await.map_err(|e| format!("send task: {e}"))??;
    }

    // key -> producer -> partitions it was found on
    let mut found: BTreeMap<Vec<u8>, BTreeMap<String, Vec<i32>>> = BTreeMap::new();
    let client = connection
        .rskafka_client()
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let deadline = Instant::now() + SCENARIO_TIMEOUT;
    for partition in 0..PARTITIONS {
        let partition_client = client
            .partition_client(&topic, partition, UnknownTopicHandling::Retry)
            .await
            .map_err(|e| format!("partition {partition}: {e}"))?;
        let mut offset = 0;
        loop {
            let (records, high_watermark) = partition_client
                .fetch_records(offset, 1..1_000_000, 200)
                .await
                .map_err(|e| format!("fetch partition {partition} at {offset}: {e}"))?;
            for record in records {
                offset = record.offset + 1;
                let producer = record
                    .record
                    .headers
                    .get("producer")
                    .map(|p| String::from_utf8_lossy(p).into_owned())
                    .unwrap_or_default();
                let key = record.record.key.unwrap_or_default();
                found
                    .entry(key)
                    .or_default()
                    .entry(producer)
                    .or_default()
                    .push(partition);
            }
            if offset >= high_watermark {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("timed out reading partition {partition}"));
            }
        }
    }

    let mut placed = 0;
    for i in 0..KEYS {
        let key = key(i);
        let by_producer = found.get(&key);
        let java = by_producer.and_then(|p| p.get("java"));
        let ours = by_producer.and_then(|p| p.get(PEER));
        match (java.map(Vec::as_slice), ours.map(Vec::as_slice)) {
            (Some([java]), Some([ours])) if java == ours => placed += 1,
            (java, ours) => {
                return Err(format!(
                    "key {i} ({}): Java's producer put it on {java:?}, ours on {ours:?}",
                    String::from_utf8_lossy(&key)
                ))
            }
        }
    }
    let partitions_used = found
        .values()
        .filter_map(|p| p.get(PEER))
        .flatten()
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if partitions_used != PARTITIONS as usize {
        return Err(format!(
            "the keys used only {partitions_used} of {PARTITIONS} partitions"
        ));
    }
    eprintln!("all {placed} keys on Java's partition, spread over {partitions_used} partitions");
    Ok(())
}
