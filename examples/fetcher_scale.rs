//! What one member's fetcher costs with many partitions: connections, Fetch requests per second
//! while every partition is idle, CPU and peak RSS.
//!
//! ```sh
//! deploy/local/kafka.sh start --brokers 3          # then export its KAFKA_BOOTSTRAP_SERVERS line
//! cargo run --release --example fetcher_scale -- --partitions 1000 --seconds 10
//! ```
//!
//! Without `KAFKA_BOOTSTRAP_SERVERS` it runs on the embedded broker. Every partition gets one
//! task that keeps a fetch outstanding, as a partition worker does; after a warm-up the example
//! counts Fetch requests and CPU time over the window. Last line:
//! `fetcher_scale: partitions=P brokers=B connections=C idle_fetch_requests_per_s=R cpu_ms_per_s=U peak_rss_mib=M`.

use std::time::{Duration, Instant};

use kafka_listener::client::fetch::{FetchSettings, Fetcher};
use kafka_listener_suite::{unique_name, TestKafka};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number"))
        })
        .unwrap_or(default)
}

/// User + system CPU time of this process so far.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("/proc/self/stat");
    // Fields after the command name (which ends with ')'): utime is the 14th field, stime the
    // 15th, counted from 1 over the whole line.
    let after = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // Linux reports in clock ticks of 1/100 s (USER_HZ) on every platform Rust supports here.
    Duration::from_millis(ticks * 10)
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

#[tokio::main]
async fn main() {
    let partitions = arg("--partitions", 1000) as i32;
    let window = Duration::from_secs(arg("--seconds", 10));
    let kafka = TestKafka::start().await;
    let topic = unique_name("fetcher-scale");
    eprintln!("fetcher_scale: creating {topic} with {partitions} partitions");
    kafka.create_topic(&topic, partitions).await;

    let fetcher = Fetcher::new(kafka.connection().clone(), FetchSettings::default());
    let mut tasks = Vec::new();
    for partition in 0..partitions {
        let partition = fetcher.partition(&topic, partition);
        tasks.push(tokio::spawn(async move {
            let mut position = 0;
            loop {
                match partition.fetch(position).await {
                    Ok(fetched) => position = fetched.next_position,
                    Err(error) => eprintln!("fetch failed: {error}"),
                }
            }
        }));
    }
    // Warm-up: every partition routed and fetched at least once.
    let warm_up = Instant::now();
    while !(0..partitions).all(|p| fetcher.lag(&topic, p).is_some()) {
        assert!(
            warm_up.elapsed() < Duration::from_secs(120),
            "not every partition was fetched within 2 minutes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (requests_before, cpu_before, started) =
        (fetcher.fetch_requests(), cpu_time(), Instant::now());
    tokio::time::sleep(window).await;
    let elapsed = started.elapsed().as_secs_f64();
    let requests = fetcher.fetch_requests() - requests_before;
    let cpu = cpu_time().saturating_sub(cpu_before);
    let brokers = kafka.connection().bootstrap_servers().len().max(1);
    for task in tasks {
        task.abort();
    }
    println!(
        "fetcher_scale: partitions={partitions} brokers={brokers} connections={} idle_fetch_requests_per_s={:.1} cpu_ms_per_s={:.1} peak_rss_mib={:.1}",
        fetcher.open_connections(),
        requests as f64 / elapsed,
        cpu.as_secs_f64() * 1000.0 / elapsed,
        peak_rss_mib()
    );
}
