//! Measures the embedded broker against real Kafka with the same rskafka client: start time to
//! the first accepted connection, and produce + fetch throughput of 100-byte records.
//!
//! ```text
//! cargo run --release --example embedded_throughput                 # embedded only
//! KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 cargo run --release --example embedded_throughput
//! ```

use std::time::{Duration, Instant};

use kafka_listener::client::ConnectionConfig;
use kafka_listener::embedded::EmbeddedKafka;
use kafka_listener_suite::{real_kafka_bootstrap, unique_name};
use rskafka::client::partition::{Compression, UnknownTopicHandling};
use rskafka::record::Record;

const RECORDS: usize = 200_000;
const BATCH: usize = 1_000;
const VALUE_BYTES: usize = 100;

struct Throughput {
    produce_per_sec: f64,
    fetch_per_sec: f64,
}

async fn measure(bootstrap: &str) -> Throughput {
    let config = ConnectionConfig::new([bootstrap]).request_timeout(Duration::from_secs(30));
    let client = config.rskafka_client().await.expect("connect");
    let topic = unique_name("throughput");
    client
        .controller_client()
        .expect("controller")
        .create_topic(&topic, 1, 1, 10_000)
        .await
        .expect("create topic");
    let partition = loop {
        match client
            .partition_client(&topic, 0, UnknownTopicHandling::Retry)
            .await
        {
            Ok(p) => break p,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    let timestamp =
        rskafka::chrono::DateTime::from_timestamp_millis(1_700_000_000_000).expect("valid");
    let batch: Vec<Record> = (0..BATCH)
        .map(|_| Record {
            key: None,
            value: Some(vec![b'x'; VALUE_BYTES]),
            headers: Default::default(),
            timestamp,
        })
        .collect();
    let started = Instant::now();
    for _ in 0..RECORDS / BATCH {
        partition
            .produce(batch.clone(), Compression::NoCompression)
            .await
            .expect("produce");
    }
    let produce_secs = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let mut offset = 0i64;
    while offset < RECORDS as i64 {
        let (records, _) = partition
            .fetch_records(offset, 1..4 * 1024 * 1024, 500)
            .await
            .expect("fetch");
        if let Some(last) = records.last() {
            offset = last.offset + 1;
        }
    }
    let fetch_secs = started.elapsed().as_secs_f64();
    Throughput {
        produce_per_sec: RECORDS as f64 / produce_secs,
        fetch_per_sec: RECORDS as f64 / fetch_secs,
    }
}

#[tokio::main]
async fn main() {
    let mut starts = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let kafka = EmbeddedKafka::start().await;
        let _conn = tokio::net::TcpStream::connect(kafka.bootstrap())
            .await
            .expect("connect");
        starts.push(started.elapsed());
        kafka.shutdown().await;
    }
    starts.sort();
    println!(
        "embedded start to first accepted connection: median {:?}, max {:?} (20 runs)",
        starts[10], starts[19]
    );

    let kafka = EmbeddedKafka::start().await;
    let embedded = measure(&kafka.bootstrap()).await;
    println!(
        "{RECORDS} records of {VALUE_BYTES} B, batches of {BATCH}, rskafka 0.6, no compression"
    );
    println!(
        "{:<10} {:>16} {:>16}",
        "broker", "produce rec/s", "fetch rec/s"
    );
    println!(
        "{:<10} {:>16.0} {:>16.0}",
        "embedded", embedded.produce_per_sec, embedded.fetch_per_sec
    );
    match real_kafka_bootstrap() {
        Some(bootstrap) => {
            let real = measure(&bootstrap).await;
            println!(
                "{:<10} {:>16.0} {:>16.0}",
                "kafka", real.produce_per_sec, real.fetch_per_sec
            );
        }
        None => println!("kafka      (set KAFKA_BOOTSTRAP_SERVERS to compare)"),
    }
}
