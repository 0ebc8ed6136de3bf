use super::*;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{DescribeClusterRequest, MetadataRequest, ResponseHeader};
use tokio::net::{TcpListener, TcpStream};

async fn serve_once<F, Fut>(answer: F) -> String
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        answer(stream).await;
    });
    addr
}

fn config(addr: &str) -> ConnectionConfig {
    ConnectionConfig::new([addr]).request_timeout(Duration::from_secs(2))
}

#[tokio::test]
async fn a_broker_that_hangs_up_is_a_closed_error_not_a_hang() {
    let addr = serve_once(|stream| async move { drop(stream) }).await;
    let err = BrokerConnection::connect(&addr, &config(&addr))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectionError::Closed { .. }), "{err}");
}

#[tokio::test]
async fn a_garbage_length_prefix_closes_the_connection() {
    let addr = serve_once(|mut stream| async move {
        let mut request = [0u8; 64];
        let _ = stream.read(&mut request).await;
        stream.write_all(&(-5i32).to_be_bytes()).await.unwrap();
        // Keep the socket open: the reader must give up on its own.
        let _ = stream.read(&mut request).await;
    })
    .await;
    let err = BrokerConnection::connect(&addr, &config(&addr))
        .await
        .unwrap_err();
    assert!(matches!(err, ConnectionError::Closed { .. }), "{err}");
}

#[tokio::test]
async fn a_silent_broker_times_out() {
    let addr = serve_once(|mut stream| async move {
        let mut buf = [0u8; 1024];
        while stream.read(&mut buf).await.map(|n| n > 0).unwrap_or(false) {}
    })
    .await;
    let config = ConnectionConfig::new([addr.as_str()]).request_timeout(Duration::from_millis(200));
    let err = BrokerConnection::connect(&addr, &config).await.unwrap_err();
    assert!(matches!(err, ConnectionError::Timeout { .. }), "{err}");
}

/// Reads one request frame; returns its API key, version and correlation id.
async fn read_request(stream: &mut TcpStream) -> Option<(i16, i16, i32)> {
    let size = stream.read_i32().await.ok()?;
    let mut frame = vec![0; usize::try_from(size).ok()?];
    stream.read_exact(&mut frame).await.ok()?;
    let api_key = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    Some((api_key, version, correlation_id))
}

/// Answers ApiVersions honestly (Metadata v0-12, ApiVersions v0-3), as a broker would.
async fn answer_api_versions(stream: &mut TcpStream) {
    let (api_key, version, correlation_id) = read_request(stream).await.expect("ApiVersions");
    assert_eq!((api_key, version), (ApiKey::ApiVersions as i16, 3));
    let response = ApiVersionsResponse::default().with_api_keys(vec![
        ApiVersion::default()
            .with_api_key(ApiKey::Metadata as i16)
            .with_max_version(12),
        ApiVersion::default()
            .with_api_key(ApiKey::ApiVersions as i16)
            .with_max_version(3),
    ]);
    let mut frame = BytesMut::new();
    frame.put_i32(0);
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut frame, 0)
        .unwrap();
    response.encode(&mut frame, 3).unwrap();
    let size = (frame.len() - 4) as i32;
    frame[..4].copy_from_slice(&size.to_be_bytes());
    stream.write_all(&frame).await.unwrap();
}

#[tokio::test]
async fn a_forged_response_count_is_a_closed_connection_not_an_abort() {
    let addr = serve_once(|mut stream| async move {
        answer_api_versions(&mut stream).await;
        let (api_key, version, correlation_id) = read_request(&mut stream).await.unwrap();
        assert_eq!((api_key, version), (ApiKey::Metadata as i16, 12));
        // Metadata v12 (header v1): correlation id, no header tags, throttle time, then a
        // compact brokers array declaring 2^31 - 2 brokers in a 14-byte frame.
        let mut body = correlation_id.to_be_bytes().to_vec();
        body.extend_from_slice(&[0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x07]);
        stream.write_i32(body.len() as i32).await.unwrap();
        stream.write_all(&body).await.unwrap();
        // Keep the socket open: the client must close on its own account.
        let mut rest = [0u8; 64];
        while stream.read(&mut rest).await.map(|n| n > 0).unwrap_or(false) {}
    })
    .await;
    let connection = BrokerConnection::connect(&addr, &config(&addr))
        .await
        .unwrap();
    let err = connection
        .send(MetadataRequest::default())
        .await
        .unwrap_err();
    match &err {
        ConnectionError::Decode {
            api,
            version,
            reason,
            ..
        } => {
            assert_eq!((*api, *version), (ApiKey::Metadata, 12));
            assert!(
                reason.contains("refused before decoding: an array of 2147483646 items"),
                "{reason}"
            );
            assert!(reason.contains("(at byte 9)"), "{reason}");
        }
        other => panic!("expected a decode error, got {other}"),
    }
    assert!(err
        .to_string()
        .starts_with("malformed Metadata v12 response from broker"));
    assert!(!connection.is_open());
    let again = connection
        .send(MetadataRequest::default())
        .await
        .unwrap_err();
    assert!(matches!(again, ConnectionError::Closed { .. }), "{again}");
}

#[tokio::test]
async fn a_request_whose_response_has_no_layout_is_not_sent() {
    let addr = serve_once(|mut stream| async move {
        answer_api_versions(&mut stream).await;
        // Anything further is a request the client should not have sent.
        assert!(read_request(&mut stream).await.is_none());
    })
    .await;
    let connection = BrokerConnection::connect(&addr, &config(&addr))
        .await
        .unwrap();
    let err = connection
        .send_version(DescribeClusterRequest::default(), 0, Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConnectionError::NoResponseLayout {
                api: ApiKey::DescribeCluster
            }
        ),
        "{err}"
    );
    assert!(connection.is_open());
}
