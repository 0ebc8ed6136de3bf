//! `config_*`: Spring Boot's `application.yml` / `application.properties` as kafka-listener
//! reads them. Every test passes its own environment (`ConfigLoader::env`), so none depends on
//! the machine's.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kafka_listener::config::{
    AckMode, Assignor, AutoOffsetReset, ConfigError, ConfigLoader, Deserializer, IsolationLevel,
    KafkaProperties, ListenerType, Origin, SecurityProtocol, Serializer,
};
use kafka_listener_suite::unique_name;

const NO_ENV: [(&str, &str); 0] = [];

fn loader() -> ConfigLoader {
    ConfigLoader::new().env(NO_ENV)
}

fn load(yaml: &str) -> Result<KafkaProperties, ConfigError> {
    loader().load_yaml_str(yaml)
}

/// A scratch directory removed when the test ends.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn with_files(files: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(unique_name("kafka-listener-config"));
        std::fs::create_dir_all(&dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
        ScratchDir(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn seed_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed-application.yml")
}

#[test]
fn config_seed_fixture_loads_unchanged_and_every_value_is_bound() {
    // The copy in the repository is the seed's file, byte for byte (when ../shared is present).
    let shared =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/seed-application.yml");
    if let Ok(original) = std::fs::read(&shared) {
        assert_eq!(
            std::fs::read(seed_path()).unwrap(),
            original,
            "fixture differs from the seed's"
        );
    }
    let props = loader().load_yaml_file(seed_path()).unwrap();
    let brokers = ["localhost:29092", "localhost:39093", "localhost:49094"];

    let consumer = &props.consumer;
    assert_eq!(
        consumer.bootstrap_servers.as_deref(),
        Some(&brokers.map(String::from)[..])
    );
    assert_eq!(consumer.key_deserializer, Deserializer::String);
    assert_eq!(consumer.value_deserializer, Deserializer::String);
    assert_eq!(consumer.auto_offset_reset, Some(AutoOffsetReset::Latest));
    assert_eq!(consumer.enable_auto_commit, Some(false));
    assert!(!consumer.auto_commit());
    assert_eq!(consumer.properties["heartbeat.interval.ms"], "1000");
    assert_eq!(consumer.properties["session.timeout.ms"], "15000");
    assert_eq!(consumer.properties["max.poll.interval.ms"], "300000");
    assert_eq!(consumer.group.heartbeat_interval, Duration::from_secs(1));
    assert_eq!(consumer.group.session_timeout, Duration::from_secs(15));
    assert_eq!(consumer.group.max_poll_interval, Duration::from_secs(300));

    assert_eq!(props.listener.poll_timeout, Duration::from_millis(3000));
    assert_eq!(props.listener.ack_mode, AckMode::Manual);
    assert!(!props.listener.missing_topics_fatal);

    let producer = &props.producer;
    assert_eq!(
        producer.bootstrap_servers.as_deref(),
        Some(&brokers.map(String::from)[..])
    );
    assert_eq!(producer.key_serializer, Serializer::String);
    assert_eq!(producer.value_serializer, Serializer::String);

    assert_eq!(props.consumer_connection().bootstrap_servers(), brokers);
    assert_eq!(props.producer_connection().bootstrap_servers(), brokers);
    assert!(props.warnings().is_empty(), "{:?}", props.warnings());
}

#[test]
fn config_defaults_match_spring_boot_4() {
    let props = load("").unwrap();
    assert_eq!(props.bootstrap_servers, ["localhost:9092"]);
    assert_eq!(
        props.consumer_connection().bootstrap_servers(),
        ["localhost:9092"]
    );
    assert_eq!(props.client_id, None);
    let listener = &props.listener;
    assert_eq!(listener.ack_mode, AckMode::Batch);
    assert_eq!(listener.ack_count, 1);
    assert_eq!(listener.ack_time, Duration::from_secs(5));
    assert_eq!(listener.poll_timeout, Duration::from_secs(5));
    assert_eq!(listener.listener_type, ListenerType::Single);
    assert_eq!(listener.concurrency, None);
    assert!(!listener.missing_topics_fatal);
    assert_eq!(listener.idle_between_polls, Duration::ZERO);
    assert!(listener.auto_startup);
    let retry = &props.retry_topic;
    assert!(!retry.enabled);
    assert_eq!(retry.attempts, 3);
    assert_eq!(retry.delay, Duration::from_secs(1));
    assert_eq!(retry.multiplier, 1.0);
    assert_eq!(retry.max_delay, Duration::from_secs(30));
    assert_eq!(retry.jitter, Duration::ZERO);
    let consumer = &props.consumer;
    assert_eq!(consumer.key_deserializer, Deserializer::String);
    assert!(
        !consumer.auto_commit(),
        "Spring turns auto-commit off unless the user sets it"
    );
    assert_eq!(consumer.group.session_timeout, Duration::from_secs(45));
    assert_eq!(consumer.group.heartbeat_interval, Duration::from_secs(3));
    assert_eq!(consumer.group.max_poll_interval, Duration::from_secs(300));
    assert_eq!(
        consumer.group.partition_assignment_strategy,
        Assignor::KAFKA_DEFAULT
    );
    assert_eq!(consumer.group.group_instance_id, None);
    assert_eq!(props.producer.value_serializer, Serializer::String);
    assert!(props.admin.auto_create);
    assert!(!props.admin.fail_fast);
}

#[test]
fn config_relaxed_binding_accepts_kebab_camel_and_snake_keys() {
    for key in ["group-id", "groupId", "group_id", "GROUP-ID"] {
        let props = load(&format!(
            "spring:\n  kafka:\n    consumer:\n      {key}: orders\n"
        ))
        .unwrap();
        assert_eq!(props.consumer.group_id.as_deref(), Some("orders"), "{key}");
        assert!(props.warnings().is_empty(), "{key}: {:?}", props.warnings());
    }
    let props =
        load("spring.kafka.listener:\n  ackMode: manual-immediate\n  missing_topics_fatal: TRUE\n")
            .unwrap();
    assert_eq!(props.listener.ack_mode, AckMode::ManualImmediate);
    assert!(props.listener.missing_topics_fatal);
}

#[test]
fn config_durations_accept_millis_units_and_iso8601() {
    let props = load(
        "spring.kafka:
  listener:
    poll-timeout: 3000
    ack-time: 3s
    idle-between-polls: 500ms
    monitor-interval: 30
  consumer:
    fetch-max-wait: PT0.5S
    auto-commit-interval: P1DT1H
  retry.topic.backoff:
    delay: 2s
    max-delay: PT1M
    jitter: 100ms
    multiplier: 2.5
",
    )
    .unwrap();
    assert_eq!(props.listener.poll_timeout, Duration::from_millis(3000));
    assert_eq!(props.listener.ack_time, Duration::from_secs(3));
    assert_eq!(
        props.listener.idle_between_polls,
        Duration::from_millis(500)
    );
    assert_eq!(
        props.listener.monitor_interval,
        Some(Duration::from_secs(30)),
        "monitor-interval counts seconds, as Spring Boot's @DurationUnit(SECONDS)"
    );
    assert_eq!(
        props.consumer.fetch_max_wait,
        Some(Duration::from_millis(500))
    );
    assert_eq!(
        props.consumer.auto_commit_interval,
        Some(Duration::from_secs(90_000))
    );
    assert_eq!(props.retry_topic.delay, Duration::from_secs(2));
    assert_eq!(props.retry_topic.max_delay, Duration::from_secs(60));
    assert_eq!(props.retry_topic.jitter, Duration::from_millis(100));
    assert_eq!(props.retry_topic.multiplier, 2.5);
}

#[test]
fn config_sizes_and_numbers_bind_to_their_types() {
    let props = load(
        "spring.kafka:
  consumer: {fetch-min-size: 64KB, max-poll-records: 250, isolation-level: read_committed, auto-offset-reset: earliest}
  producer: {batch-size: 16384, buffer-memory: 32MB, acks: all, compression-type: zstd, retries: 5}
  listener: {concurrency: 3, type: batch, ack-count: 10}
  security.protocol: SASL_PLAINTEXT
  properties:
    sasl.mechanism: SCRAM-SHA-512
    sasl.jaas.config: org.apache.kafka.common.security.scram.ScramLoginModule required username=alice password=alice-secret;
  admin: {fail-fast: true, auto-create: false, operation-timeout: 30s}
",
    )
    .unwrap();
    assert_eq!(props.consumer.fetch_min_size, Some(65_536));
    assert_eq!(props.consumer.max_poll_records, Some(250));
    assert_eq!(
        props.consumer.isolation_level,
        Some(IsolationLevel::ReadCommitted)
    );
    assert_eq!(
        props.consumer.auto_offset_reset,
        Some(AutoOffsetReset::Earliest)
    );
    assert_eq!(props.producer.batch_size, Some(16_384));
    assert_eq!(props.producer.buffer_memory, Some(32 << 20));
    assert_eq!(props.producer.acks.as_deref(), Some("all"));
    assert_eq!(props.producer.compression_type.as_deref(), Some("zstd"));
    assert_eq!(props.producer.retries, Some(5));
    assert_eq!(props.listener.concurrency, Some(3));
    assert_eq!(props.listener.listener_type, ListenerType::Batch);
    assert_eq!(props.listener.ack_count, 10);
    assert_eq!(
        props.security_protocol,
        Some(SecurityProtocol::SaslPlaintext)
    );
    assert!(props.admin.fail_fast);
    assert!(!props.admin.auto_create);
    assert_eq!(props.admin.operation_timeout, Some(Duration::from_secs(30)));
}

#[test]
fn config_bootstrap_servers_as_list_or_comma_string_and_per_client_override() {
    let props = load(
        "spring.kafka:
  bootstrap-servers:
    - global-1:9092
    - global-2:9092
  client-id: app
  consumer:
    bootstrap-servers: c1:9092, c2:9092
    client-id: app-consumer
  admin:
    bootstrap-servers: [a1:9092]
  properties.request.timeout.ms: 20000
  consumer.properties.request.timeout.ms: 10000
",
    )
    .unwrap();
    assert_eq!(
        props.consumer_connection().request_timeout_duration(),
        Duration::from_secs(10)
    );
    assert_eq!(
        props.producer_connection().request_timeout_duration(),
        Duration::from_secs(20)
    );
    assert_eq!(props.bootstrap_servers, ["global-1:9092", "global-2:9092"]);
    let consumer = props.consumer_connection();
    assert_eq!(consumer.bootstrap_servers(), ["c1:9092", "c2:9092"]);
    assert_eq!(consumer.client_id_str(), "app-consumer");
    let producer = props.producer_connection();
    assert_eq!(
        producer.bootstrap_servers(),
        ["global-1:9092", "global-2:9092"]
    );
    assert_eq!(producer.client_id_str(), "app");
    assert_eq!(props.admin_connection().bootstrap_servers(), ["a1:9092"]);
}

#[test]
fn config_env_overrides_bind_both_underscore_spellings() {
    let yaml =
        "spring.kafka.consumer.group-id: from-file\nspring.kafka.listener.ack-mode: RECORD\n";
    for name in [
        "SPRING_KAFKA_CONSUMER_GROUP_ID",
        "SPRING_KAFKA_CONSUMER_GROUPID",
    ] {
        let props = ConfigLoader::new()
            .env([(name, "from-env")])
            .load_yaml_str(yaml)
            .unwrap();
        assert_eq!(
            props.consumer.group_id.as_deref(),
            Some("from-env"),
            "{name}"
        );
        assert!(
            props.warnings().is_empty(),
            "{name}: {:?}",
            props.warnings()
        );
    }
    let props = ConfigLoader::new()
        .env([
            ("SPRING_KAFKA_BOOTSTRAP_SERVERS", "e1:9092,e2:9092"),
            ("SPRING_KAFKA_LISTENER_ACK_MODE", "COUNT_TIME"),
            (
                "SPRING_KAFKA_CONSUMER_PROPERTIES_SESSION_TIMEOUT_MS",
                "20000",
            ),
        ])
        .load_yaml_str(yaml)
        .unwrap();
    assert_eq!(props.bootstrap_servers, ["e1:9092", "e2:9092"]);
    assert_eq!(props.listener.ack_mode, AckMode::CountTime);
    assert_eq!(
        props.consumer.group.session_timeout,
        Duration::from_secs(20)
    );
    assert!(props.warnings().is_empty(), "{:?}", props.warnings());
    let props = ConfigLoader::new()
        .env([
            ("SPRING_KAFKA_CONSUMER_BOOTSTRAP_SERVERS_0", "i0:9092"),
            ("SPRING_KAFKA_CONSUMER_BOOTSTRAP_SERVERS_1", "i1:9092"),
        ])
        .load_yaml_str("spring.kafka.consumer.bootstrap-servers: [f0:1, f1:1, f2:1]")
        .unwrap();
    assert_eq!(
        props.consumer_connection().bootstrap_servers(),
        ["i0:9092", "i1:9092"]
    );
    assert!(props.warnings().is_empty(), "{:?}", props.warnings());
}

#[test]
fn config_precedence_is_env_then_profile_then_base_then_defaults() {
    let dir = ScratchDir::with_files(&[
        (
            "application.yml",
            "spring.kafka:\n  client-id: base\n  consumer.group-id: base\n  listener.concurrency: 2\n",
        ),
        (
            "application-prod.yml",
            "spring.kafka:\n  client-id: prod\n  consumer.group-id: prod\n",
        ),
    ]);
    let props = ConfigLoader::new()
        .profiles(["prod"])
        .env([("SPRING_KAFKA_CLIENT_ID", "env")])
        .load_yaml_file(dir.path("application.yml"))
        .unwrap();
    assert_eq!(props.client_id.as_deref(), Some("env"), "env beats profile");
    assert_eq!(
        props.consumer.group_id.as_deref(),
        Some("prod"),
        "profile beats base"
    );
    assert_eq!(props.listener.concurrency, Some(2), "base beats default");
    assert_eq!(props.listener.ack_count, 1, "default when nothing sets it");
}

#[test]
fn config_profile_files_activate_through_spring_profiles_active() {
    let dir = ScratchDir::with_files(&[
        ("application.yml", "spring.kafka.consumer.group-id: base\n"),
        (
            "application-dev.yml",
            "spring.kafka.consumer.group-id: dev\n",
        ),
        ("application-eu.yml", "spring.kafka.consumer.group-id: eu\n"),
    ]);
    let file = dir.path("application.yml");
    let group = |env: &[(&str, &str)]| {
        ConfigLoader::new()
            .env(env.iter().copied())
            .load_yaml_file(&file)
            .unwrap()
            .consumer
            .group_id
    };
    assert_eq!(group(&[]).as_deref(), Some("base"));
    assert_eq!(
        group(&[("SPRING_PROFILES_ACTIVE", "dev")]).as_deref(),
        Some("dev")
    );
    assert_eq!(
        group(&[("SPRING_PROFILES_ACTIVE", "dev,eu")]).as_deref(),
        Some("eu"),
        "later profile wins"
    );
    assert_eq!(
        group(&[("SPRING_PROFILES_ACTIVE", "missing")]).as_deref(),
        Some("base")
    );
}

#[test]
fn config_multi_document_on_profile_sections() {
    let yaml = "
spring:
  profiles.active: staging
  kafka.consumer.group-id: base
---
spring.config.activate.on-profile: staging
spring.kafka.consumer.group-id: staging
---
spring.config.activate.on-profile: \"!staging\"
spring.kafka.listener.concurrency: 9
---
spring.config.activate.on-profile: prod & eu
spring.kafka.consumer.group-id: prod-eu
---
spring.config.activate.on-profile: [qa, eu]
spring.kafka.listener.ack-count: 7
";
    let props = load(yaml).unwrap();
    assert_eq!(
        props.consumer.group_id.as_deref(),
        Some("staging"),
        "spring.profiles.active in the file"
    );
    assert_eq!(props.listener.concurrency, None, "!staging is inactive");
    assert_eq!(props.listener.ack_count, 1, "[qa, eu] is inactive");
    let props = loader()
        .profiles(["prod", "eu"])
        .load_yaml_str(yaml)
        .unwrap();
    assert_eq!(props.consumer.group_id.as_deref(), Some("prod-eu"));
    assert_eq!(props.listener.concurrency, Some(9));
    assert_eq!(
        props.listener.ack_count, 7,
        "a list means any of its profiles"
    );

    let err = load("a: 1\n---\nspring:\n  profiles: prod\n  kafka.client-id: x\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "spring.profiles at <string>:4:13 is no longer supported (Spring Boot 2.4+); \
         write spring.config.activate.on-profile instead"
    );
}

#[test]
fn config_placeholders_read_env_defaults_and_other_keys() {
    let props = ConfigLoader::new()
        .env([("KAFKA_HOST", "broker:9093"), ("TEAM", "billing")])
        .load_yaml_str(
            "spring.kafka:
  bootstrap-servers: ${KAFKA_HOST:localhost:9092}
  client-id: ${TEAM}-${REGION:eu}
  consumer.group-id: ${spring.kafka.client-id}-group
  producer.client-id: ${app.name:${TEAM}}
",
        )
        .unwrap();
    assert_eq!(props.bootstrap_servers, ["broker:9093"]);
    assert_eq!(props.client_id.as_deref(), Some("billing-eu"));
    assert_eq!(props.consumer.group_id.as_deref(), Some("billing-eu-group"));
    assert_eq!(props.producer.client_id.as_deref(), Some("billing"));
    assert_eq!(
        props.resolve_placeholders("orders-${TEAM}").unwrap(),
        "orders-billing"
    );
    assert_eq!(
        props
            .get("spring.kafka.consumer.groupId")
            .unwrap()
            .as_deref(),
        Some("billing-eu-group")
    );
    assert_eq!(props.resolve_placeholders("\\${TEAM}").unwrap(), "${TEAM}");

    // Values from environment overrides are resolved too.
    let props = ConfigLoader::new()
        .env([
            ("REGION", "eu"),
            ("SPRING_KAFKA_CONSUMER_GROUP_ID", "orders-${REGION}"),
        ])
        .load_yaml_str("")
        .unwrap();
    assert_eq!(props.consumer.group_id.as_deref(), Some("orders-eu"));
}

#[test]
fn config_unresolved_placeholder_names_the_key_position_and_fix() {
    let err = load("spring:\n  kafka:\n    client-id: ${CLIENT_NAME}\n").unwrap_err();
    let ConfigError::UnresolvedPlaceholder { key, origin, name } = &err else {
        panic!("unexpected error: {err}");
    };
    assert_eq!(key, "spring.kafka.client-id");
    assert_eq!(*origin, Origin::file("<string>", 3, 16));
    assert_eq!(name, "CLIENT_NAME");
    let message = err.to_string();
    assert!(message.contains("${CLIENT_NAME:default}"), "{message}");

    let err = load("spring.kafka.client-id: ${a}\na: ${b}\nb: ${a}\n").unwrap_err();
    assert!(
        matches!(err, ConfigError::CircularPlaceholder { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("a -> b -> a"), "{err}");
}

#[test]
fn config_invalid_enum_value_names_path_position_value_and_accepted_values() {
    let err = load("spring:\n  kafka:\n    listener:\n      ack-mode: SOMETIMES\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "spring.kafka.listener.ack-mode at <string>:4:17: invalid value `SOMETIMES`; expected one of \
         RECORD, BATCH, TIME, COUNT, COUNT_TIME, MANUAL, MANUAL_IMMEDIATE"
    );
    let err = load("spring.kafka.consumer.auto-offset-reset: oldest").unwrap_err();
    assert!(
        err.to_string()
            .contains("expected one of earliest, latest, none"),
        "{err}"
    );
    let err = load("spring.kafka.listener.type: many").unwrap_err();
    assert!(
        err.to_string().contains("expected one of single, batch"),
        "{err}"
    );
    let err = load("spring.kafka.consumer.enable-auto-commit: yes").unwrap_err();
    assert!(
        err.to_string().contains("`yes`; expected true or false"),
        "{err}"
    );
}

#[test]
fn config_invalid_duration_size_and_number_errors_say_what_is_accepted() {
    let err = load("spring.kafka.listener.poll-timeout: 3 seconds").unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("spring.kafka.listener.poll-timeout at <string>:1:37"),
        "{message}"
    );
    assert!(message.contains("PT3S"), "{message}");
    let err = load("spring.kafka.consumer.fetch-min-size: 1 KB").unwrap_err();
    assert!(err.to_string().contains("B|KB|MB|GB|TB"), "{err}");
    let err = load("spring.kafka.listener.concurrency: 0").unwrap_err();
    assert!(err.to_string().contains("at least 1"), "{err}");
    let err = ConfigLoader::new()
        .env([("SPRING_KAFKA_LISTENER_ACK_COUNT", "many")])
        .load_yaml_str("")
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("at environment variable SPRING_KAFKA_LISTENER_ACK_COUNT"),
        "{err}"
    );
}

#[test]
fn config_java_class_names_map_to_codecs_and_unknown_ones_list_the_supported() {
    let props = load(
        "spring.kafka:
  consumer:
    key-deserializer: org.apache.kafka.common.serialization.LongDeserializer
    value-deserializer: org.springframework.kafka.support.serializer.JacksonJsonDeserializer
    properties.spring.json.trusted.packages: '*'
  producer:
    key-serializer: org.apache.kafka.common.serialization.IntegerSerializer
    value-serializer: org.springframework.kafka.support.serializer.JsonSerializer
",
    )
    .unwrap();
    assert_eq!(props.consumer.key_deserializer, Deserializer::Long);
    assert_eq!(props.consumer.value_deserializer, Deserializer::Json);
    assert_eq!(props.producer.key_serializer, Serializer::Integer);
    assert_eq!(props.producer.value_serializer, Serializer::Json);

    let err =
        load("spring.kafka.consumer.value-deserializer: com.acme.AvroDeserializer").unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("spring.kafka.consumer.value-deserializer at <string>:1:43"),
        "{message}"
    );
    assert!(message.contains("`com.acme.AvroDeserializer`"), "{message}");
    assert!(
        message.contains("org.apache.kafka.common.serialization.ByteArrayDeserializer"),
        "{message}"
    );
    let err = load("spring.kafka.producer.value-serializer: com.acme.AvroSerializer").unwrap_err();
    assert!(
        err.to_string()
            .contains("org.apache.kafka.common.serialization.StringSerializer"),
        "{err}"
    );
}

#[test]
fn config_error_handling_deserializer_wraps_its_delegate() {
    let props = load(
        "spring.kafka.consumer:
  value-deserializer: org.springframework.kafka.support.serializer.ErrorHandlingDeserializer
  properties:
    spring.deserializer.value.delegate.class: org.springframework.kafka.support.serializer.JsonDeserializer
",
    )
    .unwrap();
    assert_eq!(
        props.consumer.value_deserializer,
        Deserializer::ErrorHandling(Box::new(Deserializer::Json))
    );
    let err = load(
        "spring.kafka.consumer.key-deserializer: org.springframework.kafka.support.serializer.ErrorHandlingDeserializer",
    )
    .unwrap_err();
    assert!(matches!(err, ConfigError::MissingDelegate { .. }), "{err}");
    assert!(
        err.to_string().contains(
            "set spring.kafka.consumer.properties.spring.deserializer.key.delegate.class"
        ),
        "{err}"
    );
    let err = load(
        "spring.kafka.consumer:
  value-deserializer: ErrorHandlingDeserializer
  properties.spring.deserializer.value.delegate.class: com.acme.AvroDeserializer
",
    )
    .unwrap_err();
    assert!(
        err.to_string().starts_with(
            "spring.kafka.consumer.properties.spring.deserializer.value.delegate.class at <string>:3:56: \
             unsupported class `com.acme.AvroDeserializer`; use one of: "
        ),
        "{err}"
    );
}

#[test]
fn config_manual_ack_mode_with_auto_commit_fails_start_up() {
    let err = load(
        "spring.kafka:\n  listener.ack-mode: MANUAL_IMMEDIATE\n  consumer.enable-auto-commit: true\n",
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, ConfigError::ManualAckWithAutoCommit { .. }),
        "{message}"
    );
    assert!(message.contains("<string>:2:22"), "{message}");
    assert!(message.contains("<string>:3:32"), "{message}");
    assert!(
        message.contains("set enable-auto-commit to false"),
        "{message}"
    );
    // Manual ack without auto-commit, or auto-commit with a container ack mode, is fine.
    assert!(load("spring.kafka.listener.ack-mode: MANUAL").is_ok());
    assert!(load(
        "spring.kafka:\n  listener.ack-mode: RECORD\n  consumer.enable-auto-commit: true\n"
    )
    .is_ok());
}

#[test]
fn config_unknown_keys_warn_with_did_you_mean() {
    let props = ConfigLoader::new()
        .env([("SPRING_KAFKA_CONSUMER_GROUP_IDD", "x"), ("PATH", "/bin")])
        .load_yaml_str(
            "spring.kafka:
  listener:
    ack-mod: RECORD
  consumer:
    ack-mode: RECORD
    completely-unknown: 1
  ssl.key-store-location: file:ks.p12
  producer: {}
  admin.properties:
other.app.key: ignored
",
        )
        .unwrap();
    let warnings: Vec<String> = props.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 5, "{warnings:#?}");
    assert_eq!(
        warnings[0],
        "unknown key spring.kafka.listener.ack-mod at <string>:3:14; it has no effect; \
         did you mean spring.kafka.listener.ack-mode?"
    );
    assert!(
        warnings[1].ends_with("did you mean spring.kafka.listener.ack-mode?"),
        "{}",
        warnings[1]
    );
    assert!(
        warnings[2].ends_with("<string>:6:25; it has no effect"),
        "{}",
        warnings[2]
    );
    assert!(
        warnings[3].contains("environment variable SPRING_KAFKA_CONSUMER_GROUP_IDD"),
        "{}",
        warnings[3]
    );
    // A real key, but TLS is off: it is named with the reason, after the unknown keys.
    assert_eq!(
        warnings[4],
        "spring.kafka.ssl.key-store-location at <string>:7:27 has no effect: security.protocol \
         is PLAINTEXT, so TLS is off; set it to SSL or SASL_SSL to use TLS"
    );
}

#[test]
fn config_kafka_property_maps_feed_typed_group_settings() {
    let props = load(
        "spring.kafka:
  properties:
    session.timeout.ms: 10000
    heartbeat.interval.ms: 2500
    max.poll.interval.ms: 60000
  consumer:
    heartbeat-interval: 2s
    properties:
      \"[session.timeout.ms]\": 30000
      partition.assignment.strategy: org.apache.kafka.clients.consumer.RoundRobinAssignor, org.apache.kafka.clients.consumer.CooperativeStickyAssignor
      group.instance.id: member-1
",
    )
    .unwrap();
    let group = &props.consumer.group;
    assert_eq!(
        group.session_timeout,
        Duration::from_secs(30),
        "consumer.properties beats global"
    );
    assert_eq!(
        group.heartbeat_interval,
        Duration::from_secs(2),
        "typed consumer key beats global"
    );
    assert_eq!(
        group.max_poll_interval,
        Duration::from_secs(60),
        "global beats Kafka's default"
    );
    assert_eq!(
        group.partition_assignment_strategy,
        [Assignor::RoundRobin, Assignor::CooperativeSticky]
    );
    assert_eq!(group.group_instance_id.as_deref(), Some("member-1"));
    assert_eq!(props.consumer.properties["session.timeout.ms"], "30000");
    assert_eq!(props.properties["session.timeout.ms"], "10000");

    let props = load(
        "spring.kafka.consumer.properties:
  partition.assignment.strategy:
    - org.apache.kafka.clients.consumer.RangeAssignor
    - org.apache.kafka.clients.consumer.StickyAssignor
",
    )
    .unwrap();
    assert_eq!(
        props.consumer.group.partition_assignment_strategy,
        [Assignor::Range, Assignor::Sticky],
        "a YAML list in a properties map is Kafka's comma-separated list"
    );

    let err = load("spring.kafka.consumer.properties.session.timeout.ms: soon").unwrap_err();
    assert!(
        err.to_string().starts_with(
            "spring.kafka.consumer.properties.session.timeout.ms at <string>:1:54: invalid value `soon`"
        ),
        "{err}"
    );
    let err = load("spring.kafka.consumer.properties.partition.assignment.strategy: FairAssignor")
        .unwrap_err();
    assert!(err.to_string().contains("RoundRobinAssignor"), "{err}");
}

#[test]
fn config_application_properties_syntax_and_profile_files() {
    let dir = ScratchDir::with_files(&[
        (
            "application.properties",
            "# comment\n! another comment\n\
             spring.kafka.bootstrap-servers = b1:9092,\\\n    b2:9092\n\
             spring.kafka.consumer.group-id: caf\\u00e9\n\
             spring.kafka.client-id app\\ one\n\
             spring.kafka.consumer.properties.session.timeout.ms=20000\n\
             spring.kafka.listener.ack-mode=RECORD\n",
        ),
        (
            "application-dev.properties",
            "spring.kafka.listener.ack-mode=COUNT\n",
        ),
    ]);
    let props = loader()
        .load_properties_file(dir.path("application.properties"))
        .unwrap();
    assert_eq!(props.bootstrap_servers, ["b1:9092", "b2:9092"]);
    assert_eq!(props.consumer.group_id.as_deref(), Some("café"));
    assert_eq!(props.client_id.as_deref(), Some("app one"));
    assert_eq!(
        props.consumer.group.session_timeout,
        Duration::from_secs(20)
    );
    assert_eq!(props.listener.ack_mode, AckMode::Record);
    let props = loader()
        .profiles(["dev"])
        .load_properties_file(dir.path("application.properties"))
        .unwrap();
    assert_eq!(props.listener.ack_mode, AckMode::Count);

    let err = loader()
        .load_properties_str("spring.kafka.listener.ack-mode=\\u00\n")
        .unwrap_err();
    assert!(matches!(err, ConfigError::Properties { .. }), "{err}");
    assert!(err.to_string().starts_with("<string>:1:"), "{err}");
    let err = loader()
        .load_properties_str("spring.kafka.listener.ack-mode = NEVER\n")
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("spring.kafka.listener.ack-mode at <string>:1:34"),
        "{err}"
    );
}

#[test]
fn config_yaml_syntax_errors_and_missing_files_are_clear() {
    let err = load("spring:\n  kafka: [unclosed\n").unwrap_err();
    assert!(matches!(err, ConfigError::Yaml { .. }), "{err}");
    assert!(err.to_string().starts_with("<string>:"), "{err}");
    let err = load("just a sentence").unwrap_err();
    assert!(err.to_string().contains("not a mapping"), "{err}");
    let err = loader()
        .load_yaml_file("/nonexistent/application.yml")
        .unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }), "{err}");
    assert!(
        err.to_string().contains("/nonexistent/application.yml"),
        "{err}"
    );
}

#[test]
fn config_a_list_in_a_higher_source_replaces_the_lower_list() {
    let props = loader()
        .profiles(["single"])
        .load_yaml_str(
            "spring.kafka.bootstrap-servers: [a:1, b:2, c:3]
---
spring.config.activate.on-profile: single
spring.kafka.bootstrap-servers: [z:9]
",
        )
        .unwrap();
    assert_eq!(props.bootstrap_servers, ["z:9"]);
}
