//! The processes of the fault suite on real Kafka (`tests/faults/run.sh`).
//!
//! ```text
//! fault-listener produce     --bootstrap B --topic T --count N [--partitions 6]
//!     creates T and T-dlt (replication factor 3) and sends records 0..N with KafkaTemplate:
//!     key `k-<i>` (i zero-padded to 7 digits), value `v-<i>`.
//! fault-listener listen      --bootstrap B --topic T --group G --member M --log FILE
//!                            [--handle-ms MS] [--poison-every K] [--slow-after K --slow-ms MS]
//!                            [--max-poll-ms MS (10000)] [--max-poll-records K (100)]
//!     one MANUAL-ack #[kafka_listener] member run by App; appends one line per handled record
//!     to FILE and runs until SIGTERM or SIGINT, then shuts down gracefully (drain, commit, leave).
//! fault-listener offsets     --bootstrap B --topic T --group G [--partitions 6]
//!     one line per partition `p=<p> committed=<c|-> end=<e>`, then `at_log_end=yes|no`.
//! fault-listener dump        --bootstrap B --topic T [--partitions 6]
//!     the key of every record of T (the dead-letter topic), one per line.
//! fault-listener coordinator --bootstrap B --group G
//!     the node id of G's coordinator (FindCoordinator).
//! ```
//!
//! Lines of the listener's log (times are microseconds since the Unix epoch, shared by every
//! process on the machine):
//! ```text
//! H <member> <partition> <offset> <key index> <start> <end>   handled and acknowledged
//! F <member> <partition> <offset> <key index> <start> <end>   the handler failed (poison pill)
//! s <member> <partition> <offset> <key index> <start> <start> the slow record has started
//! S <member> <partition> <offset> <key index> <start> <end>   the deliberately slow record
//! C <member> <partition> <offset> <key index> <start> <end>   the handler's future was dropped
//!                                                             before it finished (not handled)
//! A <member> <time> <partitions, comma-separated, or ->      the member's assignment changed
//! E <member> <time>                                           graceful shutdown finished
//! ```
//! An H/S line is written after the handler's work and before `acknowledge()`, so a committed
//! offset always has its line; a record without a line was not (yet) handled.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use kafka_listener::client::{BrokerConnection, ConnectionConfig};
use kafka_listener::config::KafkaProperties;
use kafka_listener::error::{DeadLetterPublisher, ErrorHandler, Fatal, FixedBackOff, Recoverer};
use kafka_listener::group::{GroupConfig, GroupMember, TopicPartition};
use kafka_listener::producer::{KafkaTemplate, ProducerSettings};
use kafka_listener::{kafka_listener, Acknowledgment, App, ConsumerRecord, State};
use kafka_protocol::messages::FindCoordinatorRequest;
use kafka_protocol::protocol::StrBytes;
use rskafka::client::error::{Error as RsError, ProtocolError};
use rskafka::client::partition::{OffsetAt, UnknownTopicHandling};
use rskafka::client::Client;

const LISTENER_ID: &str = "fault-listener";
const REPLICATION: i16 = 3;

/// What one listener process knows: who it is, where it logs, how its handler behaves.
struct Member {
    id: String,
    log: Mutex<std::fs::File>,
    handle: Duration,
    poison_every: u64,
    slow_after: u64,
    slow: Duration,
    handled: AtomicU64,
}

impl Member {
    /// One line, one write on an O_APPEND file: it is on disk (in the page cache) when this
    /// returns, so SIGKILL right after cannot lose it.
    fn line(&self, line: String) {
        let mut file = self.log.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = file.write_all(line.as_bytes()) {
            eprintln!("fault-listener {}: cannot write the log: {e}", self.id);
            std::process::exit(3);
        }
    }
}

fn now_us() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros()
}

/// `k-0000042` → 42.
fn key_index(key: Option<&Bytes>) -> Option<u64> {
    std::str::from_utf8(key?)
        .ok()?
        .strip_prefix("k-")?
        .parse()
        .ok()
}

#[derive(Debug, thiserror::Error)]
#[error("record {0} is a poison pill")]
struct PoisonPill(u64);

/// The listener under test: MANUAL ack, one acknowledgement per handled record.
#[kafka_listener(
    id = "fault-listener",
    topics = "${fault.topic}",
    group_id = "${fault.group}",
    ack_mode = "MANUAL"
)]
async fn on_record(
    record: ConsumerRecord<Bytes, Bytes>,
    member: State<Arc<Member>>,
    ack: Acknowledgment,
) -> Result<(), Fatal> {
    let start = now_us();
    let index = key_index(record.key.as_ref()).unwrap_or(u64::MAX);
    let place = format!(
        "{} {} {} {}",
        member.id, record.partition, record.offset, index
    );
    if member.poison_every > 0 && index % member.poison_every == member.poison_every - 1 {
        member.line(format!("F {place} {start} {}\n", now_us()));
        // Fatal: no retries, straight to the dead-letter recoverer.
        return Err(Fatal::new(PoisonPill(index)));
    }
    let nth = member.handled.fetch_add(1, Ordering::Relaxed) + 1;
    let slow = member.slow_after > 0 && nth == member.slow_after;
    let mut running = Running {
        member: &member,
        place: &place,
        start,
        done: false,
    };
    if slow {
        member.line(format!("s {place} {start} {start}\n"));
        tokio::time::sleep(member.slow).await;
    } else if !member.handle.is_zero() {
        tokio::time::sleep(member.handle).await;
    }
    running.done = true;
    let kind = if slow { "S" } else { "H" };
    member.line(format!("{kind} {place} {start} {}\n", now_us()));
    ack.acknowledge();
    Ok(())
}

/// A handler at work: if the container drops its future before it finished (a fenced member
/// stops its stuck handler), the `C` line says from when to when it ran.
struct Running<'a> {
    member: &'a Member,
    place: &'a str,
    start: u128,
    done: bool,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if !self.done {
            let (place, start) = (self.place, self.start);
            self.member
                .line(format!("C {place} {start} {}\n", now_us()));
        }
    }
}

/// `spring.kafka.*` with no application file but what `SPRING_CONFIG_ADDITIONAL_LOCATION` adds.
fn client_properties() -> &'static KafkaProperties {
    static PROPERTIES: OnceLock<KafkaProperties> = OnceLock::new();
    PROPERTIES.get_or_init(|| {
        KafkaProperties::from_yaml_str("{}").unwrap_or_else(|e| {
            eprintln!("fault-listener: cannot load the client settings: {e}");
            std::process::exit(2);
        })
    })
}

fn connection(bootstrap: &str) -> ConnectionConfig {
    client_properties()
        .admin_connection()
        .with_bootstrap_servers(bootstrap.split(','))
        .client_id("fault-listener")
        .request_timeout(Duration::from_secs(30))
}

async fn rskafka_client(bootstrap: &str) -> Result<Client, String> {
    connection(bootstrap)
        .rskafka_client()
        .await
        .map_err(|e| format!("connect to {bootstrap}: {e}"))
}

struct Args(BTreeMap<String, String>);

impl Args {
    fn parse(args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut map = BTreeMap::new();
        let mut args = args.peekable();
        while let Some(flag) = args.next() {
            let name = flag
                .strip_prefix("--")
                .ok_or(format!("unexpected argument {flag:?}"))?;
            let value = args.next().ok_or(format!("{flag} needs a value"))?;
            map.insert(name.to_owned(), value);
        }
        Ok(Self(map))
    }

    fn get(&self, name: &str) -> Result<String, String> {
        self.0
            .get(name)
            .cloned()
            .ok_or(format!("--{name} is required"))
    }

    fn num(&self, name: &str, default: u64) -> Result<u64, String> {
        self.0
            .get(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| format!("--{name} wants a number, not {v:?}"))
            })
            .unwrap_or(Ok(default))
    }
}

async fn create_topic(client: &Client, topic: &str, partitions: i32) -> Result<(), String> {
    let controller = client
        .controller_client()
        .map_err(|e| format!("controller: {e}"))?;
    match controller
        .create_topic(topic, partitions, REPLICATION, 30_000)
        .await
    {
        Ok(())
        | Err(RsError::ServerError {
            protocol_error: ProtocolError::TopicAlreadyExists,
            ..
        }) => Ok(()),
        Err(e) => Err(format!("create {topic}: {e}")),
    }
}

async fn produce(args: &Args) -> Result<(), String> {
    let bootstrap = args.get("bootstrap")?;
    let topic = args.get("topic")?;
    let count = args.num("count", 0)?;
    let partitions = args.num("partitions", 6)? as i32;
    let client = rskafka_client(&bootstrap).await?;
    create_topic(&client, &topic, partitions).await?;
    create_topic(&client, &format!("{topic}-dlt"), partitions).await?;
    let template = KafkaTemplate::connect(connection(&bootstrap), ProducerSettings::default())
        .await
        .map_err(|e| format!("producer: {e}"))?;
    // Wait until the new topic's metadata shows every partition.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while template.partition_count(&topic).await.ok() != Some(partitions) {
        if std::time::Instant::now() > deadline {
            return Err(format!("{topic} never showed {partitions} partitions"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Many sends in flight, so the template batches them.
    let window = Arc::new(tokio::sync::Semaphore::new(2000));
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..count {
        let permit = Arc::clone(&window)
            .acquire_owned()
            .await
            .map_err(|e| e.to_string())?;
        let (template, topic) = (template.clone(), topic.clone());
        sends.spawn(async move {
            let sent = template
                .send(&topic, format!("k-{i:07}"), format!("v-{i}"))
                .await;
            drop(permit);
            sent.map_err(|e| format!("send record {i}: {e}"))
        });
        while let Some(done) = sends.try_join_next() {
            done.map_err(|e| e.to_string())??;
        }
    }
    while let Some(done) = sends.join_next().await {
        done.map_err(|e| e.to_string())??;
    }
    template.flush().await.map_err(|e| format!("flush: {e}"))?;
    Ok(())
}

async fn log_ends(client: &Client, topic: &str, partitions: i32) -> Result<Vec<i64>, String> {
    let mut ends = Vec::new();
    for partition in 0..partitions {
        let end = client
            .partition_client(topic, partition, UnknownTopicHandling::Retry)
            .await
            .map_err(|e| format!("partition {partition}: {e}"))?
            .get_offset(OffsetAt::Latest)
            .await
            .map_err(|e| format!("log end of partition {partition}: {e}"))?;
        ends.push(end);
    }
    Ok(ends)
}

async fn offsets(args: &Args) -> Result<(), String> {
    let bootstrap = args.get("bootstrap")?;
    let topic = args.get("topic")?;
    let group = args.get("group")?;
    let partitions = args.num("partitions", 6)? as i32;
    let client = rskafka_client(&bootstrap).await?;
    let ends = log_ends(&client, &topic, partitions).await?;
    let member = GroupMember::new(connection(&bootstrap), GroupConfig::new(&group));
    let tps: Vec<_> = (0..partitions)
        .map(|p| TopicPartition::new(&topic, p))
        .collect();
    let committed: BTreeMap<i32, i64> = member
        .committed(&tps)
        .await
        .map_err(|e| format!("committed offsets of {group}: {e}"))?
        .into_iter()
        .filter_map(|(tp, offset)| offset.map(|o| (tp.partition, o.offset)))
        .collect();
    let mut at_end = true;
    for (p, end) in ends.iter().enumerate() {
        let c = committed.get(&(p as i32));
        at_end &= c == Some(end);
        let c = c.map_or("-".to_owned(), i64::to_string);
        println!("p={p} committed={c} end={end}");
    }
    println!("at_log_end={}", if at_end { "yes" } else { "no" });
    Ok(())
}

async fn dump(args: &Args) -> Result<(), String> {
    let bootstrap = args.get("bootstrap")?;
    let topic = args.get("topic")?;
    let partitions = args.num("partitions", 6)? as i32;
    let client = rskafka_client(&bootstrap).await?;
    let mut out = std::io::stdout().lock();
    for partition in 0..partitions {
        let pc = client
            .partition_client(topic.as_str(), partition, UnknownTopicHandling::Retry)
            .await
            .map_err(|e| format!("partition {partition}: {e}"))?;
        let end = pc
            .get_offset(OffsetAt::Latest)
            .await
            .map_err(|e| format!("log end of partition {partition}: {e}"))?;
        let mut next = 0;
        while next < end {
            let (records, _) = pc
                .fetch_records(next, 1..1_000_000, 1_000)
                .await
                .map_err(|e| format!("fetch partition {partition} at {next}: {e}"))?;
            for r in &records {
                let key = r.record.key.as_deref().unwrap_or_default();
                writeln!(out, "{}", String::from_utf8_lossy(key)).map_err(|e| e.to_string())?;
                next = next.max(r.offset + 1);
            }
        }
    }
    Ok(())
}

async fn coordinator(args: &Args) -> Result<(), String> {
    let bootstrap = args.get("bootstrap")?;
    let group = args.get("group")?;
    let config = connection(&bootstrap);
    let mut last = String::from("no bootstrap server");
    for server in bootstrap.split(',') {
        let answer = async {
            let conn = BrokerConnection::connect(server, &config)
                .await
                .map_err(|e| e.to_string())?;
            let version = conn
                .version_for::<FindCoordinatorRequest>()
                .map_err(|e| e.to_string())?;
            let key = StrBytes::from_string(group.clone());
            let request = if version >= 4 {
                FindCoordinatorRequest::default().with_coordinator_keys(vec![key])
            } else {
                FindCoordinatorRequest::default().with_key(key)
            };
            let response = conn.send(request).await.map_err(|e| e.to_string())?;
            let (code, node) = if version >= 4 {
                let c = response
                    .coordinators
                    .first()
                    .ok_or("no coordinator in the answer")?;
                (c.error_code, c.node_id.0)
            } else {
                (response.error_code, response.node_id.0)
            };
            if code != 0 {
                return Err(format!("FindCoordinator error code {code}"));
            }
            Ok::<i32, String>(node)
        }
        .await;
        match answer {
            Ok(node) => {
                println!("{node}");
                return Ok(());
            }
            Err(e) => last = format!("{server}: {e}"),
        }
    }
    Err(last)
}

fn application_yml(topic: &str, group: &str, max_poll_ms: u64, max_poll_records: u64) -> String {
    // Short timeouts so that faults resolve within a scenario: a dead member is noticed after
    // 6 s, a stuck handler after 10 s, a request to a stalled broker gives up after 5 s.
    // MANUAL commits after each poll's records (max-poll-records of one partition), so a crash
    // redelivers at most that many records per partition: run.sh's duplicate budget.
    format!(
        "spring:
  kafka:
    consumer:
      auto-offset-reset: earliest
      max-poll-records: {max_poll_records}
      properties:
        session.timeout.ms: 6000
        heartbeat.interval.ms: 1000
        max.poll.interval.ms: {max_poll_ms}
        request.timeout.ms: 5000
    listener:
      poll-timeout: 200ms
fault:
  topic: {topic}
  group: {group}
"
    )
}

async fn listen(args: &Args) -> Result<(), String> {
    let bootstrap = args.get("bootstrap")?;
    let topic = args.get("topic")?;
    let group = args.get("group")?;
    let id = args.get("member")?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(args.get("log")?)
        .map_err(|e| format!("open the log: {e}"))?;
    let member = Arc::new(Member {
        id: id.clone(),
        log: Mutex::new(log),
        handle: Duration::from_millis(args.num("handle-ms", 0)?),
        poison_every: args.num("poison-every", 0)?,
        slow_after: args.num("slow-after", 0)?,
        slow: Duration::from_millis(args.num("slow-ms", 0)?),
        handled: AtomicU64::new(0),
    });
    let template = KafkaTemplate::connect(connection(&bootstrap), ProducerSettings::default())
        .await
        .map_err(|e| format!("dead-letter producer: {e}"))?;
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| format!("SIGTERM handler: {e}"))?;
    let running = App::from_yaml_str(&application_yml(
        &topic,
        &group,
        args.num("max-poll-ms", 10_000)?,
        args.num("max-poll-records", 100)?,
    ))
    .map_err(|e| format!("configuration: {e}"))?
    .bootstrap(bootstrap)
    .state(Arc::clone(&member))
    .listener_error_handler(
        LISTENER_ID,
        ErrorHandler::new(
            FixedBackOff::new(Duration::ZERO, 2),
            Recoverer::DeadLetter(DeadLetterPublisher::new(template)),
        ),
    )
    .listeners([LISTENER_ID])
    .start()
    .await
    .map_err(|e| format!("start the app: {e}"))?;
    let mut held: Option<Vec<i32>> = None;
    loop {
        let mut now: Vec<i32> = running
            .assignment(LISTENER_ID)
            .iter()
            .map(|tp| tp.partition)
            .collect();
        now.sort_unstable();
        if held.as_ref() != Some(&now) {
            let list = if now.is_empty() {
                "-".to_owned()
            } else {
                now.iter().map(i32::to_string).collect::<Vec<_>>().join(",")
            };
            member.line(format!("A {id} {} {list}\n", now_us()));
            held = Some(now);
        }
        tokio::select! {
            _ = sigterm.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    let shutdown = running.shutdown().await;
    member.line(format!("E {id} {}\n", now_us()));
    shutdown.map_err(|e| format!("shutdown: {e}"))
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,rskafka=warn".into()),
        )
        .init();
    client_properties();
    let mut argv = std::env::args().skip(1);
    let mode = argv.next().unwrap_or_default();
    let outcome = match Args::parse(argv) {
        Err(e) => Err(e),
        Ok(args) => match mode.as_str() {
            "produce" => produce(&args).await,
            "listen" => listen(&args).await,
            "offsets" => offsets(&args).await,
            "dump" => dump(&args).await,
            "coordinator" => coordinator(&args).await,
            other => Err(format!(
                "unknown mode {other:?} (produce, listen, offsets, dump, coordinator)"
            )),
        },
    };
    if let Err(e) = outcome {
        eprintln!("fault-listener {mode}: {e}");
        std::process::exit(1);
    }
}
