//! bench/run.sh's `raw-rskafka` consumer, the ceiling of our data plane: one hand-written fetch
//! loop per partition on rskafka, serde_json decoding of every value, no framework. rskafka has
//! no consumer groups and no offset commit, so this consumer commits nothing.
//!
//! ```text
//! bench_raw_rskafka --bootstrap B --topic T --partitions P --records N
//!     read T from earliest; prints `BENCH records=N first_us=F last_us=L id_sum=S` and
//!     `CONNECTIONS open=T data=D received=…` (the sockets it held at the end).
//! bench_raw_rskafka latency --bootstrap B --topic T --partitions P [--records M] [--rate R]
//!     the reference for bench_listener's latency scenario: creates T, reads it with these
//!     fetch loops while the paced producer writes; prints `LATENCY records=M p50_us=… …`.
//! ```

#[path = "bench_support/mod.rs"]
mod bench_support;

use std::sync::Arc;
use std::time::Duration;

use bench_support::paced_producer::PacedProducer;
use bench_support::{fail, Flags, Latencies, Payload, Progress};
use rskafka::client::partition::{OffsetAt, UnknownTopicHandling};
use rskafka::client::Client;
use tokio::task::JoinHandle;

/// The same fetch sizes our listener uses by default (1 byte min, 1 MiB max, 500 ms wait).
const FETCH_MAX_BYTES: i32 = 1024 * 1024;
const FETCH_MAX_WAIT_MS: i32 = 500;
/// How long the throughput read may take before the bench gives up.
const READ_TIMEOUT: Duration = Duration::from_secs(1800);

/// Starts one fetch loop per partition from its earliest offset; each decoded value goes to
/// `handle`. A fetch or decode error ends the process.
async fn spawn_fetchers(
    client: &Client,
    topic: &str,
    partitions: i32,
    handle: Arc<dyn Fn(Payload) + Send + Sync>,
) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    for partition in 0..partitions {
        let source = client
            .partition_client(topic.to_owned(), partition, UnknownTopicHandling::Retry)
            .await
            .unwrap_or_else(|e| fail(format!("partition {partition}: {e}")));
        let handle = Arc::clone(&handle);
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
                        Ok(payload) => handle(payload),
                        Err(e) => fail(format!(
                            "partition {partition} offset {}: {e}",
                            record.offset
                        )),
                    }
                }
            }
        }));
    }
    tasks
}

async fn connect(bootstrap: &str) -> Client {
    bench_support::security::connection(bootstrap)
        .rskafka_client()
        .await
        .unwrap_or_else(|e| fail(format!("connect to {bootstrap}: {e}")))
}

async fn throughput(flags: &Flags) -> String {
    let records = flags.number("records", 1_000_000);
    let client = connect(&flags.string("bootstrap")).await;
    let progress = Arc::new(Progress::new(records));
    let counter = Arc::clone(&progress);
    let tasks = spawn_fetchers(
        &client,
        &flags.string("topic"),
        flags.number("partitions", 6) as i32,
        Arc::new(move |payload: Payload| counter.handled(payload.id)),
    )
    .await;
    if tokio::time::timeout(READ_TIMEOUT, progress.wait())
        .await
        .is_err()
    {
        fail(format!(
            "read {} of {records} in {READ_TIMEOUT:?}",
            progress.count()
        ));
    }
    // While the fetch loops still hold their connections (see bench_support::sockets).
    let connections = bench_support::sockets::connections_line();
    tasks.iter().for_each(JoinHandle::abort);
    format!("{}\n{connections}", progress.result_line())
}

async fn latency(flags: &Flags) -> String {
    let bootstrap = flags.string("bootstrap");
    let topic = flags.string("topic");
    let partitions = flags.number("partitions", 6) as i32;
    let records = flags.number("records", 50_000);
    let rate = flags.number("rate", 10_000).max(1);
    let client = connect(&bootstrap).await;
    client
        .controller_client()
        .unwrap_or_else(|e| fail(format!("controller client: {e}")))
        .create_topic(&topic, partitions, 1, 30_000)
        .await
        .unwrap_or_else(|e| fail(format!("create topic {topic}: {e}")));
    let progress = Arc::new(Progress::new(records + 1));
    let latencies = Arc::new(Latencies::default());
    let (counter, delays) = (Arc::clone(&progress), Arc::clone(&latencies));
    let tasks = spawn_fetchers(
        &client,
        &topic,
        partitions,
        Arc::new(move |payload: Payload| {
            delays.record_since(payload.ts);
            counter.handled(payload.id);
        }),
    )
    .await;
    let producer = PacedProducer::connect(&bootstrap, &topic, partitions)
        .await
        .unwrap_or_else(|e| fail(e));
    producer
        .measure(&progress, &latencies, records, rate)
        .await
        .unwrap_or_else(|e| fail(e));
    tasks.iter().for_each(JoinHandle::abort);
    latencies.summary_line().unwrap_or_else(|e| fail(e))
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let latency_mode = args.next_if(|a| a == "latency").is_some();
    let flags = Flags::parse("bench_raw_rskafka", args);
    let line = if latency_mode {
        latency(&flags).await
    } else {
        throughput(&flags).await
    };
    println!("{line}");
}
