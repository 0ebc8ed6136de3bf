//! What the bench examples (bench_preload, bench_raw_rskafka, bench_listener) share: the record
//! value they all decode, command-line flags, the clock, the `BENCH …` result line that
//! bench/run.sh parses, the security settings of a secured cluster and the socket census. Included by each example with `#[path]`; not an example of its own.

#![allow(dead_code)] // each example uses its own subset

pub mod paced_producer;
pub mod security;
pub mod sockets;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

/// The bench's record value: `{"id":7,"key":"key-00007","ts":1764…,"data":"xxxx…"}`, `ts` the
/// producer's clock in µs since the epoch, `data` padding up to the requested record size.
/// Every consumer decodes all four fields into owned values, as a service would.
#[derive(Debug, Serialize, Deserialize)]
pub struct Payload {
    pub id: u64,
    pub key: String,
    pub ts: u64,
    pub data: String,
}

/// The key of record `id` among `keys` distinct keys.
pub fn key_of(id: u64, keys: u64) -> String {
    format!("key-{:05}", id % keys)
}

/// The JSON value of record `id`, padded with `x` so the whole value is about `size` bytes.
pub fn value_of(id: u64, key: &str, ts: u64, size: usize) -> Vec<u8> {
    let mut payload = Payload {
        id,
        key: key.to_owned(),
        ts,
        data: String::new(),
    };
    let bare = serde_json::to_vec(&payload).expect("a plain struct always serializes");
    payload.data = "x".repeat(size.saturating_sub(bare.len()));
    serde_json::to_vec(&payload).expect("a plain struct always serializes")
}

/// Microseconds since the epoch, the clock every bench process stamps with.
pub fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or_default()
}

/// `--name value` flags; every flag takes exactly one value.
pub struct Flags {
    program: &'static str,
    values: HashMap<String, String>,
}

impl Flags {
    /// Parses `args` (without the program name); exits with status 2 on a dangling flag.
    pub fn parse(program: &'static str, args: impl Iterator<Item = String>) -> Self {
        let mut values = HashMap::new();
        let mut args = args;
        while let Some(flag) = args.next() {
            let Some(name) = flag.strip_prefix("--") else {
                usage_error(program, &format!("unexpected argument {flag:?}"));
            };
            let Some(value) = args.next() else {
                usage_error(program, &format!("{flag} needs a value"));
            };
            values.insert(name.to_owned(), value);
        }
        Self { program, values }
    }

    /// A required string flag.
    pub fn string(&self, name: &str) -> String {
        self.values
            .get(name)
            .cloned()
            .unwrap_or_else(|| usage_error(self.program, &format!("--{name} is required")))
    }

    /// A numeric flag with a default.
    pub fn number(&self, name: &str, default: u64) -> u64 {
        match self.values.get(name) {
            None => default,
            Some(v) => v.parse().unwrap_or_else(|e| {
                usage_error(
                    self.program,
                    &format!("--{name} {v:?} is not a number: {e}"),
                )
            }),
        }
    }
}

fn usage_error(program: &str, message: &str) -> ! {
    eprintln!("{program}: {message}");
    std::process::exit(2)
}

/// Counts handled records across tasks and wakes the waiter once `expected` were handled.
pub struct Progress {
    expected: u64,
    handled: AtomicU64,
    id_sum: AtomicU64,
    first_us: AtomicU64,
    last_us: AtomicU64,
    done: Notify,
}

impl Progress {
    pub fn new(expected: u64) -> Self {
        Self {
            expected,
            handled: AtomicU64::new(0),
            id_sum: AtomicU64::new(0),
            first_us: AtomicU64::new(0),
            last_us: AtomicU64::new(0),
            done: Notify::new(),
        }
    }

    /// Records one handled record with payload id `id`.
    pub fn handled(&self, id: u64) {
        self.id_sum.fetch_add(id, Ordering::Relaxed);
        let before = self.handled.fetch_add(1, Ordering::AcqRel);
        if before == 0 {
            let _ =
                self.first_us
                    .compare_exchange(0, now_us(), Ordering::AcqRel, Ordering::Relaxed);
        }
        if before + 1 == self.expected {
            self.last_us.store(now_us(), Ordering::Release);
            self.done.notify_one();
        }
    }

    /// How many records were handled so far.
    pub fn count(&self) -> u64 {
        self.handled.load(Ordering::Acquire)
    }

    /// Waits until `expected` records were handled.
    pub async fn wait(&self) {
        if self.count() < self.expected {
            self.done.notified().await;
        }
    }

    /// The line bench/run.sh parses: `BENCH records=N first_us=F last_us=L id_sum=S`.
    pub fn result_line(&self) -> String {
        format!(
            "BENCH records={} first_us={} last_us={} id_sum={}",
            self.count(),
            self.first_us.load(Ordering::Acquire),
            self.last_us.load(Ordering::Acquire),
            self.id_sum.load(Ordering::Acquire)
        )
    }
}

/// Ends the process with status 1 and `message` on stderr: a bench that cannot go on must not
/// hang or print a result (a panic in a spawned task would only end that task).
pub fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("bench: {message}");
    std::process::exit(1)
}

/// Produce-to-handler delays in µs: the handler's clock minus the producer's stamp (`ts`).
#[derive(Default)]
pub struct Latencies(Mutex<Vec<u64>>);

impl Latencies {
    /// Records the delay of a record stamped at `stamp_us`, as of now.
    pub fn record_since(&self, stamp_us: u64) {
        let delay = now_us().saturating_sub(stamp_us);
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(delay);
    }

    /// Forgets what was recorded (the warm-up).
    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The line bench/run.sh parses: `LATENCY records=M p50_us=A p99_us=B max_us=C`.
    pub fn summary_line(&self) -> Result<String, String> {
        let mut delays = std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()));
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
}
