//! The smallest complete kafka-listener service: a MANUAL-ack `#[kafka_listener]`, records
//! produced with the `KafkaTemplate`, a clean shutdown that commits.
//!
//! ```sh
//! cargo run --example quickstart            # in-process embedded broker
//! cargo run --example quickstart -- 1000    # more records
//! KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 cargo run --example quickstart   # real Kafka
//! ```
//!
//! Its last line is `quickstart: consumed N/N records, committed offset M`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_listener::embedded::EmbeddedKafka;
use kafka_listener::group::{GroupConfig, GroupMember, TopicPartition};
use kafka_listener::producer::{KafkaTemplate, ProducerSettings};
use kafka_listener::{kafka_listener, Acknowledgment, App, Json, NewTopic, State};

const TOPIC: &str = "quickstart-greetings";
const GROUP: &str = "quickstart";

/// What we send and receive.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Greeting {
    n: u64,
    text: String,
}

/// Shared with the handler through `State<Progress>`.
#[derive(Default)]
struct Progress {
    handled: AtomicU64,
}

/// Handles each greeting, then acknowledges it: in MANUAL mode only acknowledged records are
/// committed.
#[kafka_listener(
    id = "quickstart",
    topics = "quickstart-greetings",
    group_id = "quickstart",
    ack_mode = "MANUAL"
)]
async fn on_greeting(greeting: Json<Greeting>, progress: State<Progress>, ack: Acknowledgment) {
    tracing::debug!(n = greeting.n, text = %greeting.text, "greeting");
    progress.handled.fetch_add(1, Ordering::Relaxed);
    ack.acknowledge();
}

/// The service's `application.yml`, Spring Boot style.
const APPLICATION_YML: &str = "
spring:
  kafka:
    consumer:
      auto-offset-reset: earliest
      key-deserializer: org.apache.kafka.common.serialization.StringDeserializer
      value-deserializer: org.springframework.kafka.support.serializer.JsonDeserializer
    listener:
      ack-mode: MANUAL
      poll-timeout: 500ms
";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,rskafka=error".into()),
        )
        .init();
    let records: u64 = match std::env::args().nth(1) {
        Some(n) => n.parse().map_err(|_| format!("not a record count: {n}"))?,
        None => 100,
    };

    // Real Kafka when one is named, else a broker inside this process.
    let configured = ["KAFKA_BOOTSTRAP_SERVERS", "SPRING_KAFKA_BOOTSTRAP_SERVERS"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()));
    let (bootstrap, embedded) = match configured {
        Some(servers) => (servers, None),
        None => {
            let kafka = EmbeddedKafka::start().await;
            (kafka.bootstrap(), Some(kafka))
        }
    };

    let progress = Arc::new(Progress::default());
    let app = App::from_yaml_str(APPLICATION_YML)?
        .bootstrap(bootstrap.as_str())
        .shared_state(Arc::clone(&progress))
        .topic(NewTopic::new(TOPIC).partitions(1))
        .listeners(["quickstart"]);
    let connection = app
        .properties()
        .producer_connection()
        .with_bootstrap_servers([bootstrap.as_str()]);
    let running = app.start().await?;
    running
        .wait_for_assignment("quickstart", Duration::from_secs(30))
        .await
        .ok_or("the listener got no partition within 30 s")?;

    let template = KafkaTemplate::connect(connection.clone(), ProducerSettings::default()).await?;
    for n in 0..records {
        let greeting = Greeting {
            n,
            text: format!("hello #{n}"),
        };
        template
            .send(
                TOPIC,
                format!("greeter-{}", n % 10).as_str(),
                Json(greeting),
            )
            .await?;
    }

    template.flush().await?;
    drop(template);

    let deadline = Instant::now() + Duration::from_secs(60);
    while progress.handled.load(Ordering::Relaxed) < records && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Drains in-flight handlers, commits what they acknowledged, leaves the group.
    running.shutdown().await?;

    let member = GroupMember::new(connection, GroupConfig::new(GROUP));
    let committed = member
        .committed(&[TopicPartition::new(TOPIC, 0)])
        .await?
        .into_values()
        .flatten()
        .map(|offset| offset.offset)
        .sum::<i64>();
    if let Some(kafka) = embedded {
        kafka.shutdown().await;
    }
    let handled = progress.handled.load(Ordering::Relaxed);
    println!("quickstart: consumed {handled}/{records} records, committed offset {committed}");
    if handled != records {
        return Err(format!("only {handled} of {records} records were consumed").into());
    }
    Ok(())
}
