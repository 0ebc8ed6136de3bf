//! Listeners with retry topics at start-up: their configuration (the `retry_topic(...)`
//! attribute, else `spring.kafka.retry.topic.*`), the topics created with the main topic's
//! partition count, the forwarding recoverer, and the extra listener per retry topic whose
//! dispatch waits for each record's due time.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::topics::{create_topics, NewTopic};
use crate::config::{KafkaProperties, RetryTopicProperties};
use crate::container::{AckEvent, AckEvents};
use crate::error::{
    due_time_of, ErrorHandler, FixedBackOff, Recoverer, RetryChain, RetryTopicConfig,
    RetryTopicForwarder, TopicSuffixing,
};
use crate::producer::{KafkaTemplate, ProducerSettings};
use crate::record::ConsumerRecord;
use crate::registry::{HandlerFuture, ListenerSpec};
use crate::result::{Error, Result};

/// What a listener with retry topics runs: its own error handler (no blocking retries, then
/// forward) and one listener per retry topic.
pub(super) struct RetryTopicSetup {
    /// The main listener's (and every stage's) error handler.
    pub error_handler: ErrorHandler,
    /// One per retry topic, in chain order.
    pub stages: Vec<RetryStageListener>,
}

/// The listener of one retry topic (of each main topic).
pub(super) struct RetryStageListener {
    /// The suffix its id, group and client id get (`-retry-0`).
    pub suffix: String,
    /// The retry topics it consumes, one per main topic.
    pub topics: Vec<String>,
}

/// The listener's retry-topic configuration: its attribute wins over the app-wide
/// `spring.kafka.retry.topic.*` (as `@RetryableTopic` wins over a `RetryTopicConfiguration`
/// bean); `None` when neither asks for retry topics.
pub(super) fn config_for(
    spec: &ListenerSpec,
    app_wide: Option<&RetryTopicConfig>,
    properties: &KafkaProperties,
) -> Result<Option<RetryTopicConfig>> {
    if let Some(attribute) = &spec.retry_topic {
        return attribute
            .to_config_resolving(|text| {
                properties
                    .resolve_placeholders(text)
                    .map_err(|e| e.to_string())
            })
            .map(Some)
            .map_err(|e| Error::ListenerSetting {
                listener: spec.location(),
                setting: match e.setting {
                    "attempts" => "retry_topic(attempts)",
                    "delay" => "retry_topic(delay)",
                    "multiplier" => "retry_topic(multiplier)",
                    "max_delay" => "retry_topic(max_delay)",
                    _ => "retry_topic",
                },
                value: e.value,
                reason: e.reason,
            });
    }
    if let Some(config) = app_wide {
        return Ok(Some(config.clone()));
    }
    Ok(boot_config(&properties.retry_topic))
}

/// `spring.kafka.retry.topic.*` as Spring Boot applies it to every listener: index suffixes,
/// one topic for equal delays.
fn boot_config(retry: &RetryTopicProperties) -> Option<RetryTopicConfig> {
    if !retry.enabled {
        return None;
    }
    Some(
        RetryTopicConfig::default()
            .attempts(retry.attempts)
            .exponential(retry.delay, retry.multiplier, retry.max_delay)
            .jitter(retry.jitter)
            .suffixing(TopicSuffixing::Index),
    )
}

/// Creates the chain's topics (unless disabled) and the forwarding recoverer.
pub(super) async fn prepare(
    main_topics: &[String],
    config: &RetryTopicConfig,
    data_plane: &rskafka::client::Client,
    template: KafkaTemplate,
) -> Result<RetryTopicSetup> {
    let chains: Vec<RetryChain> = main_topics
        .iter()
        .map(|topic| RetryChain::new(topic, config))
        .collect();
    if config.auto_create_topics {
        let partitions: BTreeMap<String, i32> = data_plane
            .list_topics()
            .await
            .map_err(|e| Error::Metadata(e.to_string()))?
            .into_iter()
            .map(|t| (t.name, t.partitions.len() as i32))
            .collect();
        let mut wanted = Vec::new();
        for chain in &chains {
            // Same partition count as the main topic, so a record keeps its partition number.
            let count = partitions.get(chain.main_topic()).copied().unwrap_or(1);
            for stage in chain.stages() {
                wanted.push(NewTopic::new(&stage.topic).partitions(count).replicas(-1));
            }
        }
        create_topics(data_plane, &wanted).await?;
    }
    let mut stages: Vec<RetryStageListener> = Vec::new();
    for chain in &chains {
        for (index, stage) in chain.retry_stages().enumerate() {
            match stages.get_mut(index) {
                Some(listener) => listener.topics.push(stage.topic.clone()),
                None => stages.push(RetryStageListener {
                    suffix: stage.suffix.clone(),
                    topics: vec![stage.topic.clone()],
                }),
            }
        }
    }
    let forwarder = RetryTopicForwarder::new(template, chains);
    Ok(RetryTopicSetup {
        // Spring's retry-topic containers retry nothing in place: the first failure forwards.
        error_handler: ErrorHandler::new(
            FixedBackOff::new(Duration::ZERO, 0),
            Recoverer::RetryTopics(forwarder),
        ),
        stages,
    })
}

/// The producer that forwards failed records to retry and dead-letter topics, connected on
/// first use and shared by every listener.
#[derive(Default)]
pub(super) struct LazyTemplate(Option<KafkaTemplate>);

impl LazyTemplate {
    pub(super) async fn get(
        &mut self,
        properties: &KafkaProperties,
        bootstrap: Option<&str>,
    ) -> Result<KafkaTemplate> {
        if let Some(template) = &self.0 {
            return Ok(template.clone());
        }
        let template = forwarding_template(properties, bootstrap).await?;
        Ok(self.0.insert(template).clone())
    }
}

async fn forwarding_template(
    properties: &KafkaProperties,
    bootstrap: Option<&str>,
) -> Result<KafkaTemplate> {
    let connection = match bootstrap {
        Some(servers) => properties
            .producer_connection()
            .with_bootstrap_servers([servers]),
        None => properties.producer_connection(),
    };
    let settings = ProducerSettings {
        // Forwarding waits for each send; batching would only delay it.
        linger: Duration::ZERO,
        ..ProducerSettings::default()
    };
    Ok(KafkaTemplate::connect(connection, settings).await?)
}

/// Due times further ahead are not waited for (Spring's `MAX_BACKOFF_MS`, one day): a bogus
/// header must not hold a partition for years.
const MAX_WAIT_MS: i64 = 24 * 60 * 60 * 1000;

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as i64
}

/// Hands a retry topic's record to `dispatch` only once its due time
/// (`retry_topic-backoff-timestamp`) has come. Before that it asks the partition's worker to
/// redeliver the record after the remaining time (a nack): only this partition waits — other
/// partitions have their own workers and the member keeps heartbeating — and the wait ends
/// early on revoke or shutdown, leaving the record uncommitted.
pub(super) fn due_time_gate<D>(
    dispatch: D,
) -> impl Fn(ConsumerRecord, AckEvents) -> HandlerFuture + Clone + Send + Sync + 'static
where
    D: Fn(ConsumerRecord, AckEvents) -> HandlerFuture + Clone + Send + Sync + 'static,
{
    move |record, acks| {
        if let Some(due) = due_time_of(&record) {
            let now = now_ms();
            if due > now && due - now <= MAX_WAIT_MS {
                let wait = Duration::from_millis((due - now) as u64);
                tracing::debug!(
                    topic = %record.topic,
                    partition = record.partition,
                    offset = record.offset,
                    wait_ms = wait.as_millis() as u64,
                    "retry record not due yet; its partition waits"
                );
                acks.send(AckEvent::Nack {
                    offset: record.offset,
                    sleep: wait,
                });
                return Box::pin(async { Ok(()) });
            }
        }
        dispatch(record, acks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_keys_apply_to_every_listener_with_index_suffixes() {
        let properties = KafkaProperties::from_yaml_str(
            "spring.kafka.retry.topic:\n  enabled: true\n  attempts: 3\n  backoff:\n    delay: 1s\n    multiplier: 2\n",
        )
        .unwrap();
        let config = boot_config(&properties.retry_topic).unwrap();
        let chain = RetryChain::new("orders", &config);
        let names: Vec<_> = chain.stages().iter().map(|s| s.topic.as_str()).collect();
        assert_eq!(names, ["orders-retry-0", "orders-retry-1", "orders-dlt"]);
        // Spring Boot 3's names still bind.
        let boot3 = KafkaProperties::from_yaml_str(
            "spring.kafka.retry.topic:\n  enabled: true\n  attempts: 4\n  delay: 2s\n  multiplier: 3\n  max-delay: 10s\n",
        )
        .unwrap();
        assert!(boot3.warnings().is_empty(), "{:?}", boot3.warnings());
        let config = boot_config(&boot3.retry_topic).unwrap();
        let s = Duration::from_secs;
        assert_eq!(config.delays(), [s(2), s(6), s(10)]);
        let disabled = KafkaProperties::from_yaml_str("spring.kafka.consumer.group-id: g").unwrap();
        assert!(boot_config(&disabled.retry_topic).is_none());
    }

    /// The registry tests' spec, with a retry topic whose delay is a placeholder.
    const SPEC: ListenerSpec = ListenerSpec {
        id: Some("orders"),
        module_path: "shop",
        line: 7,
        retry_topic: Some(crate::error::RetryTopicSpec {
            attempts: Some(2),
            delay: Some("${orders.retry-delay:2s}"),
            multiplier: None,
            max_delay: None,
            dlt: None,
        }),
        ..crate::registry::tests::BASE
    };

    #[test]
    fn the_attribute_wins_over_app_wide_settings_and_its_placeholders_resolve() {
        let yaml = "spring.kafka.retry.topic.enabled: true\norders.retry-delay: 750ms\n";
        let properties = KafkaProperties::from_yaml_str(yaml).unwrap();
        let config = config_for(&SPEC, None, &properties).unwrap().unwrap();
        assert_eq!(config.delay, Duration::from_millis(750));
        assert_eq!(config.attempts, 2);
        assert_eq!(
            config.suffixing,
            TopicSuffixing::Delay,
            "@RetryableTopic's naming"
        );
        let without = ListenerSpec {
            retry_topic: None,
            required_state: Vec::new,
            ..SPEC
        };
        let app_wide = config_for(&without, None, &properties).unwrap().unwrap();
        assert_eq!(
            app_wide.suffixing,
            TopicSuffixing::Index,
            "Spring Boot's naming"
        );
        let bad = KafkaProperties::from_yaml_str("orders.retry-delay: soon").unwrap();
        let error = config_for(&SPEC, None, &bad).unwrap_err().to_string();
        assert!(error.contains("retry_topic(delay)"), "{error}");
        assert!(error.contains("src/orders.rs:7"), "{error}");
        assert!(error.contains("soon"), "{error}");
    }

    #[tokio::test]
    async fn a_record_not_yet_due_is_nacked_for_the_remaining_time_and_not_handled() {
        let handled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = handled.clone();
        let gate = due_time_gate(move |_record, _acks| {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Box::pin(async { Ok(()) }) as HandlerFuture
        });
        let record_due_in = |ms: i64| {
            let mut headers = crate::record::Headers::new();
            headers.push(
                crate::error::retry_header_names::BACKOFF_TIMESTAMP,
                Some(crate::error::big_integer_bytes(now_ms() + ms)),
            );
            ConsumerRecord {
                offset: 9,
                headers,
                ..Default::default()
            }
        };
        let (acks, mut events) = AckEvents::channel();
        gate(record_due_in(60_000), acks.clone()).await.unwrap();
        assert_eq!(handled.load(std::sync::atomic::Ordering::SeqCst), 0);
        match events.try_recv() {
            Some(AckEvent::Nack { offset: 9, sleep }) => {
                assert!(sleep > Duration::from_secs(58) && sleep <= Duration::from_secs(60))
            }
            other => panic!("expected a nack, got {other:?}"),
        }
        gate(record_due_in(-5), acks.clone()).await.unwrap();
        assert_eq!(handled.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert!(events.try_recv().is_none());
        // More than a day ahead: a bogus header, handled at once as Spring does.
        gate(record_due_in(2 * MAX_WAIT_MS), acks).await.unwrap();
        assert_eq!(handled.load(std::sync::atomic::Ordering::SeqCst), 2);
        assert!(events.try_recv().is_none());
    }
}
