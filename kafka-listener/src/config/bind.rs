//! `spring.kafka.*` keys → the typed structs, with Spring Boot 4's defaults and start-up rules.

use std::collections::BTreeMap;
use std::time::Duration;

use super::binder::{Binder, Located};
use super::codec::{self, Deserializer, Serializer};
use super::error::ConfigError;
use super::model::{
    AckMode, AdminProperties, Assignor, AutoOffsetReset, ConsumerProperties, GroupSettings,
    IsolationLevel, ListenerProperties, ListenerType, ParallelismProperties, ProducerProperties,
    RetryTopicProperties, SecurityProtocol, TemplateProperties,
};
use super::origin::Origin;
use super::properties_map::Properties;
use crate::vocabulary::DispatchOrdering;

const ROOT: &str = "spring.kafka";

const SECURITY_PROTOCOLS: &[(&str, SecurityProtocol)] = &[
    ("PLAINTEXT", SecurityProtocol::Plaintext),
    ("SSL", SecurityProtocol::Ssl),
    ("SASL_PLAINTEXT", SecurityProtocol::SaslPlaintext),
    ("SASL_SSL", SecurityProtocol::SaslSsl),
];

/// Keys Spring Boot has under `spring.kafka` that this crate does not act on yet.
const UNSUPPORTED: &[&str] = &[
    "jaas",
    "streams",
    "listener.observation-enabled",
    "listener.change-consumer-thread-name",
    "template.observation-enabled",
];

fn key(path: &str) -> String {
    format!("{ROOT}.{path}")
}

fn values(map: BTreeMap<String, Located<String>>) -> Properties {
    map.into_iter()
        .map(|(k, v)| (k, v.value))
        .collect::<BTreeMap<_, _>>()
        .into()
}

pub(crate) fn security_protocol(
    binder: &mut Binder<'_>,
    path: &str,
) -> Result<Option<SecurityProtocol>, ConfigError> {
    Ok(binder
        .choice(&key(path), SECURITY_PROTOCOLS)?
        .map(|l| l.value))
}

pub(crate) fn mark_unsupported(binder: &mut Binder<'_>) {
    for path in UNSUPPORTED {
        binder.unsupported(&key(path));
    }
}

/// `key-deserializer` / `value-deserializer`, with `ErrorHandlingDeserializer` resolved through
/// its delegate property (`spring.deserializer.{key,value}.delegate.class`).
fn deserializer(
    binder: &mut Binder<'_>,
    which: &str,
    properties: &BTreeMap<String, Located<String>>,
) -> Result<Deserializer, ConfigError> {
    let class_key = key(&format!("consumer.{which}-deserializer"));
    let Some(class) = binder.string(&class_key)? else {
        return Ok(Deserializer::String);
    };
    if codec::is_error_handling(&class.value) {
        let delegate_property = format!("spring.deserializer.{which}.delegate.class");
        let delegate_key = key(&format!("consumer.properties.{delegate_property}"));
        let Some(delegate) = properties.get(&delegate_property) else {
            return Err(ConfigError::MissingDelegate {
                key: class_key,
                origin: class.origin,
                delegate_key,
                supported: Deserializer::supported_delegate_class_names(),
            });
        };
        let inner = Deserializer::from_class_name(&delegate.value).ok_or_else(|| {
            ConfigError::UnsupportedCodec {
                key: delegate_key,
                origin: delegate.origin.clone(),
                class_name: delegate.value.clone(),
                supported: Deserializer::supported_delegate_class_names(),
            }
        })?;
        return Ok(Deserializer::ErrorHandling(Box::new(inner)));
    }
    Deserializer::from_class_name(&class.value).ok_or_else(|| ConfigError::UnsupportedCodec {
        key: class_key,
        origin: class.origin,
        class_name: class.value,
        supported: Deserializer::supported_class_names(),
    })
}

fn serializer(binder: &mut Binder<'_>, which: &str) -> Result<Serializer, ConfigError> {
    let class_key = key(&format!("producer.{which}-serializer"));
    let Some(class) = binder.string(&class_key)? else {
        return Ok(Serializer::String);
    };
    Serializer::from_class_name(&class.value).ok_or_else(|| ConfigError::UnsupportedCodec {
        key: class_key,
        origin: class.origin,
        class_name: class.value,
        supported: Serializer::supported_class_names(),
    })
}

/// A Kafka `*.ms` property from the merged properties, as a duration.
fn millis_property(
    properties: &BTreeMap<String, Located<String>>,
    map_prefix: &str,
    name: &str,
) -> Result<Option<Duration>, ConfigError> {
    let Some(value) = properties.get(name) else {
        return Ok(None);
    };
    value
        .value
        .trim()
        .parse::<u64>()
        .map(|ms| Some(Duration::from_millis(ms)))
        .map_err(|_| ConfigError::InvalidValue {
            key: format!("{map_prefix}.{name}"),
            origin: value.origin.clone(),
            value: value.value.clone(),
            expected: "a whole number of milliseconds".to_owned(),
        })
}

/// `request.timeout.ms` from a client's merged properties, reported against the map it came from.
fn request_timeout(
    merged: &BTreeMap<String, Located<String>>,
    own: &BTreeMap<String, Located<String>>,
    own_prefix: &str,
) -> Result<Option<Duration>, ConfigError> {
    const NAME: &str = "request.timeout.ms";
    let prefix = if own.contains_key(NAME) {
        own_prefix.to_owned()
    } else {
        key("properties")
    };
    millis_property(merged, &prefix, NAME)
}

pub(crate) fn consumer(
    binder: &mut Binder<'_>,
    global_properties: &BTreeMap<String, Located<String>>,
) -> Result<ConsumerProperties, ConfigError> {
    let own_properties = binder.map(&key("consumer.properties"))?;
    // Kafka's precedence: consumer.properties.* over global properties.* (typed keys between).
    let mut merged = global_properties.clone();
    merged.extend(own_properties.clone());
    let properties_prefix = key("consumer.properties");

    let heartbeat_interval = binder.duration(&key("consumer.heartbeat-interval"))?;
    let max_poll_interval = binder.duration(&key("consumer.max-poll-interval"))?;
    let prefer = |own: Option<Duration>,
                  typed: Option<Duration>,
                  global: Option<Duration>,
                  default| { own.or(typed).or(global).unwrap_or(default) };
    let own_ms = |name| millis_property(&own_properties, &properties_prefix, name);
    let global_ms = |name| millis_property(global_properties, &key("properties"), name);
    let strategy = match merged.get("partition.assignment.strategy") {
        None => Assignor::KAFKA_DEFAULT.to_vec(),
        Some(value) => value
            .value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|name| {
                Assignor::from_class_name(name).ok_or_else(|| ConfigError::InvalidValue {
                    key: format!("{properties_prefix}.partition.assignment.strategy"),
                    origin: value.origin.clone(),
                    value: value.value.clone(),
                    expected: "a comma-separated list of org.apache.kafka.clients.consumer.RangeAssignor, RoundRobinAssignor, StickyAssignor, CooperativeStickyAssignor".to_owned(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    let group = GroupSettings {
        session_timeout: prefer(
            own_ms("session.timeout.ms")?,
            None,
            global_ms("session.timeout.ms")?,
            Duration::from_secs(45),
        ),
        heartbeat_interval: prefer(
            own_ms("heartbeat.interval.ms")?,
            heartbeat_interval,
            global_ms("heartbeat.interval.ms")?,
            Duration::from_secs(3),
        ),
        max_poll_interval: prefer(
            own_ms("max.poll.interval.ms")?,
            max_poll_interval,
            global_ms("max.poll.interval.ms")?,
            Duration::from_secs(300),
        ),
        partition_assignment_strategy: strategy,
        group_instance_id: merged
            .get("group.instance.id")
            .map(|v| v.value.clone())
            .filter(|v| !v.is_empty()),
    };

    Ok(ConsumerProperties {
        bootstrap_servers: binder.list(&key("consumer.bootstrap-servers"))?,
        client_id: binder.string(&key("consumer.client-id"))?.map(|l| l.value),
        group_id: binder.string(&key("consumer.group-id"))?.map(|l| l.value),
        auto_offset_reset: binder
            .choice(
                &key("consumer.auto-offset-reset"),
                &AutoOffsetReset::CHOICES,
            )?
            .map(|l| l.value),
        enable_auto_commit: binder
            .bool(&key("consumer.enable-auto-commit"))?
            .map(|l| l.value),
        auto_commit_interval: binder.duration(&key("consumer.auto-commit-interval"))?,
        key_deserializer: deserializer(binder, "key", &merged)?,
        value_deserializer: deserializer(binder, "value", &merged)?,
        max_poll_records: binder
            .number(&key("consumer.max-poll-records"), "a positive whole number")?,
        max_poll_interval,
        fetch_min_size: binder.size(&key("consumer.fetch-min-size"))?,
        fetch_max_wait: binder.duration(&key("consumer.fetch-max-wait"))?,
        heartbeat_interval,
        isolation_level: binder
            .choice(
                &key("consumer.isolation-level"),
                &[
                    ("read_uncommitted", IsolationLevel::ReadUncommitted),
                    ("read_committed", IsolationLevel::ReadCommitted),
                ],
            )?
            .map(|l| l.value),
        security_protocol: security_protocol(binder, "consumer.security.protocol")?,
        request_timeout: request_timeout(&merged, &own_properties, &properties_prefix)?,
        properties: values(merged),
        group,
    })
}

const ACKS: &[&str] = &["all", "-1", "0", "1"];
const COMPRESSION_TYPES: &[&str] = &["none", "gzip", "snappy", "lz4", "zstd"];

fn acks(s: &str) -> Option<String> {
    ACKS.contains(&s).then(|| s.to_owned())
}

fn compression_type(s: &str) -> Option<String> {
    let lower = s.to_ascii_lowercase();
    COMPRESSION_TYPES.contains(&lower.as_str()).then_some(lower)
}

fn millis(s: &str) -> Option<Duration> {
    s.parse::<u64>().ok().map(Duration::from_millis)
}

/// A setting Spring Boot lets users write as a typed key and as a raw Kafka property, with its
/// precedence: `own.<name>` (e.g. `producer.properties.linger.ms`) over `typed` over the global
/// `spring.kafka.properties.<name>`. Both maps' values are checked even when another one wins,
/// so a typo never hides behind an override.
struct Layers<'a> {
    own: &'a BTreeMap<String, Located<String>>,
    own_prefix: String,
    global: &'a BTreeMap<String, Located<String>>,
}

impl Layers<'_> {
    fn get<T>(
        &self,
        name: &str,
        typed: Option<T>,
        expected: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Option<T>, ConfigError> {
        let parse_in = |map: &BTreeMap<String, Located<String>>, prefix: &str| {
            let Some(value) = map.get(name) else {
                return Ok(None);
            };
            parse(value.value.trim())
                .map(Some)
                .ok_or_else(|| ConfigError::InvalidValue {
                    key: format!("{prefix}.{name}"),
                    origin: value.origin.clone(),
                    value: value.value.clone(),
                    expected: expected.to_owned(),
                })
        };
        let own = parse_in(self.own, &self.own_prefix)?;
        let global = parse_in(self.global, &key("properties"))?;
        Ok(own.or(typed).or(global))
    }
}

pub(crate) fn producer(
    binder: &mut Binder<'_>,
    global_properties: &BTreeMap<String, Located<String>>,
) -> Result<ProducerProperties, ConfigError> {
    let own_properties = binder.map(&key("producer.properties"))?;
    let mut merged = global_properties.clone();
    merged.extend(own_properties.clone());
    let request_timeout = request_timeout(&merged, &own_properties, &key("producer.properties"))?;
    let layers = Layers {
        own: &own_properties,
        own_prefix: key("producer.properties"),
        global: global_properties,
    };
    const ACKS_EXPECTED: &str = "one of all, -1, 0, 1";
    const COMPRESSION_EXPECTED: &str = "one of none, gzip, snappy, lz4, zstd";
    const BYTES_EXPECTED: &str = "a whole number of bytes";
    const MS_EXPECTED: &str = "a whole number of milliseconds";
    let typed_acks = binder
        .parsed(&key("producer.acks"), ACKS_EXPECTED, acks)?
        .map(|l| l.value);
    let typed_compression = binder
        .parsed(
            &key("producer.compression-type"),
            COMPRESSION_EXPECTED,
            compression_type,
        )?
        .map(|l| l.value);
    let typed_batch_size = binder.size(&key("producer.batch-size"))?;
    let typed_buffer_memory = binder.size(&key("producer.buffer-memory"))?;
    let typed_retries = binder.number(&key("producer.retries"), "a whole number")?;
    let typed_linger = binder
        .parsed(&key("producer.linger-ms"), MS_EXPECTED, millis)?
        .map(|l| l.value);
    let ms = |name| layers.get(name, None, MS_EXPECTED, millis);
    Ok(ProducerProperties {
        bootstrap_servers: binder.list(&key("producer.bootstrap-servers"))?,
        client_id: binder.string(&key("producer.client-id"))?.map(|l| l.value),
        acks: layers.get("acks", typed_acks, ACKS_EXPECTED, acks)?,
        batch_size: layers.get("batch.size", typed_batch_size, BYTES_EXPECTED, |s| {
            s.parse().ok()
        })?,
        buffer_memory: layers.get("buffer.memory", typed_buffer_memory, BYTES_EXPECTED, |s| {
            s.parse().ok()
        })?,
        compression_type: layers.get(
            "compression.type",
            typed_compression,
            COMPRESSION_EXPECTED,
            compression_type,
        )?,
        key_serializer: serializer(binder, "key")?,
        value_serializer: serializer(binder, "value")?,
        retries: layers.get("retries", typed_retries, "a whole number", |s| {
            s.parse().ok()
        })?,
        linger: layers.get("linger.ms", typed_linger, MS_EXPECTED, millis)?,
        delivery_timeout: ms("delivery.timeout.ms")?,
        retry_backoff: ms("retry.backoff.ms")?,
        retry_backoff_max: ms("retry.backoff.max.ms")?,
        max_block: ms("max.block.ms")?,
        transaction_id_prefix: binder
            .string(&key("producer.transaction-id-prefix"))?
            .map(|l| l.value),
        security_protocol: security_protocol(binder, "producer.security.protocol")?,
        properties: values(merged),
        request_timeout,
    })
}

pub(crate) fn admin(
    binder: &mut Binder<'_>,
    global_properties: &BTreeMap<String, Located<String>>,
) -> Result<AdminProperties, ConfigError> {
    let own_properties = binder.map(&key("admin.properties"))?;
    let mut merged = global_properties.clone();
    merged.extend(own_properties.clone());
    let request_timeout = request_timeout(&merged, &own_properties, &key("admin.properties"))?;
    Ok(AdminProperties {
        bootstrap_servers: binder.list(&key("admin.bootstrap-servers"))?,
        client_id: binder.string(&key("admin.client-id"))?.map(|l| l.value),
        close_timeout: binder.duration(&key("admin.close-timeout"))?,
        operation_timeout: binder.duration(&key("admin.operation-timeout"))?,
        fail_fast: binder
            .bool(&key("admin.fail-fast"))?
            .is_some_and(|l| l.value),
        auto_create: binder
            .bool(&key("admin.auto-create"))?
            .is_none_or(|l| l.value),
        modify_topic_configs: binder
            .bool(&key("admin.modify-topic-configs"))?
            .is_some_and(|l| l.value),
        security_protocol: security_protocol(binder, "admin.security.protocol")?,
        properties: values(merged),
        request_timeout,
    })
}

/// The listener section, plus where `ack-mode` was written (for the auto-commit rule).
pub(crate) fn listener(
    binder: &mut Binder<'_>,
) -> Result<(ListenerProperties, Origin), ConfigError> {
    let ack_mode = binder.choice(&key("listener.ack-mode"), &AckMode::CHOICES)?;
    let ack_mode_origin = ack_mode
        .as_ref()
        .map_or(Origin::Default, |l| l.origin.clone());
    let properties = ListenerProperties {
        listener_type: binder
            .choice(
                &key("listener.type"),
                &[
                    ("single", ListenerType::Single),
                    ("batch", ListenerType::Batch),
                ],
            )?
            .map(|l| l.value)
            .unwrap_or_default(),
        ack_mode: ack_mode.map(|l| l.value).unwrap_or_default(),
        ack_count: binder
            .number(&key("listener.ack-count"), "a positive whole number")?
            .unwrap_or(1),
        ack_time: binder
            .duration(&key("listener.ack-time"))?
            .unwrap_or(Duration::from_secs(5)),
        poll_timeout: binder
            .duration(&key("listener.poll-timeout"))?
            .unwrap_or(Duration::from_secs(5)),
        concurrency: binder
            .parsed(
                &key("listener.concurrency"),
                "a whole number of at least 1",
                |s| s.parse::<u32>().ok().filter(|n| *n >= 1),
            )?
            .map(|l| l.value),
        client_id: binder.string(&key("listener.client-id"))?.map(|l| l.value),
        missing_topics_fatal: binder
            .bool(&key("listener.missing-topics-fatal"))?
            .is_some_and(|l| l.value),
        idle_between_polls: binder
            .duration(&key("listener.idle-between-polls"))?
            .unwrap_or_default(),
        idle_event_interval: binder.duration(&key("listener.idle-event-interval"))?,
        idle_partition_event_interval: binder
            .duration(&key("listener.idle-partition-event-interval"))?,
        monitor_interval: binder.duration_seconds(&key("listener.monitor-interval"))?,
        no_poll_threshold: binder
            .parsed(
                &key("listener.no-poll-threshold"),
                "a positive number",
                |s| s.parse::<f64>().ok().filter(|f| f.is_finite() && *f > 0.0),
            )?
            .map(|l| l.value),
        async_acks: binder.bool(&key("listener.async-acks"))?.map(|l| l.value),
        log_container_config: binder
            .bool(&key("listener.log-container-config"))?
            .map(|l| l.value),
        immediate_stop: binder
            .bool(&key("listener.immediate-stop"))?
            .is_some_and(|l| l.value),
        auto_startup: binder
            .bool(&key("listener.auto-startup"))?
            .is_none_or(|l| l.value),
    };
    Ok((properties, ack_mode_origin))
}

pub(crate) fn retry_topic(binder: &mut Binder<'_>) -> Result<RetryTopicProperties, ConfigError> {
    // Spring Boot 3 put the back-off keys right under `retry.topic`; Boot 4 moved them under
    // `backoff`. The old names still bind (the new ones win), so a Boot 3 file keeps working.
    let multiplier_forms = "a number of at least 1.0";
    let multiplier = |s: &str| s.parse::<f64>().ok().filter(|f| f.is_finite() && *f >= 1.0);
    let boot3_delay = binder.duration(&key("retry.topic.delay"))?;
    let boot3_multiplier = binder
        .parsed(&key("retry.topic.multiplier"), multiplier_forms, multiplier)?
        .map(|l| l.value);
    let boot3_max_delay = binder.duration(&key("retry.topic.max-delay"))?;
    Ok(RetryTopicProperties {
        enabled: binder
            .bool(&key("retry.topic.enabled"))?
            .is_some_and(|l| l.value),
        attempts: binder
            .parsed(
                &key("retry.topic.attempts"),
                "a whole number of at least 1",
                |s| s.parse::<u32>().ok().filter(|n| *n >= 1),
            )?
            .map_or(3, |l| l.value),
        delay: binder
            .duration(&key("retry.topic.backoff.delay"))?
            .or(boot3_delay)
            .unwrap_or(Duration::from_secs(1)),
        multiplier: binder
            .parsed(
                &key("retry.topic.backoff.multiplier"),
                multiplier_forms,
                multiplier,
            )?
            .map(|l| l.value)
            .or(boot3_multiplier)
            .unwrap_or(1.0),
        max_delay: binder
            .duration(&key("retry.topic.backoff.max-delay"))?
            .or(boot3_max_delay)
            .unwrap_or(Duration::from_secs(30)),
        jitter: binder
            .duration(&key("retry.topic.backoff.jitter"))?
            .unwrap_or_default(),
    })
}

pub(crate) fn template(binder: &mut Binder<'_>) -> Result<TemplateProperties, ConfigError> {
    Ok(TemplateProperties {
        default_topic: binder
            .string(&key("template.default-topic"))?
            .map(|l| l.value),
        transaction_id_prefix: binder
            .string(&key("template.transaction-id-prefix"))?
            .map(|l| l.value),
    })
}

/// Spring's rule: a manual ack mode with auto-commit on cannot work, so start-up fails.
pub(crate) fn check_manual_ack(
    binder: &mut Binder<'_>,
    listener: &ListenerProperties,
    ack_mode_origin: Origin,
) -> Result<(), ConfigError> {
    if !listener.ack_mode.is_manual() {
        return Ok(());
    }
    match binder.bool(&key("consumer.enable-auto-commit"))? {
        Some(auto_commit) if auto_commit.value => Err(ConfigError::ManualAckWithAutoCommit {
            ack_mode: listener.ack_mode.spring_name().to_owned(),
            ack_mode_origin,
            auto_commit_origin: auto_commit.origin,
        }),
        _ => Ok(()),
    }
}

/// The root of this crate's own keys.
pub(crate) const EXTENSION_ROOT: &str = "kafka-listener";

const ORDERINGS: &[(&str, DispatchOrdering)] = &[
    ("key", DispatchOrdering::Key),
    ("partition", DispatchOrdering::Partition),
    ("unordered", DispatchOrdering::Unordered),
];

/// `kafka-listener.parallelism.*`.
pub(crate) fn parallelism(binder: &mut Binder<'_>) -> Result<ParallelismProperties, ConfigError> {
    Ok(ParallelismProperties {
        max_in_flight: binder
            .parsed(
                &format!("{EXTENSION_ROOT}.parallelism.max-in-flight"),
                "a whole number of at least 1",
                |s| s.parse::<u32>().ok().filter(|n| *n >= 1),
            )?
            .map(|l| l.value),
        ordering: binder
            .choice(&format!("{EXTENSION_ROOT}.parallelism.ordering"), ORDERINGS)?
            .map(|l| l.value),
    })
}
