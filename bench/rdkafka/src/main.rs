//! bench/run.sh's librdkafka consumers, hand-written on rust-rdkafka. Both read the bench topic
//! from earliest in a fresh group, decode every value with serde_json and acknowledge it the way
//! librdkafka documents at-least-once processing: the record's offset is stored only after it
//! was handled (`enable.auto.offset.store=false` + `store_offset_from_message`), librdkafka's
//! background thread commits the stored offsets asynchronously (`enable.auto.commit=true`, every
//! 5 s), and a final synchronous commit ends the run.
//!
//! - `--consumer stream` (default, the `rdkafka` row): a `StreamConsumer`, `recv().await` in a
//!   tokio loop — what an async Rust service writes.
//! - `--consumer base` (the `rdkafka-base` row): a `BaseConsumer`, `poll()` in a plain thread —
//!   librdkafka at its own pace, without rust-rdkafka's async wake-up path: the anchor.
//!
//! ```text
//! bench-rdkafka [--consumer stream|base] --bootstrap B --topic T --group G --records N
//!               [--properties FILE]
//! ```
//!
//! `--properties` adds librdkafka `key=value` lines (`#` comments), e.g. the
//! `client-librdkafka.properties` that `deploy/local/kafka.sh start --security …` writes.
//! Prints `BENCH records=N first_us=F last_us=L id_sum=S` (first/last record handled, µs since
//! the epoch) once N records were handled, then exits.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, StreamConsumer};
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

/// How long without a record before the bench gives up.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or_default()
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("bench-rdkafka: {message}");
    std::process::exit(1)
}

#[derive(PartialEq)]
enum Kind {
    Stream,
    Base,
}

struct Args {
    kind: Kind,
    bootstrap: String,
    topic: String,
    group: String,
    records: u64,
    properties: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let (mut bootstrap, mut topic, mut group, mut records) = (None, None, None, None);
    let (mut kind, mut properties) = (Kind::Stream, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--consumer" => {
                kind = match value.as_str() {
                    "stream" => Kind::Stream,
                    "base" => Kind::Base,
                    other => return Err(format!("--consumer {other:?}: stream or base")),
                }
            }
            "--bootstrap" => bootstrap = Some(value),
            "--topic" => topic = Some(value),
            "--group" => group = Some(value),
            "--properties" => properties = Some(value),
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
        kind,
        bootstrap: bootstrap.ok_or("--bootstrap is required")?,
        topic: topic.ok_or("--topic is required")?,
        group: group.ok_or("--group is required")?,
        records: records.ok_or("--records is required")?,
        properties,
    })
}

fn client_config(args: &Args) -> ClientConfig {
    let mut config = ClientConfig::new();
    if let Some(path) = &args.properties {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| fail(format!("cannot read {path}: {e}")));
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line
                .split_once('=')
                .unwrap_or_else(|| fail(format!("{path}: not key=value: {line:?}")));
            config.set(key.trim(), value.trim());
        }
    }
    config
        .set("bootstrap.servers", &args.bootstrap)
        .set("group.id", &args.group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "true")
        .set("enable.auto.offset.store", "false");
    config
}

/// What both loops do per record: decode, count, store the offset.
struct Tally {
    handled: u64,
    id_sum: u64,
    first_us: u64,
    failures: u64,
}

impl Tally {
    fn handle<C: Consumer>(&mut self, consumer: &C, message: &rdkafka::message::BorrowedMessage) {
        if self.handled == 0 {
            self.first_us = now_us();
        }
        match serde_json::from_slice::<Payload>(message.payload().unwrap_or_default()) {
            Ok(payload) => self.id_sum = self.id_sum.wrapping_add(payload.id),
            Err(_) => self.failures += 1,
        }
        if let Err(e) = consumer.store_offset_from_message(message) {
            eprintln!("bench-rdkafka: cannot store the offset: {e}");
        }
        self.handled += 1;
    }

    fn finish<C: Consumer>(self, consumer: &C) -> String {
        let last_us = now_us();
        if let Err(e) = consumer.commit_consumer_state(CommitMode::Sync) {
            eprintln!("bench-rdkafka: final commit failed: {e}");
        }
        if self.failures > 0 {
            fail(format!("{} values did not decode", self.failures));
        }
        format!(
            "BENCH records={} first_us={} last_us={last_us} id_sum={}",
            self.handled, self.first_us, self.id_sum
        )
    }
}

fn tally() -> Tally {
    Tally {
        handled: 0,
        id_sum: 0,
        first_us: 0,
        failures: 0,
    }
}

async fn run_stream(args: &Args) -> String {
    let consumer: StreamConsumer = client_config(args)
        .create()
        .unwrap_or_else(|e| fail(format!("cannot create the consumer: {e}")));
    consumer
        .subscribe(&[&args.topic])
        .unwrap_or_else(|e| fail(format!("cannot subscribe to {}: {e}", args.topic)));
    let mut tally = tally();
    while tally.handled < args.records {
        match tokio::time::timeout(IDLE_TIMEOUT, consumer.recv()).await {
            Ok(Ok(message)) => tally.handle(&consumer, &message),
            Ok(Err(e)) => eprintln!("bench-rdkafka: consume error: {e}"),
            Err(_) => fail(format!(
                "no record for {IDLE_TIMEOUT:?} after {} of {}",
                tally.handled, args.records
            )),
        }
    }
    tally.finish(&consumer)
}

fn run_base(args: &Args) -> String {
    let consumer: BaseConsumer = client_config(args)
        .create()
        .unwrap_or_else(|e| fail(format!("cannot create the consumer: {e}")));
    consumer
        .subscribe(&[&args.topic])
        .unwrap_or_else(|e| fail(format!("cannot subscribe to {}: {e}", args.topic)));
    let mut tally = tally();
    let mut last_record = Instant::now();
    while tally.handled < args.records {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                tally.handle(&consumer, &message);
                last_record = Instant::now();
            }
            Some(Err(e)) => eprintln!("bench-rdkafka: consume error: {e}"),
            None if last_record.elapsed() > IDLE_TIMEOUT => fail(format!(
                "no record for {IDLE_TIMEOUT:?} after {} of {}",
                tally.handled, args.records
            )),
            None => {}
        }
    }
    tally.finish(&consumer)
}

fn main() {
    let args = parse_args().unwrap_or_else(|message| {
        eprintln!("bench-rdkafka: {message}");
        eprintln!(
            "usage: bench-rdkafka [--consumer stream|base] --bootstrap B --topic T --group G \
             --records N [--properties FILE]"
        );
        std::process::exit(2);
    });
    let line = match args.kind {
        Kind::Base => run_base(&args),
        Kind::Stream => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| fail(format!("cannot start tokio: {e}")))
            .block_on(run_stream(&args)),
    };
    println!("{line}");
}
