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
//! Prints `BENCH records=N first_us=F last_us=L id_sum=S` and `CONNECTIONS open=T data=D
//! received=…` (the sockets the App held when the last record was handled; see
//! bench_support::sockets) (throughput, parallel) or `LATENCY records=M p50_us=A p99_us=B
//! max_us=C` (latency).
//!
//! A secured cluster: `SPRING_CONFIG_ADDITIONAL_LOCATION=<kafka.sh state>/client-security.yml`
//! gives the App its security settings, as it would a service; the paced producer reads
//! `client.env`'s `KAFKA_*` variables (bench_support::security).

#[path = "bench_support/mod.rs"]
mod bench_support;

use std::sync::Arc;
use std::time::Duration;

use bench_support::paced_producer::PacedProducer;
use bench_support::{fail, Flags, Latencies, Payload, Progress};
use kafka_listener::{kafka_listener, Acknowledgment, App, Json, NewTopic, State};

const THROUGHPUT_LISTENER: &str = "bench-throughput";
const SLOW_LISTENER: &str = "bench-slow-handler";
const LATENCY_LISTENER: &str = "bench-latency";
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
    latencies.record_since(payload.ts);
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

/// Runs `listener` until `progress` counted every expected record, then shuts the App down;
/// returns the `CONNECTIONS …` line of the sockets the App held just before the shutdown.
async fn consume(
    listener: &str,
    bootstrap: &str,
    yml: &str,
    progress: Arc<Progress>,
    expected: u64,
) -> Result<String, String> {
    let app = App::from_yaml_str(yml)
        .map_err(|e| format!("configuration: {e}"))?
        .bootstrap(bootstrap)
        .shared_state(Arc::clone(&progress))
        .listeners([listener])
        .start()
        .await
        .map_err(|e| format!("start the app: {e}"))?;
    let finished = tokio::time::timeout(SCENARIO_TIMEOUT, progress.wait()).await;
    // RunningApp does not expose its members' Fetchers, so count sockets while they are open.
    let connections = bench_support::sockets::connections_line();
    app.shutdown().await.map_err(|e| format!("shutdown: {e}"))?;
    finished.map_err(|_| {
        format!(
            "handled {} of {expected} records in {SCENARIO_TIMEOUT:?}",
            progress.count()
        )
    })?;
    Ok(connections)
}

async fn latency(flags: &Flags) -> Result<String, String> {
    let bootstrap = flags.string("bootstrap");
    let topic = flags.string("topic");
    let group = flags.string("group");
    let partitions = flags.number("partitions", 6) as i32;
    let records = flags.number("records", 50_000);
    let rate = flags.number("rate", 10_000).max(1);

    // The warm-up record counts too (see PacedProducer::measure).
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
    let measured = match PacedProducer::connect(&bootstrap, &topic, partitions).await {
        Ok(producer) => producer.measure(&progress, &latencies, records, rate).await,
        Err(e) => Err(e),
    };
    app.shutdown().await.map_err(|e| format!("shutdown: {e}"))?;
    measured?;
    latencies.summary_line()
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
    let connections = consume(
        listener,
        &flags.string("bootstrap"),
        &yml,
        Arc::clone(&progress),
        records,
    )
    .await?;
    Ok(format!("{}\n{connections}", progress.result_line()))
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
