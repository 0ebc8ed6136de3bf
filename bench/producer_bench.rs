//! Producer throughput of our `KafkaTemplate`, measured like `bench/producer.sh`'s Java side
//! (`tests/interop/java/.../ProducerPerf.java`): fixed-size values with null keys, acks=all,
//! linger 5 ms, timed from the first send to the last acknowledgement, with up to `--in-flight`
//! sends outstanding (Java's send() is asynchronous; ours resolves on acknowledgement, so the
//! bench keeps many sends in flight; buffer.memory bounds them as in Java).
//!
//! ```text
//! cargo run --release --example producer_bench -- --bootstrap B --topic T [--records N] [--size BYTES]
//! ```
//! The topic must exist (the Java side creates its own; bench/producer.sh creates ours with the
//! same partitions and replication). Prints `rust records=N seconds=S records_per_sec=X`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_listener::client::ConnectionConfig;
use kafka_listener::producer::{KafkaTemplate, ProducerRecord, ProducerSettings};
use tokio::task::JoinSet;

fn option(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(bootstrap), Some(topic)) = (option(&args, "--bootstrap"), option(&args, "--topic"))
    else {
        eprintln!("usage: producer_bench --bootstrap B --topic T [--records N] [--size BYTES] [--in-flight N]");
        std::process::exit(2);
    };
    let records: usize = option(&args, "--records").map_or(Ok(200_000), |v| v.parse())?;
    let size: usize = option(&args, "--size").map_or(Ok(100), |v| v.parse())?;
    let in_flight: usize = option(&args, "--in-flight").map_or(Ok(50_000), |v| v.parse())?;

    let template = KafkaTemplate::connect(
        ConnectionConfig::new(bootstrap.split(',')).client_id("bench-rust"),
        ProducerSettings {
            linger: Duration::from_millis(5),
            ..ProducerSettings::default()
        },
    )
    .await?;
    let value = Bytes::from(
        (0..size)
            .map(|i| b'a' + (i % 26) as u8)
            .collect::<Vec<u8>>(),
    );
    let record = ProducerRecord {
        topic: topic.clone(),
        value: Some(value),
        ..ProducerRecord::default()
    };
    // One record first, so metadata lookup and connection set-up are not timed.
    template.send_record(record.clone()).await?;

    let start = Instant::now();
    let mut sends = JoinSet::new();
    let mut acked = 0usize;
    for _ in 0..records {
        if sends.len() >= in_flight {
            sends.join_next().await.expect("a send is in flight")??;
            acked += 1;
        }
        let template = template.clone();
        let record = record.clone();
        sends.spawn(async move { template.send_record(record).await });
    }
    while let Some(sent) = sends.join_next().await {
        sent??;
        acked += 1;
    }
    let seconds = start.elapsed().as_secs_f64();
    assert_eq!(acked, records);
    println!(
        "rust records={records} seconds={seconds:.3} records_per_sec={:.0}",
        records as f64 / seconds
    );
    Ok(())
}
