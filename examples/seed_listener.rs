//! The seed service's listener, ported: MANUAL acknowledgment, driven by the seed's own
//! `application.yml` (tests/fixtures/seed-application.yml, unchanged), with its split between
//! failures worth retrying and messages to give up on and log.
//!
//! ```sh
//! KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 cargo run --example seed_listener
//! cargo run --example seed_listener     # no cluster named: an embedded broker stands in
//! ```
//!
//! The seed's YAML points at localhost:29092/39093/49094 (two of which its compose file never
//! opens, see deploy/README.md); `KAFKA_BOOTSTRAP_SERVERS` overrides them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_listener::embedded::EmbeddedKafka;
use kafka_listener::error::{ErrorHandler, FixedBackOff, Recoverer};
use kafka_listener::producer::{KafkaTemplate, ProducerSettings};
use kafka_listener::{kafka_listener, Acknowledgment, App, NewTopic, RecordMeta, State};

const SEED_APPLICATION_YML: &str = include_str!("../tests/fixtures/seed-application.yml");
const TOPIC: &str = "seed-messages";

/// Why a message could not be processed.
#[derive(Debug, thiserror::Error)]
enum ProcessingError {
    /// A dependency is briefly unavailable: worth another delivery.
    #[error("downstream temporarily unavailable")]
    Unavailable,
}

/// Counters the example reports at the end.
#[derive(Default)]
struct Stats {
    processed: AtomicU64,
    given_up: AtomicU64,
    failed_once: AtomicU64,
}

/// Processes a message. Retryable failures return `Err` and are delivered again by the error
/// handler; malformed messages are logged and acknowledged, as the seed did, so they never
/// block the partition.
#[kafka_listener(
    id = "seed-listener",
    topics = "seed-messages",
    group_id = "seed-group"
)]
async fn on_message(
    message: String,
    meta: RecordMeta,
    stats: State<Stats>,
    ack: Acknowledgment,
) -> Result<(), ProcessingError> {
    if message.starts_with("flaky") && stats.failed_once.fetch_add(1, Ordering::SeqCst) == 0 {
        tracing::warn!(offset = meta.offset, "transient failure; will be retried");
        return Err(ProcessingError::Unavailable);
    }
    if message.starts_with("invalid") {
        tracing::error!(offset = meta.offset, %message, "cannot process this message; giving up");
        stats.given_up.fetch_add(1, Ordering::SeqCst);
    } else {
        stats.processed.fetch_add(1, Ordering::SeqCst);
    }
    ack.acknowledge();
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,rskafka=error".into()),
        )
        .init();
    let (bootstrap, embedded) = match std::env::var("KAFKA_BOOTSTRAP_SERVERS") {
        Ok(servers) if !servers.trim().is_empty() => (servers, None),
        _ => {
            let kafka = EmbeddedKafka::start().await;
            (kafka.bootstrap(), Some(kafka))
        }
    };
    let stats = Arc::new(Stats::default());
    let running = App::from_yaml_str(SEED_APPLICATION_YML)?
        .bootstrap(bootstrap.as_str())
        .shared_state(Arc::clone(&stats))
        .topic(NewTopic::new(TOPIC).partitions(3))
        .error_handler(ErrorHandler::new(
            FixedBackOff::new(Duration::from_millis(200), 3),
            Recoverer::LogAndSkip,
        ))
        .listeners(["seed-listener"])
        .start()
        .await?;
    // The seed consumes from `latest`: produce only once the listener holds its partitions.
    running
        .wait_for_assignment("seed-listener", Duration::from_secs(30))
        .await
        .ok_or("the listener got no partition within 30 s")?;

    let connection = kafka_listener::client::ConnectionConfig::new([bootstrap.as_str()]);
    let template = KafkaTemplate::connect(connection, ProducerSettings::default()).await?;
    let messages = ["hello", "flaky-payment", "invalid-payload", "world"];
    for (n, message) in messages.iter().enumerate() {
        template
            .send(TOPIC, format!("k{n}").as_str(), *message)
            .await?;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while stats.processed.load(Ordering::SeqCst) + stats.given_up.load(Ordering::SeqCst)
        < messages.len() as u64
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    running.shutdown().await?;
    if let Some(kafka) = embedded {
        kafka.shutdown().await;
    }
    println!(
        "seed_listener: processed {}, gave up on {}, retried {}",
        stats.processed.load(Ordering::SeqCst),
        stats.given_up.load(Ordering::SeqCst),
        stats.failed_once.load(Ordering::SeqCst).min(1)
    );
    Ok(())
}
