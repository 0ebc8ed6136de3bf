//! bench/run.sh's `rdkafka` consumer: a hand-written rust-rdkafka `StreamConsumer` that reads the
//! bench topic from earliest in a fresh group, decodes every value with serde_json and
//! acknowledges it the way librdkafka documents at-least-once processing: the record's offset is
//! stored only after it was handled (`enable.auto.offset.store=false` + `store_offset_from_message`)
//! and the background committer commits stored offsets; a final synchronous commit at the end.
//!
//! ```text
//! bench-rdkafka --bootstrap B --topic T --group G --records N
//! ```
//!
//! Prints `BENCH records=N first_us=F last_us=L id_sum=S` (first/last record handled, µs since
//! the epoch) once N records were handled, then exits.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::Message;
use serde::Deserialize;

/// The bench's record value (see bench/README.md).
#[derive(Deserialize)]
#[allow(dead_code)] // every field is decoded like a real consumer would; only `id` is summed
struct Payload {
    id: u64,
    key: String,
    ts: u64,
    data: String,
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or_default()
}

struct Args {
    bootstrap: String,
    topic: String,
    group: String,
    records: u64,
}

fn parse_args() -> Result<Args, String> {
    let (mut bootstrap, mut topic, mut group, mut records) = (None, None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--bootstrap" => bootstrap = Some(value),
            "--topic" => topic = Some(value),
            "--group" => group = Some(value),
            "--records" => {
                records = Some(
                    value
                        .parse()
                        .map_err(|e| format!("--records {value:?}: {e}"))?,
                )
            }
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(Args {
        bootstrap: bootstrap.ok_or("--bootstrap is required")?,
        topic: topic.ok_or("--topic is required")?,
        group: group.ok_or("--group is required")?,
        records: records.ok_or("--records is required")?,
    })
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("bench-rdkafka: {message}");
            eprintln!("usage: bench-rdkafka --bootstrap B --topic T --group G --records N");
            std::process::exit(2);
        }
    };
    let consumer: StreamConsumer = match ClientConfig::new()
        .set("bootstrap.servers", &args.bootstrap)
        .set("group.id", &args.group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "true")
        .set("enable.auto.offset.store", "false")
        .create()
    {
        Ok(consumer) => consumer,
        Err(e) => {
            eprintln!("bench-rdkafka: cannot create the consumer: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = consumer.subscribe(&[&args.topic]) {
        eprintln!("bench-rdkafka: cannot subscribe to {}: {e}", args.topic);
        std::process::exit(1);
    }
    let (mut handled, mut id_sum, mut first_us, mut failures) = (0u64, 0u64, 0u64, 0u64);
    while handled < args.records {
        let message = match tokio::time::timeout(Duration::from_secs(60), consumer.recv()).await {
            Ok(Ok(message)) => message,
            Ok(Err(e)) => {
                eprintln!("bench-rdkafka: consume error: {e}");
                continue;
            }
            Err(_) => {
                eprintln!(
                    "bench-rdkafka: no record for 60 s after {handled} of {}",
                    args.records
                );
                std::process::exit(1);
            }
        };
        if handled == 0 {
            first_us = now_us();
        }
        match serde_json::from_slice::<Payload>(message.payload().unwrap_or_default()) {
            Ok(payload) => id_sum = id_sum.wrapping_add(payload.id),
            Err(_) => failures += 1,
        }
        if let Err(e) = consumer.store_offset_from_message(&message) {
            eprintln!("bench-rdkafka: cannot store the offset: {e}");
        }
        handled += 1;
    }
    let last_us = now_us();
    if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
        eprintln!("bench-rdkafka: final commit failed: {e}");
    }
    if failures > 0 {
        eprintln!("bench-rdkafka: {failures} values did not decode");
        std::process::exit(1);
    }
    println!("BENCH records={handled} first_us={first_us} last_us={last_us} id_sum={id_sum}");
}
