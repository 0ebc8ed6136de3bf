//! Bad input on the wire closes only the offending connection (or, for an ApiVersions version
//! the broker lacks, gets Kafka's UNSUPPORTED_VERSION answer); the broker keeps serving.

use std::time::Duration;

use bytes::{Buf, BufMut, BytesMut};
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse, RequestHeader};
use kafka_protocol::protocol::{Decodable, Encodable};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::client::{BrokerConnection, ConnectionConfig};
use crate::embedded::EmbeddedKafka;

const WAIT: Duration = Duration::from_secs(5);

async fn raw(kafka: &EmbeddedKafka) -> TcpStream {
    TcpStream::connect(kafka.bootstrap())
        .await
        .expect("connect")
}

/// Resolves when the broker closed the connection (EOF), failing on a timeout.
async fn assert_closed(stream: &mut TcpStream) {
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(WAIT, stream.read(&mut buf))
        .await
        .expect("the broker to close, not hang");
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "expected the connection closed, read {read:?}"
    );
}

/// The broker still answers a well-formed client.
async fn assert_still_serving(kafka: &EmbeddedKafka) {
    let config = ConnectionConfig::new([kafka.bootstrap()]).request_timeout(WAIT);
    let conn = BrokerConnection::connect(&kafka.bootstrap(), &config)
        .await
        .expect("a healthy connection after bad input");
    conn.send(kafka_protocol::messages::MetadataRequest::default())
        .await
        .expect("metadata");
}

fn frame(api_key: i16, version: i16, body: &[u8]) -> BytesMut {
    let mut f = BytesMut::new();
    f.put_i32((8 + 2 + body.len()) as i32);
    f.put_i16(api_key);
    f.put_i16(version);
    f.put_i32(1);
    f.put_i16(-1); // null client id
    f.put_slice(body);
    f
}

#[tokio::test]
async fn an_oversized_frame_closes_the_connection() {
    let kafka = EmbeddedKafka::start().await;
    let mut s = raw(&kafka).await;
    s.write_all(&(200 * 1024 * 1024i32).to_be_bytes())
        .await
        .unwrap();
    assert_closed(&mut s).await;
    assert_still_serving(&kafka).await;
}

#[tokio::test]
async fn a_negative_or_empty_frame_size_closes_the_connection() {
    let kafka = EmbeddedKafka::start().await;
    for size in [-1i32, 0] {
        let mut s = raw(&kafka).await;
        s.write_all(&size.to_be_bytes()).await.unwrap();
        assert_closed(&mut s).await;
    }
    assert_still_serving(&kafka).await;
}

#[tokio::test]
async fn an_unknown_api_key_closes_the_connection() {
    let kafka = EmbeddedKafka::start().await;
    let mut s = raw(&kafka).await;
    s.write_all(&frame(9999, 0, &[])).await.unwrap();
    assert_closed(&mut s).await;
    assert_still_serving(&kafka).await;
}

#[tokio::test]
async fn an_unsupported_version_of_another_api_closes_the_connection() {
    let kafka = EmbeddedKafka::start().await;
    let mut s = raw(&kafka).await;
    s.write_all(&frame(ApiKey::Produce as i16, 1, &[]))
        .await
        .unwrap();
    assert_closed(&mut s).await;
    assert_still_serving(&kafka).await;
}

#[tokio::test]
async fn a_too_new_api_versions_request_gets_unsupported_version_with_the_supported_list() {
    let kafka = EmbeddedKafka::start().await;
    let mut s = raw(&kafka).await;
    let mut request = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(ApiKey::ApiVersions as i16)
        .with_request_api_version(99)
        .with_correlation_id(42)
        .encode(&mut request, 1)
        .unwrap();
    let mut framed = BytesMut::new();
    framed.put_i32(request.len() as i32);
    framed.put_slice(&request);
    s.write_all(&framed).await.unwrap();
    let size = tokio::time::timeout(WAIT, s.read_i32())
        .await
        .expect("an answer, not a hang")
        .unwrap();
    let mut body = vec![0u8; size as usize];
    s.read_exact(&mut body).await.unwrap();
    let mut body = bytes::Bytes::from(body);
    assert_eq!(body.get_i32(), 42, "correlation id echoed");
    let response = ApiVersionsResponse::decode(&mut body, 0).unwrap();
    assert_eq!(response.error_code, 35, "UNSUPPORTED_VERSION");
    assert!(response
        .api_keys
        .iter()
        .any(|k| k.api_key == ApiKey::ApiVersions as i16 && k.max_version == 4));
    // The connection stays usable, as in Kafka: the client retries with a version it finds.
    let config = ConnectionConfig::new([kafka.bootstrap()]);
    assert!(BrokerConnection::connect(&kafka.bootstrap(), &config)
        .await
        .is_ok());
}

#[tokio::test]
async fn a_malformed_body_closes_the_connection() {
    let kafka = EmbeddedKafka::start().await;
    let mut s = raw(&kafka).await;
    // Metadata v1 whose topic array claims 5 entries but holds none.
    s.write_all(&frame(ApiKey::Metadata as i16, 1, &[0, 0, 0, 5]))
        .await
        .unwrap();
    assert_closed(&mut s).await;
    assert_still_serving(&kafka).await;
}

#[tokio::test]
async fn forged_array_and_string_lengths_close_the_connection_and_spare_the_process() {
    let kafka = EmbeddedKafka::start().await;
    let forged: [(ApiKey, i16, &[u8]); 3] = [
        // Metadata v1 declaring 2^31 - 1 topics: the codec alone would reserve ~100 GB.
        (ApiKey::Metadata, 1, &[0x7f, 0xff, 0xff, 0xff, 0, 1, b't']),
        // DescribeConfigs v1: one resource whose configuration keys declare 2^30 strings.
        (
            ApiKey::DescribeConfigs,
            1,
            &[0, 0, 0, 1, 2, 0, 1, b't', 0x40, 0, 0, 0, 0, 1, b'k', 0],
        ),
        // JoinGroup v1: a protocol whose metadata declares a 2 GB byte field.
        (
            ApiKey::JoinGroup,
            1,
            &[
                0, 1, b'g', 0, 0, 0x27, 0x10, 0, 0, 0x75, 0x30, 0, 0, 0, 1, b'c', 0, 0, 0, 1, 0, 1,
                b'r', 0x7f, 0xff, 0xff, 0xff, 1,
            ],
        ),
    ];
    for (api, version, body) in forged {
        let mut s = raw(&kafka).await;
        s.write_all(&frame(api as i16, version, body))
            .await
            .unwrap();
        assert_closed(&mut s).await;
        assert_still_serving(&kafka).await;
    }
}

#[tokio::test]
async fn a_truncated_request_does_not_block_other_clients() {
    let kafka = EmbeddedKafka::start().await;
    let mut s = raw(&kafka).await;
    // Announce 100 bytes, send 10, then hang up halfway.
    s.write_all(&100i32.to_be_bytes()).await.unwrap();
    s.write_all(&[0u8; 10]).await.unwrap();
    assert_still_serving(&kafka).await;
    drop(s);
    assert_still_serving(&kafka).await;
}

#[tokio::test]
async fn garbage_bytes_close_the_connection_and_spare_the_broker() {
    let kafka = EmbeddedKafka::start().await;
    let mut s = raw(&kafka).await;
    let mut garbage = BytesMut::new();
    garbage.put_i32(12);
    garbage.put_slice(b"hello kafka!");
    s.write_all(&garbage).await.unwrap();
    assert_closed(&mut s).await;
    assert_still_serving(&kafka).await;
}
