//! bench/run.sh's `raw-rskafka` consumer, the ceiling of our data plane: one hand-written fetch
//! loop per partition on rskafka, serde_json decoding of every value, no framework. rskafka has
//! no consumer groups and no offset commit, so this consumer commits nothing.
//!
//! ```text
//! cargo run --release --example bench_raw_rskafka -- --bootstrap B --topic T \
//!     --partitions P --records N
//! ```
//!
//! Prints `BENCH records=N first_us=F last_us=L id_sum=S` once N records were decoded.

#[path = "bench_support/mod.rs"]
mod bench_support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bench_support::{fail, Flags, Payload, Progress};
use kafka_listener::client::ConnectionConfig;
use rskafka::client::partition::{OffsetAt, UnknownTopicHandling};

/// The same fetch sizes our listener uses by default (1 byte min, 1 MiB max, 500 ms wait).
const FETCH_MAX_BYTES: i32 = 1024 * 1024;
const FETCH_MAX_WAIT_MS: i32 = 500;

#[tokio::main]
async fn main() {
    let flags = Flags::parse("bench_raw_rskafka", std::env::args().skip(1));
    let bootstrap = flags.string("bootstrap");
    let topic = flags.string("topic");
    let partitions = flags.number("partitions", 6) as i32;
    let records = flags.number("records", 1_000_000);

    let client = ConnectionConfig::new(bootstrap.split(','))
        .request_timeout(Duration::from_secs(30))
        .rskafka_client()
        .await
        .unwrap_or_else(|e| fail(format!("connect to {bootstrap}: {e}")));
    let progress = Arc::new(Progress::new(records));
    let mut tasks = Vec::new();
    for partition in 0..partitions {
        let source = client
            .partition_client(topic.clone(), partition, UnknownTopicHandling::Retry)
            .await
            .unwrap_or_else(|e| fail(format!("partition {partition}: {e}")));
        let progress = Arc::clone(&progress);
        tasks.push(tokio::spawn(async move {
            let mut offset = source
                .get_offset(OffsetAt::Earliest)
                .await
                .unwrap_or_else(|e| fail(format!("earliest offset of partition {partition}: {e}")));
            loop {
                let (batch, _high_watermark) = source
                    .fetch_records(offset, 1..FETCH_MAX_BYTES, FETCH_MAX_WAIT_MS)
                    .await
                    .unwrap_or_else(|e| {
                        fail(format!("fetch partition {partition} at {offset}: {e}"))
                    });
                for record in batch {
                    if record.offset < offset {
                        continue; // a fetch may return a batch from before the asked offset
                    }
                    offset = record.offset + 1;
                    let value = record.record.value.as_deref().unwrap_or_default();
                    match serde_json::from_slice::<Payload>(value) {
                        Ok(payload) => progress.handled(payload.id),
                        Err(e) => fail(format!(
                            "partition {partition} offset {}: {e}",
                            record.offset
                        )),
                    }
                }
            }
        }));
    }
    let started = Instant::now();
    tokio::select! {
        _ = progress.wait() => {}
        _ = tokio::time::sleep(Duration::from_secs(1800)) => {
            eprintln!("bench_raw_rskafka: {} of {records} after {:?}", progress.count(), started.elapsed());
            std::process::exit(1);
        }
    }
    for task in &tasks {
        task.abort();
    }
    println!("{}", progress.result_line());
}
