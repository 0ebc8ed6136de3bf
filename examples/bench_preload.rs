//! bench/run.sh's preloader: creates the bench topic and writes N JSON records of about B bytes
//! with K distinct string keys, each record to the partition Java's producer would pick for its
//! key, in batches, all partitions at once.
//!
//! ```text
//! cargo run --release --example bench_preload -- --bootstrap B --topic T \
//!     [--partitions 6] [--records 1000000] [--size 100] [--keys 10000]
//! ```
//!
//! Prints `PRELOADED records=N bytes=V seconds=S` (V: total value bytes) when every batch was
//! acknowledged.

#[path = "bench_support/mod.rs"]
mod bench_support;

use std::time::{Duration, Instant};

use bench_support::{fail, key_of, now_us, value_of, Flags};
use kafka_listener::producer::partition_for_key;
use rskafka::client::partition::{Compression, PartitionClient, UnknownTopicHandling};
use rskafka::client::Client;
use rskafka::record::Record;

/// Values per produce request stay under the broker's default 1 MiB message.max.bytes.
const BATCH_BYTES: usize = 512 * 1024;

async fn partition_client(client: &Client, topic: &str, partition: i32) -> PartitionClient {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match client
            .partition_client(topic, partition, UnknownTopicHandling::Retry)
            .await
        {
            Ok(p) => return p,
            Err(e) if Instant::now() > deadline => fail(format!(
                "partition {partition} of {topic} never became available: {e}"
            )),
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

#[tokio::main]
async fn main() {
    let flags = Flags::parse("bench_preload", std::env::args().skip(1));
    let bootstrap = flags.string("bootstrap");
    let topic = flags.string("topic");
    let partitions = flags.number("partitions", 6) as i32;
    let records = flags.number("records", 1_000_000);
    let size = flags.number("size", 100) as usize;
    let keys = flags.number("keys", 10_000).max(1);

    let client = bench_support::security::connection(&bootstrap)
        .rskafka_client()
        .await
        .unwrap_or_else(|e| fail(format!("connect to {bootstrap}: {e}")));
    client
        .controller_client()
        .expect("a controller client")
        .create_topic(&topic, partitions, 1, 30_000)
        .await
        .unwrap_or_else(|e| fail(format!("create topic {topic}: {e}")));

    let started = Instant::now();
    let per_batch = (BATCH_BYTES / size.max(1)).max(1);
    let mut tasks = Vec::new();
    for partition in 0..partitions {
        let target = partition_client(&client, &topic, partition).await;
        tasks.push(tokio::spawn(async move {
            let mut batch = Vec::with_capacity(per_batch);
            let mut bytes = 0usize;
            let timestamp =
                rskafka::chrono::DateTime::from_timestamp_millis((now_us() / 1000) as i64)
                    .unwrap_or_default();
            for id in 0..records {
                let key = key_of(id, keys);
                if partition_for_key(key.as_bytes(), partitions) != partition {
                    continue;
                }
                let value = value_of(id, &key, now_us(), size);
                bytes += value.len();
                batch.push(Record {
                    key: Some(key.into_bytes()),
                    value: Some(value),
                    headers: Default::default(),
                    timestamp,
                });
                if batch.len() == per_batch {
                    target
                        .produce(std::mem::take(&mut batch), Compression::NoCompression)
                        .await
                        .unwrap_or_else(|e| fail(format!("produce to partition {partition}: {e}")));
                }
            }
            if !batch.is_empty() {
                target
                    .produce(batch, Compression::NoCompression)
                    .await
                    .unwrap_or_else(|e| fail(format!("produce to partition {partition}: {e}")));
            }
            bytes
        }));
    }
    let mut bytes = 0;
    for task in tasks {
        bytes += task.await.expect("a preload task panicked");
    }
    println!(
        "PRELOADED records={records} bytes={bytes} seconds={:.2}",
        started.elapsed().as_secs_f64()
    );
}
