//! DeadLetterPublisher against a broker: destination, raw payload, Spring's headers.

use bytes::Bytes;
use kafka_listener::error::{DeadLetterPublisher, FailureDescription};
use kafka_listener::producer::{KafkaTemplate, ProducerSettings};
use kafka_listener::{ConsumerRecord, Headers, TimestampType};
use kafka_listener_suite::{unique_name, TestKafka};
use rskafka::client::partition::UnknownTopicHandling;

fn failed_record(topic: &str, partition: i32) -> ConsumerRecord {
    let mut headers = Headers::new();
    headers.push("trace-id", Some("t-9"));
    ConsumerRecord {
        topic: topic.to_owned(),
        partition,
        offset: 1234,
        timestamp: 1_700_000_000_321,
        timestamp_type: TimestampType::CreateTime,
        key: Some(Bytes::from_static(b"order-7")),
        // Not valid JSON: a deserialization failure is published raw.
        value: Some(Bytes::from_static(b"{not json")),
        headers,
    }
}

fn failure() -> FailureDescription {
    FailureDescription {
        type_name: "order_service::OrderError".into(),
        message: "expected value at line 1 column 2".into(),
        cause_type_name: None,
        causes: vec![],
        retryable: false,
    }
}

async fn publisher(kafka: &TestKafka) -> DeadLetterPublisher {
    let template = KafkaTemplate::connect(kafka.connection().clone(), ProducerSettings::default())
        .await
        .unwrap();
    DeadLetterPublisher::new(template)
}

async fn only_record(kafka: &TestKafka, topic: &str, partition: i32) -> rskafka::record::Record {
    let client = kafka.connection().rskafka_client().await.unwrap();
    let partition = client
        .partition_client(topic, partition, UnknownTopicHandling::Error)
        .await
        .unwrap();
    let (mut records, _) = partition
        .fetch_records(0, 1..1_000_000, 1_000)
        .await
        .unwrap();
    assert_eq!(records.len(), 1, "one dead-lettered record");
    records.remove(0).record
}

#[tokio::test]
async fn dlt_publisher_writes_raw_payload_to_same_partition_with_spring_headers() {
    let kafka = TestKafka::start().await;
    let topic = unique_name("dlt-orders");
    kafka.create_topic(&format!("{topic}-dlt"), 3).await;
    let publisher = publisher(&kafka).await;

    let sent = publisher
        .publish(&failed_record(&topic, 2), &failure(), Some("order-service"))
        .await
        .unwrap();
    assert_eq!(sent.partition, 2, "same partition as the original");

    let record = only_record(&kafka, &format!("{topic}-dlt"), 2).await;
    assert_eq!(record.key.as_deref(), Some(&b"order-7"[..]));
    assert_eq!(record.value.as_deref(), Some(&b"{not json"[..]));
    let header = |name: &str| record.headers.get(name).cloned().unwrap_or_default();
    assert_eq!(header("trace-id"), b"t-9");
    assert_eq!(header("kafka_dlt-original-topic"), topic.as_bytes());
    assert_eq!(
        i32::from_be_bytes(header("kafka_dlt-original-partition").try_into().unwrap()),
        2
    );
    assert_eq!(
        i64::from_be_bytes(header("kafka_dlt-original-offset").try_into().unwrap()),
        1234
    );
    assert_eq!(
        i64::from_be_bytes(header("kafka_dlt-original-timestamp").try_into().unwrap()),
        1_700_000_000_321
    );
    assert_eq!(header("kafka_dlt-original-timestamp-type"), b"CreateTime");
    assert_eq!(
        header("kafka_dlt-original-consumer-group"),
        b"order-service"
    );
    assert_eq!(
        header("kafka_dlt-exception-fqcn"),
        b"order_service::OrderError"
    );
    assert_eq!(
        header("kafka_dlt-exception-message"),
        b"expected value at line 1 column 2"
    );
}

#[tokio::test]
async fn dlt_publisher_lets_the_partitioner_choose_when_the_dlt_lacks_the_partition() {
    let kafka = TestKafka::start().await;
    let topic = unique_name("dlt-narrow");
    kafka.create_topic(&format!("{topic}-dlt"), 1).await;
    let publisher = publisher(&kafka).await;
    let sent = publisher
        .publish(&failed_record(&topic, 5), &failure(), None)
        .await
        .unwrap();
    assert_eq!(sent.partition, 0);
    let record = only_record(&kafka, &format!("{topic}-dlt"), 0).await;
    assert!(!record
        .headers
        .contains_key("kafka_dlt-original-consumer-group"));
}

#[tokio::test]
async fn dlt_publisher_uses_a_custom_destination_resolver() {
    let kafka = TestKafka::start().await;
    let topic = unique_name("dlt-custom");
    let parking = unique_name("parking-lot");
    kafka.create_topic(&parking, 2).await;
    let target = parking.clone();
    let publisher = publisher(&kafka)
        .await
        .with_destination_resolver(move |_, _| kafka_listener::error::DeadLetterDestination {
            topic: target.clone(),
            partition: Some(1),
        });
    let sent = publisher
        .publish(&failed_record(&topic, 0), &failure(), None)
        .await
        .unwrap();
    assert_eq!(sent.partition, 1);
    only_record(&kafka, &parking, 1).await;
}
