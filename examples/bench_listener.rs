//! bench/run.sh's `kafka-listener` consumer and the parallel and latency scenarios: real
//! `#[kafka_listener]` functions run by [`App`] with the settings a user would have, MANUAL ack.
//!
//! ```text
//! bench_listener throughput --bootstrap B --topic T --group G --records N
//!     decode (Json<Payload>), acknowledge, count; stop the App cleanly after N records.
//! bench_listener parallel   --bootstrap B --topic T --group G --records N [--parallelism K]
//!     the same, but the handler awaits 1 ms per record; K > 1 sets
//!     kafka-listener.parallelism.max-in-flight: K with ordering: key.
//! bench_listener latency    --bootstrap B --topic T --group G --partitions P
//!     [--records M] [--rate R]
//!     creates T, then a producer paced at R records/s stamps each value with its send time;
//!     the handler records (handling time - stamp).
//! ```
//!
//! Prints `BENCH records=N first_us=F last_us=L id_sum=S` (throughput, parallel) or
//! `LATENCY records=M p50_us=A p99_us=B max_us=C` (latency).

#[path = "bench_support/mod.rs"]
mod bench_support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bench_support::{fail, key_of, now_us, value_of, Flags, Payload, Progress};
use kafka_listener::client::ConnectionConfig;
use kafka_listener::producer::partition_for_key;
use kafka_listener::{kafka_listener, Acknowledgment, App, Json, NewTopic, State};
use rskafka::chrono::DateTime;
use rskafka::client::partition::{Compression, PartitionClient, UnknownTopicHandling};
use rskafka::record::Record;

const THROUGHPUT_LISTENER: &str = "bench-throughput";
const SLOW_LISTENER: &str = "bench-slow-handler";
const LATENCY_LISTENER: &str = "bench-latency";
/// How often the paced producer sends what is due: one produce request per partition per tick.
/// Kafka serves one request per connection at a time, so a 1 ms tick (6,000 requests/s) queued
/// up behind the broker; 5 ms is Kafka 4's default linger.ms.
const SEND_TICK: Duration = Duration::from_millis(5);
/// How long any one scenario may take before the bench gives up.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(1800);

/// The throughput consumer: what a service's listener does with each record, minus the work.
#[kafka_listener(
    id = "bench-throughput",
    topics = "${bench.topic}",
    group_id = "${bench.group}",
    ack_mode = "MANUAL"
)]
async fn on_bench_record(payload: Json<Payload>, progress: State<Progress>, ack: Acknowledgment) {
    ack.acknowledge();
    progress.handled(payload.id);
}

/// An I/O-bound handler: every record waits 1 ms (a remote call, say) before it is acknowledged.
#[kafka_listener(
    id = "bench-slow-handler",
    topics = "${bench.topic}",
    group_id = "${bench.group}",
    ack_mode = "MANUAL"
)]
async fn on_slow_record(payload: Json<Payload>, progress: State<Progress>, ack: Acknowledgment) {
    tokio::time::sleep(Duration::from_millis(1)).await;
    ack.acknowledge();
    progress.handled(payload.id);
}

/// Handling delays in µs: handler time minus the producer's stamp in the value.
#[derive(Default)]
struct Latencies(Mutex<Vec<u64>>);

impl Latencies {
    fn record(&self, delay_us: u64) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(delay_us);
    }
}

/// The latency probe: how long after its send a record reaches the handler.
#[kafka_listener(
    id = "bench-latency",
    topics = "${bench.topic}",
    group_id = "${bench.group}",
    ack_mode = "MANUAL"
)]
async fn on_latency_record(
    payload: Json<Payload>,
    latencies: State<Latencies>,
    progress: State<Progress>,
    ack: Acknowledgment,
) {
    let delay = now_us().saturating_sub(payload.ts);
    latencies.record(delay);
    ack.acknowledge();
    progress.handled(payload.id);
}

/// The application.yml of every scenario: earliest offsets for a fresh group, and optionally
/// key-ordered parallelism for the whole application.
fn application_yml(topic: &str, group: &str, parallelism: u64) -> String {
    let mut yml = format!(
        "spring:
  kafka:
    consumer:
      auto-offset-reset: earliest
bench:
  topic: {topic}
  group: {group}
"
    );
    if parallelism > 1 {
        yml.push_str(&format!(
            "kafka-listener:
  parallelism:
    max-in-flight: {parallelism}
    ordering: key
"
        ));
    }
    yml
}

/// Runs `listener` until `progress` counted every expected record, then shuts the App down.
async fn consume(
    listener: &str,
    bootstrap: &str,
    yml: &str,
    progress: Arc<Progress>,
    expected: u64,
) -> Result<(), String> {
    let app = App::from_yaml_str(yml)
        .map_err(|e| format!("configuration: {e}"))?
        .bootstrap(bootstrap)
        .shared_state(Arc::clone(&progress))
        .listeners([listener])
        .start()
        .await
        .map_err(|e| format!("start the app: {e}"))?;
    let finished = tokio::time::timeout(SCENARIO_TIMEOUT, progress.wait()).await;
    app.shutdown().await.map_err(|e| format!("shutdown: {e}"))?;
    finished.map_err(|_| {
        format!(
            "handled {} of {expected} records in {SCENARIO_TIMEOUT:?}",
            progress.count()
        )
    })
}

/// A producer paced at a fixed rate: every [`SEND_TICK`] it sends the records that are due, one
/// produce request per partition, each value stamped with the time it was built. rskafka directly
/// rather than our `KafkaTemplate`: the template's per-record `send` reached only ~2,200 records/s
/// here (2026-11-25), so its backlog, not the listener, would have been measured.
struct PacedProducer {
    partitions: Vec<Arc<PartitionClient>>,
}

impl PacedProducer {
    async fn connect(bootstrap: &str, topic: &str, partitions: i32) -> Result<Self, String> {
        let client = ConnectionConfig::new(bootstrap.split(','))
            .request_timeout(Duration::from_secs(30))
            .rskafka_client()
            .await
            .map_err(|e| format!("connect the producer: {e}"))?;
        let mut clients = Vec::new();
        for partition in 0..partitions {
            let deadline = Instant::now() + Duration::from_secs(60);
            let partition_client = loop {
                match client
                    .partition_client(topic, partition, UnknownTopicHandling::Retry)
                    .await
                {
                    Ok(p) => break p,
                    Err(e) if Instant::now() > deadline => {
                        return Err(format!("partition {partition} of {topic}: {e}"))
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            };
            clients.push(Arc::new(partition_client));
        }
        Ok(Self {
            partitions: clients,
        })
    }

    /// Sends records `first_id..first_id + records` at `rate` per second; returns once every
    /// produce request was acknowledged.
    async fn send(&self, records: u64, rate: u64, first_id: u64) -> Result<(), String> {
        let count = self.partitions.len() as i32;
        let started = Instant::now();
        let mut sent = 0u64;
        let mut ticks = tokio::time::interval(SEND_TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut in_flight = tokio::task::JoinSet::new();
        while sent < records {
            ticks.tick().await;
            let due = (started.elapsed().as_micros() as u64 * rate / 1_000_000).min(records);
            let mut batches: Vec<Vec<Record>> = vec![Vec::new(); self.partitions.len()];
            let now = now_us();
            let timestamp =
                DateTime::from_timestamp_millis((now / 1000) as i64).unwrap_or_default();
            for id in first_id + sent..first_id + due {
                let key = key_of(id, 10_000);
                let partition = partition_for_key(key.as_bytes(), count) as usize;
                let value = value_of(id, &key, now, 100);
                batches[partition].push(Record {
                    key: Some(key.into_bytes()),
                    value: Some(value),
                    headers: Default::default(),
                    timestamp,
                });
            }
            sent = due;
            for (partition, batch) in batches.into_iter().enumerate() {
                if batch.is_empty() {
                    continue;
                }
                let client = Arc::clone(&self.partitions[partition]);
                in_flight.spawn(async move {
                    client
                        .produce(batch, Compression::NoCompression)
                        .await
                        .map_err(|e| format!("produce to partition {partition}: {e}"))
                });
            }
            while let Some(done) = in_flight.try_join_next() {
                done.map_err(|e| format!("a produce task failed: {e}"))??;
            }
        }
        while let Some(done) = in_flight.join_next().await {
            done.map_err(|e| format!("a produce task failed: {e}"))??;
        }
        Ok(())
    }
}

async fn latency(flags: &Flags) -> Result<String, String> {
    let bootstrap = flags.string("bootstrap");
    let topic = flags.string("topic");
    let group = flags.string("group");
    let partitions = flags.number("partitions", 6) as i32;
    let records = flags.number("records", 50_000);
    let rate = flags.number("rate", 10_000).max(1);

    // One warm-up record proves the group formed and the fetchers run before the clock starts.
    let progress = Arc::new(Progress::new(records + 1));
    let latencies = Arc::new(Latencies::default());
    let app = App::from_yaml_str(&application_yml(&topic, &group, 1))
        .map_err(|e| format!("configuration: {e}"))?
        .bootstrap(&bootstrap)
        .topic(NewTopic::new(&topic).partitions(partitions))
        .shared_state(Arc::clone(&progress))
        .shared_state(Arc::clone(&latencies))
        .listeners([LATENCY_LISTENER])
        .start()
        .await
        .map_err(|e| format!("start the app: {e}"))?;
    let producer = PacedProducer::connect(&bootstrap, &topic, partitions).await?;
    producer.send(1, rate, 0).await?;
    let warm = Instant::now();
    while progress.count() < 1 {
        if warm.elapsed() > Duration::from_secs(120) {
            return Err("the warm-up record was never handled".into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    latencies
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clear();
    let sending = Instant::now();
    producer.send(records, rate, 1).await?;
    let send_seconds = sending.elapsed().as_secs_f64();
    // If the producer could not keep the pace, the latency includes its backlog: say so.
    eprintln!(
        "bench_listener: sent and acknowledged {records} records in {send_seconds:.2} s \
         (target {:.2} s)",
        records as f64 / rate as f64
    );
    let finished = tokio::time::timeout(SCENARIO_TIMEOUT, progress.wait()).await;
    app.shutdown().await.map_err(|e| format!("shutdown: {e}"))?;
    finished.map_err(|_| format!("handled {} of {records}", progress.count()))?;
    let mut delays = std::mem::take(&mut *latencies.0.lock().unwrap_or_else(|e| e.into_inner()));
    if delays.is_empty() {
        return Err("no latency was recorded".into());
    }
    delays.sort_unstable();
    let at = |q: f64| delays[((delays.len() - 1) as f64 * q).round() as usize];
    Ok(format!(
        "LATENCY records={} p50_us={} p99_us={} max_us={}",
        delays.len(),
        at(0.50),
        at(0.99),
        delays[delays.len() - 1]
    ))
}

async fn run(mode: &str, flags: &Flags) -> Result<String, String> {
    if mode == "latency" {
        return latency(flags).await;
    }
    let (listener, parallelism) = match mode {
        "throughput" => (THROUGHPUT_LISTENER, 1),
        "parallel" => (SLOW_LISTENER, flags.number("parallelism", 1)),
        other => fail(format!(
            "unknown mode {other:?} (throughput, parallel or latency)"
        )),
    };
    let records = flags.number("records", 1_000_000);
    let yml = application_yml(&flags.string("topic"), &flags.string("group"), parallelism);
    let progress = Arc::new(Progress::new(records));
    consume(
        listener,
        &flags.string("bootstrap"),
        &yml,
        Arc::clone(&progress),
        records,
    )
    .await?;
    Ok(progress.result_line())
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
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| {
        fail("usage: bench_listener throughput|parallel|latency --bootstrap B …")
    });
    let flags = Flags::parse("bench_listener", args);
    match run(&mode, &flags).await {
        Ok(line) => println!("{line}"),
        Err(message) => fail(format!("{mode}: {message}")),
    }
}
