//! Every served API answers at every served version, with a populated cluster (topics with
//! records, committed offsets with leader epochs, a stable static member). A response field a
//! version lacks cannot be encoded, so a handler that sets one would close the connection
//! instead of answering; this test sends one request per API and version to catch that.

use std::time::Duration;

use bytes::{Buf, BytesMut};
use kafka_protocol::messages::ApiKey;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::request_seeds::seed_frames;
use crate::embedded::EmbeddedKafka;

async fn populated() -> EmbeddedKafka {
    let kafka = EmbeddedKafka::builder()
        .session_timeout_bounds(Duration::from_millis(0), Duration::from_secs(600))
        .start()
        .await;
    kafka.create_topic("t", 2).await;
    kafka.produce("t", 0, [(Some("k"), Some("v"))]).await;
    kafka.cluster.coordinator.with_groups(|groups| {
        let mut group = crate::embedded::group::Group::new("g");
        group.offsets.insert(
            ("t".to_owned(), 0),
            crate::embedded::group::CommittedOffset {
                offset: 1,
                leader_epoch: 3,
                metadata: Some("meta".to_owned()),
            },
        );
        groups.insert("g".to_owned(), group);
    });
    kafka
}

#[tokio::test]
async fn every_api_answers_at_every_version() {
    let kafka = populated().await;
    let mut failures = Vec::new();
    for frame in seed_frames() {
        let api = ApiKey::try_from(i16::from_be_bytes([frame[0], frame[1]])).expect("known api");
        let version = i16::from_be_bytes([frame[2], frame[3]]);
        let mut stream = TcpStream::connect(kafka.bootstrap()).await.unwrap();
        let mut framed = BytesMut::new();
        framed.extend_from_slice(&(frame.len() as i32).to_be_bytes());
        framed.extend_from_slice(&frame);
        stream.write_all(&framed).await.unwrap();
        match tokio::time::timeout(Duration::from_secs(5), stream.read_i32()).await {
            Ok(Ok(size)) => {
                let mut body = vec![0u8; size as usize];
                stream.read_exact(&mut body).await.unwrap();
                assert_eq!(
                    (&body[..]).get_i32(),
                    7,
                    "{api:?} v{version} correlation id"
                );
            }
            Ok(Err(e)) => failures.push(format!("{api:?} v{version}: connection closed ({e})")),
            Err(_) => failures.push(format!("{api:?} v{version}: no answer in 5 s")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
