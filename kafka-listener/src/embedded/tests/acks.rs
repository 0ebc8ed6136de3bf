//! Produce acks: 0 gets no response (the next response on the connection is the next
//! request's), 1 and -1 answer with the base offset, anything else is INVALID_REQUIRED_ACKS.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, ProduceRequest, ProduceResponse, RequestHeader, ResponseHeader, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::embedded::EmbeddedKafka;

const PRODUCE_VERSION: i16 = 9;

fn one_record() -> Bytes {
    let record = Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: 0,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: 1,
        key: None,
        value: Some(Bytes::from_static(b"v")),
        headers: Default::default(),
    };
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        [&record],
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .unwrap();
    buf.freeze()
}

fn produce_frame(correlation_id: i32, acks: i16) -> BytesMut {
    let mut body = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(ApiKey::Produce as i16)
        .with_request_api_version(PRODUCE_VERSION)
        .with_correlation_id(correlation_id)
        .encode(
            &mut body,
            ApiKey::Produce.request_header_version(PRODUCE_VERSION),
        )
        .unwrap();
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(1_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_static_str("t")))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(0)
                .with_records(Some(one_record()))])])
        .encode(&mut body, PRODUCE_VERSION)
        .unwrap();
    let mut frame = BytesMut::new();
    frame.put_i32(body.len() as i32);
    frame.put_slice(&body);
    frame
}

async fn read_response(stream: &mut TcpStream) -> (i32, ProduceResponse) {
    let size = stream.read_i32().await.unwrap();
    let mut body = vec![0u8; size as usize];
    stream.read_exact(&mut body).await.unwrap();
    let mut body = Bytes::from(body);
    let header = ResponseHeader::decode(
        &mut body,
        ApiKey::Produce.response_header_version(PRODUCE_VERSION),
    )
    .unwrap();
    let correlation_id = header.correlation_id;
    (
        correlation_id,
        ProduceResponse::decode(&mut body, PRODUCE_VERSION).unwrap(),
    )
}

#[tokio::test]
async fn acks_zero_gets_no_response_and_other_acks_get_offsets_or_errors() {
    let kafka = EmbeddedKafka::start().await;
    kafka.create_topic("t", 1).await;
    let mut stream = TcpStream::connect(kafka.bootstrap()).await.unwrap();
    stream.write_all(&produce_frame(1, 0)).await.unwrap();
    stream.write_all(&produce_frame(2, 1)).await.unwrap();
    stream.write_all(&produce_frame(3, -1)).await.unwrap();
    stream.write_all(&produce_frame(4, 2)).await.unwrap();
    let (id, r) = read_response(&mut stream).await;
    assert_eq!(id, 2, "acks=0 is not answered");
    assert_eq!(
        r.responses[0].partition_responses[0].base_offset, 1,
        "the acks=0 record was stored first"
    );
    let (id, r) = read_response(&mut stream).await;
    assert_eq!(
        (id, r.responses[0].partition_responses[0].base_offset),
        (3, 2)
    );
    let (id, r) = read_response(&mut stream).await;
    assert_eq!(
        (id, r.responses[0].partition_responses[0].error_code),
        (4, 21),
        "INVALID_REQUIRED_ACKS"
    );
    assert_eq!(kafka.high_watermark("t", 0), Some(3));
}
