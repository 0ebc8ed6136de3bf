//! `dlt-publish`: our listener fails every record of `interop-R-dlt` with a fatal error and the
//! `DeadLetterPublisher` writes them to `interop-R-dlt-dlt` with Spring's `kafka_dlt-*` headers,
//! for the Java peer's `dlt-read` (tests/interop/java/.../DeadLetterReader.java) to decode as
//! Spring Kafka encodes them. The data set: on partition p at offset 0, key `dlt-p`, value
//! `poison-p`, timestamp 1700000000000 + p; group `interop-R-dlt-group`.

use std::sync::Arc;
use std::time::Duration;

use kafka_listener::error::{DeadLetterPublisher, ErrorHandler, Fatal, FixedBackOff, Recoverer};
use kafka_listener::producer::{KafkaTemplate, ProducerRecord, ProducerSettings};
use kafka_listener::{kafka_listener, App, Key};
use rskafka::client::error::{Error as RsError, ProtocolError};

use crate::{connection, log_ends, rskafka_client, wait_until, PARTITIONS, SCENARIO_TIMEOUT};

const LISTENER_ID: &str = "interop-dlt";
const BASE_TIMESTAMP: i64 = 1_700_000_000_000;

/// The handler's error; its Rust type name is what `kafka_dlt-exception-fqcn` carries.
#[derive(Debug, thiserror::Error)]
#[error("record {0} is poison")]
pub(crate) struct InteropPoison(String);

/// Fails every record; the error is fatal, so it goes to the DLT after one delivery.
#[kafka_listener(
    id = "interop-dlt",
    topics = "${interop.dlt.topic}",
    group_id = "${interop.dlt.group}"
)]
async fn on_poison(key: Key<String>) -> Result<(), Fatal> {
    Err(Fatal::new(InteropPoison(key.0)))
}

async fn create(client: &rskafka::client::Client, topic: &str) -> Result<(), String> {
    let controller = client
        .controller_client()
        .map_err(|e| format!("controller: {e}"))?;
    match controller.create_topic(topic, PARTITIONS, 1, 30_000).await {
        Ok(())
        | Err(RsError::ServerError {
            protocol_error: ProtocolError::TopicAlreadyExists,
            ..
        }) => Ok(()),
        Err(e) => Err(format!("create {topic}: {e}")),
    }
}

pub(crate) async fn publish(bootstrap: &str, run: &str) -> Result<(), String> {
    let topic = format!("interop-{run}-dlt");
    let dlt = format!("{topic}-dlt");
    let group = format!("{topic}-group");
    let client = rskafka_client(bootstrap).await?;
    create(&client, &topic).await?;
    create(&client, &dlt).await?;
    let template = KafkaTemplate::connect(connection(bootstrap), ProducerSettings::default())
        .await
        .map_err(|e| format!("producer: {e}"))?;
    for p in 0..PARTITIONS {
        template
            .send_record(ProducerRecord {
                topic: topic.clone(),
                partition: Some(p),
                key: Some(format!("dlt-{p}").into()),
                value: Some(format!("poison-{p}").into()),
                timestamp: Some(BASE_TIMESTAMP + p as i64),
                ..ProducerRecord::default()
            })
            .await
            .map_err(|e| format!("produce to partition {p}: {e}"))?;
    }
    let yml = format!(
        "spring.kafka.consumer.auto-offset-reset: earliest\nspring.kafka.listener.poll-timeout: 200ms\ninterop.dlt:\n  topic: {topic}\n  group: {group}\n"
    );
    let running = App::from_yaml_str(&yml)
        .map_err(|e| format!("configuration: {e}"))?
        .bootstrap(bootstrap)
        .listener_error_handler(
            LISTENER_ID,
            ErrorHandler::new(
                FixedBackOff::new(Duration::ZERO, 9),
                Recoverer::DeadLetter(DeadLetterPublisher::new(template)),
            ),
        )
        .listeners([LISTENER_ID])
        .start()
        .await
        .map_err(|e| format!("start the app: {e}"))?;
    let client = Arc::new(client);
    let published = wait_until("a dead letter per partition", SCENARIO_TIMEOUT, || {
        let client = Arc::clone(&client);
        let dlt = dlt.clone();
        async move {
            Ok(log_ends(&client, &dlt, PARTITIONS)
                .await?
                .values()
                .all(|&end| end == 1))
        }
    })
    .await;
    let shutdown = running.shutdown().await;
    published?;
    shutdown.map_err(|e| format!("shutdown: {e}"))
}
