//! Several brokers sharing one cluster: leaders spread, the wrong broker refuses, rskafka
//! follows leaders.

use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{MetadataRequest, ProduceRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use rskafka::client::partition::{Compression, UnknownTopicHandling};
use rskafka::record::Record;

use crate::client::{BrokerConnection, ConnectionConfig};
use crate::embedded::EmbeddedKafka;

#[tokio::test]
async fn leaders_spread_and_the_wrong_broker_answers_not_leader_or_follower() {
    let kafka = EmbeddedKafka::builder().brokers(3).start().await;
    kafka.create_topic("spread", 3).await;
    let config = ConnectionConfig::new([kafka.bootstrap()]).request_timeout(Duration::from_secs(5));
    let addrs: Vec<String> = kafka.bootstrap().split(',').map(str::to_owned).collect();
    let conn = BrokerConnection::connect(&addrs[0], &config).await.unwrap();
    let md = conn
        .send(MetadataRequest::default().with_topics(None))
        .await
        .unwrap();
    assert_eq!(md.brokers.len(), 3);
    let mut leaders: Vec<i32> = md.topics[0]
        .partitions
        .iter()
        .map(|p| p.leader_id.0)
        .collect();
    leaders.sort();
    assert_eq!(leaders, [0, 1, 2]);
    let p0_leader = md.topics[0]
        .partitions
        .iter()
        .find(|p| p.partition_index == 0)
        .unwrap()
        .leader_id
        .0;
    let wrong = &addrs[((p0_leader + 1) % 3) as usize];
    let wrong = BrokerConnection::connect(wrong, &config).await.unwrap();
    let mut records = BytesMut::new();
    kafka_protocol::records::RecordBatchEncoder::encode(
        &mut records,
        &[],
        &kafka_protocol::records::RecordEncodeOptions {
            version: 2,
            compression: kafka_protocol::records::Compression::None,
        },
    )
    .unwrap();
    let request =
        ProduceRequest::default()
            .with_acks(1)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(TopicName(StrBytes::from_static_str("spread")))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(0)
                    .with_records(Some(records.freeze()))])]);
    let response = wrong
        .send_version(request, 9, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        response.responses[0].partition_responses[0].error_code, 6,
        "NOT_LEADER_OR_FOLLOWER"
    );
}

#[tokio::test]
async fn rskafka_produces_and_fetches_on_every_broker_of_a_cluster() {
    let kafka = EmbeddedKafka::builder().brokers(3).start().await;
    kafka.create_topic("cluster", 3).await;
    let client = ConnectionConfig::new([kafka.bootstrap()])
        .request_timeout(Duration::from_secs(5))
        .rskafka_client()
        .await
        .unwrap();
    for p in 0..3 {
        let partition = client
            .partition_client("cluster", p, UnknownTopicHandling::Error)
            .await
            .unwrap();
        let record = Record {
            key: Some(format!("k{p}").into_bytes()),
            value: Some(b"v".to_vec()),
            headers: Default::default(),
            timestamp: rskafka::chrono::DateTime::from_timestamp_millis(1_000).unwrap(),
        };
        assert_eq!(
            partition
                .produce(vec![record.clone(), record], Compression::NoCompression)
                .await
                .unwrap(),
            [0, 1]
        );
        let (records, high_watermark) = partition.fetch_records(0, 1..100_000, 100).await.unwrap();
        assert_eq!((records.len(), high_watermark), (2, 2));
    }
    let all = kafka.consume_all("cluster").await;
    assert_eq!(all.len(), 6);
}

#[tokio::test]
async fn start_to_first_accepted_connection_is_fast() {
    let started = std::time::Instant::now();
    let kafka = EmbeddedKafka::start().await;
    let _stream = tokio::net::TcpStream::connect(kafka.bootstrap())
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(200), "took {elapsed:?}");
}

#[tokio::test]
async fn shutdown_closes_every_connection() {
    let kafka = EmbeddedKafka::start().await;
    let config = ConnectionConfig::new([kafka.bootstrap()]).request_timeout(Duration::from_secs(5));
    let conn = BrokerConnection::connect(&kafka.bootstrap(), &config)
        .await
        .unwrap();
    let addr = kafka.bootstrap();
    kafka.shutdown().await;
    assert!(conn.send(MetadataRequest::default()).await.is_err());
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn dropping_the_handle_closes_connections_and_listeners() {
    use tokio::io::AsyncReadExt;
    let kafka = EmbeddedKafka::builder().brokers(2).start().await;
    let addrs: Vec<String> = kafka.bootstrap().split(',').map(str::to_owned).collect();
    let mut open = tokio::net::TcpStream::connect(&addrs[1]).await.unwrap();
    drop(kafka);
    let mut buf = [0u8; 8];
    let read = tokio::time::timeout(Duration::from_secs(5), open.read(&mut buf))
        .await
        .expect("closed, not hanging");
    assert!(matches!(read, Ok(0) | Err(_)));
    for addr in addrs {
        let refused = async {
            loop {
                if tokio::net::TcpStream::connect(&addr).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(5), refused)
            .await
            .expect("listener closed");
    }
}
