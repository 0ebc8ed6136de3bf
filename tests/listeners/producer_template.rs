//! KafkaTemplate against a real broker protocol: partitioning, results, headers, back-pressure.

use std::time::Duration;

use bytes::Bytes;
use kafka_listener::producer::{
    murmur2, partition_for_key, KafkaTemplate, ProducerRecord, ProducerSettings, SendError,
};
use kafka_listener::{Headers, Json};
use kafka_listener_suite::{unique_name, TestKafka};
use rskafka::client::partition::UnknownTopicHandling;

async fn template(kafka: &TestKafka, settings: ProducerSettings) -> KafkaTemplate {
    KafkaTemplate::connect(kafka.connection().clone(), settings)
        .await
        .expect("connect template")
}

async fn read_partition(
    kafka: &TestKafka,
    topic: &str,
    partition: i32,
) -> Vec<rskafka::record::RecordAndOffset> {
    let client = kafka.connection().rskafka_client().await.unwrap();
    let partition = client
        .partition_client(topic, partition, UnknownTopicHandling::Error)
        .await
        .unwrap();
    let (records, _) = partition
        .fetch_records(0, 1..1_000_000, 1_000)
        .await
        .unwrap();
    records
}

#[tokio::test]
async fn producer_keyed_records_land_on_the_java_partition_in_order() {
    let kafka = TestKafka::start().await;
    let topic = unique_name("producer-keyed");
    kafka.create_topic(&topic, 6).await;
    let template = template(&kafka, ProducerSettings::default()).await;

    let mut last_offset = std::collections::HashMap::new();
    for i in 0..60 {
        let key = format!("key-{}", i % 12);
        let sent = template
            .send(&topic, key.as_str(), Json(serde_json::json!({ "n": i })))
            .await
            .unwrap();
        assert_eq!(
            sent.partition,
            partition_for_key(key.as_bytes(), 6),
            "{key}"
        );
        if let Some(previous) = last_offset.insert(sent.partition, sent.offset) {
            assert!(sent.offset > previous, "offsets grow per partition");
        }
    }
    let total: usize = records_in_topic(&kafka, &topic, 6).await;
    assert_eq!(total, 60);
}

async fn records_in_topic(kafka: &TestKafka, topic: &str, partitions: i32) -> usize {
    let mut total = 0;
    for p in 0..partitions {
        total += read_partition(kafka, topic, p).await.len();
    }
    total
}

#[tokio::test]
async fn producer_explicit_partition_wins_and_headers_and_timestamp_arrive() {
    let kafka = TestKafka::start().await;
    let topic = unique_name("producer-explicit");
    kafka.create_topic(&topic, 3).await;
    let template = template(&kafka, ProducerSettings::default()).await;
    let mut headers = Headers::new();
    headers.push("trace-id", Some("abc"));
    let sent = template
        .send_record(ProducerRecord {
            topic: topic.clone(),
            partition: Some(2),
            key: Some(Bytes::from_static(b"k")),
            value: Some(Bytes::from_static(b"v")),
            headers,
            timestamp: Some(1_700_000_000_000),
        })
        .await
        .unwrap();
    assert_eq!(sent.partition, 2);
    assert_eq!(sent.timestamp, 1_700_000_000_000);
    let records = read_partition(&kafka, &topic, 2).await;
    assert_eq!(records.len(), 1);
    let record = &records[0].record;
    assert_eq!(records[0].offset, sent.offset);
    assert_eq!(record.key.as_deref(), Some(&b"k"[..]));
    assert_eq!(record.value.as_deref(), Some(&b"v"[..]));
    assert_eq!(
        record.headers.get("trace-id").map(Vec::as_slice),
        Some(&b"abc"[..])
    );
    assert_eq!(record.timestamp.timestamp_millis(), 1_700_000_000_000);
}

#[tokio::test]
async fn producer_rejects_a_partition_the_topic_lacks_and_a_missing_default_topic() {
    let kafka = TestKafka::start().await;
    let topic = unique_name("producer-bad-partition");
    kafka.create_topic(&topic, 2).await;
    let template = template(&kafka, ProducerSettings::default()).await;
    let err = template
        .send_record(ProducerRecord {
            topic: topic.clone(),
            partition: Some(5),
            value: Some(Bytes::from_static(b"v")),
            ..ProducerRecord::default()
        })
        .await
        .unwrap_err();
    assert!(
        matches!(err, SendError::NoSuchPartition { partitions: 2, .. }),
        "{err}"
    );
    let err = template.send_default("k", "v").await.unwrap_err();
    assert!(err.to_string().contains("default-topic"), "{err}");
}

#[tokio::test]
async fn producer_many_concurrent_sends_through_a_small_buffer_all_complete() {
    let kafka = TestKafka::start().await;
    let topic = unique_name("producer-backpressure");
    kafka.create_topic(&topic, 3).await;
    let template = template(
        &kafka,
        ProducerSettings {
            buffer_memory: 4 * 1024,
            linger: Duration::from_millis(2),
            ..ProducerSettings::default()
        },
    )
    .await;
    let sends = (0..300).map(|i| {
        let template = template.clone();
        let topic = topic.clone();
        tokio::spawn(async move {
            template
                .send(&topic, None::<String>, format!("value-{i:04}"))
                .await
        })
    });
    let mut partitions = std::collections::HashSet::new();
    for send in sends {
        partitions.insert(send.await.unwrap().unwrap().partition);
    }
    template.flush().await.unwrap();
    assert_eq!(records_in_topic(&kafka, &topic, 3).await, 300);
    assert!(!partitions.is_empty());
}

/// Every key of tests/fixtures/murmur2_java_vectors.tsv, written by kafka-clients 4.4's own
/// `Utils.murmur2` and `BuiltInPartitioner.partitionForKey` (regenerate with
/// tests/interop/murmur2-java/regenerate.sh), must hash and land exactly as in Java.
#[test]
fn murmur2_matches_java_for_1000_keys() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/murmur2_java_vectors.tsv"
    );
    let vectors = std::fs::read_to_string(path).expect("read the Java vectors");
    let header = vectors
        .lines()
        .find(|line| line.starts_with("# key_hex"))
        .expect("a header line");
    let counts: Vec<i32> = header
        .split('\t')
        .skip(2)
        .map(|column| column["partitions_".len()..].parse().unwrap())
        .collect();
    assert!(counts.contains(&1) && counts.contains(&100), "{counts:?}");

    let mut checked = 0;
    let mut mismatches = Vec::new();
    for line in vectors.lines().filter(|line| !line.starts_with('#')) {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), counts.len() + 2, "malformed line {line:?}");
        let key = if fields[0] == "-" {
            Vec::new()
        } else {
            decode_hex(fields[0])
        };
        let java_hash: i32 = fields[1].parse().unwrap();
        if murmur2(&key) != java_hash {
            mismatches.push(format!(
                "murmur2({}) = {} not {java_hash}",
                fields[0],
                murmur2(&key)
            ));
        }
        for (count, expected) in counts.iter().zip(&fields[2..]) {
            let expected: i32 = expected.parse().unwrap();
            let ours = partition_for_key(&key, *count);
            if ours != expected {
                mismatches.push(format!(
                    "{} over {count}: ours {ours}, Java {expected}",
                    fields[0]
                ));
            }
        }
        checked += 1;
    }
    assert!(checked >= 1_000, "only {checked} keys in {path}");
    assert!(
        mismatches.is_empty(),
        "{} mismatches, first: {:?}",
        mismatches.len(),
        &mismatches[..mismatches.len().min(5)]
    );
}

fn decode_hex(hex: &str) -> Vec<u8> {
    assert!(hex.len().is_multiple_of(2), "odd hex length: {hex}");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digit"))
        .collect()
}

#[tokio::test]
async fn producer_from_config_binds_spring_keys_and_encodes_with_the_configured_serializers() {
    let kafka = TestKafka::start().await;
    let topic = unique_name("producer-config");
    kafka.create_topic(&topic, 3).await;
    let yaml = format!(
        r#"
spring.kafka:
  bootstrap-servers: 127.0.0.1:1   # overridden below: the producer's own list wins
  producer:
    bootstrap-servers: {bootstrap}
    client-id: config-test
    key-serializer: org.apache.kafka.common.serialization.LongSerializer
    value-serializer: org.springframework.kafka.support.serializer.JsonSerializer
    acks: all
    retries: 3
    batch-size: 8KB
    buffer-memory: 1MB
    compression-type: gzip
    properties.linger.ms: 1
  template.default-topic: {topic}
"#,
        bootstrap = kafka.bootstrap(),
    );
    let props = kafka_listener::config::KafkaProperties::from_yaml_str(&yaml).unwrap();
    let template = KafkaTemplate::from_config(&props).await.unwrap();
    let settings = template.settings();
    assert_eq!(settings.retries, 3);
    assert_eq!(settings.batch_size, 8 * 1024);
    assert_eq!(settings.linger, Duration::from_millis(1));
    assert_eq!(settings.default_topic.as_deref(), Some(topic.as_str()));

    #[derive(serde::Serialize)]
    struct Order {
        id: u64,
        sku: &'static str,
    }
    let sent = template
        .send_serialized(&topic, &42i64, &Order { id: 42, sku: "a" })
        .await
        .unwrap();
    let records = read_partition(&kafka, &topic, sent.partition).await;
    let record = &records[0].record;
    assert_eq!(record.key.as_deref(), Some(&42i64.to_be_bytes()[..]));
    assert_eq!(
        record.value.as_deref(),
        Some(&br#"{"id":42,"sku":"a"}"#[..])
    );
    assert_eq!(sent.partition, partition_for_key(&42i64.to_be_bytes(), 3));

    let err = template
        .send_serialized(&topic, &"not-a-long", &1)
        .await
        .unwrap_err();
    assert!(
        matches!(err, SendError::Serializer { .. }) && err.to_string().contains("LongSerializer"),
        "{err}"
    );
}

/// With the broker gone: a send holding all of `buffer.memory` fails after
/// `delivery.timeout.ms`, and a send waiting for room fails after `max.block.ms` instead of
/// queueing without bound. Stopping a broker needs the embedded one.
#[tokio::test]
async fn producer_buffer_full_waits_max_block_and_undelivered_records_time_out() {
    let kafka = kafka_listener::embedded::EmbeddedKafka::start().await;
    kafka.create_topic("gone", 1).await;
    let connection = kafka_listener::client::ConnectionConfig::new([kafka.bootstrap()])
        .request_timeout(Duration::from_millis(500));
    let template = KafkaTemplate::connect(
        connection,
        ProducerSettings {
            buffer_memory: 300,
            max_block: Duration::from_millis(300),
            delivery_timeout: Duration::from_secs(2),
            retry_backoff: Duration::from_millis(20),
            ..ProducerSettings::default()
        },
    )
    .await
    .unwrap();
    template.send("gone", "warm", "up").await.unwrap();
    kafka.shutdown().await;

    let started = std::time::Instant::now();
    let holder = {
        let template = template.clone();
        tokio::spawn(async move { template.send("gone", "k", "x".repeat(150)).await })
    };
    kafka_listener_suite::eventually(
        "the first send holds the buffer",
        Duration::from_secs(5),
        || {
            let available = template.buffer_available();
            async move { available < 300 }
        },
    )
    .await;
    let blocked = std::time::Instant::now();
    let err = template
        .send("gone", "k", "y".repeat(150))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            SendError::BufferExhausted {
                buffer_memory: 300,
                ..
            }
        ),
        "{err}"
    );
    let waited = blocked.elapsed();
    assert!(
        waited >= Duration::from_millis(290) && waited < Duration::from_secs(2),
        "max.block.ms is 300 ms, waited {waited:?}"
    );
    let err = holder.await.unwrap().unwrap_err();
    assert!(
        matches!(err, SendError::DeliveryTimeout { attempts, .. } if attempts >= 1),
        "{err}"
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(1900) && elapsed < Duration::from_secs(10),
        "delivery timeout took {elapsed:?}"
    );
}
