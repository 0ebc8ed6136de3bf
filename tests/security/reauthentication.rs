//! SASL session expiry (KIP-368): a broker with `connections.max.reauth.ms` closes a
//! connection whose session expired at its next request. Every owner of a connection — the
//! group coordinator's lanes, the heartbeat task, the fetcher's pool, the producer — must
//! replace it in time, so a listener keeps consuming across many expiries.
//!
//! On the embedded broker the session lasts 2 s. On real Kafka start the cluster with
//! `KAFKA_CONNECTIONS_MAX_REAUTH_MS=5000 deploy/local/kafka.sh start --security sasl_ssl`; on a
//! cluster that does not limit sessions the test says so and skips.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_listener::client::{BrokerConnection, SaslMechanism, SecurityProtocol};
use kafka_listener::embedded::EmbeddedKafka;
use kafka_listener::group::{GroupConfig, GroupMember, TopicPartition};
use kafka_listener::producer::{KafkaTemplate, ProducerSettings};
use kafka_listener::App;
use kafka_listener_suite::{eventually, unique_name};
use rskafka::client::partition::{OffsetAt, UnknownTopicHandling};

use super::{sasl_properties, target, Seen};

const PARTITIONS: i32 = 2;

#[tokio::test]
async fn security_reauthentication_keeps_a_listener_consuming_across_session_expiries() {
    let mechanism = Some(SaslMechanism::ScramSha512);
    let builder = EmbeddedKafka::builder()
        .tls()
        .sasl([SaslMechanism::ScramSha512])
        .session_lifetime(Duration::from_secs(2));
    let target = target(
        builder,
        SecurityProtocol::SaslSsl,
        &sasl_properties(mechanism),
    )
    .await;
    let topic = unique_name("reauth");
    let group = unique_name("reauth-group");
    let props = target.load(&topic, &group);
    let bootstrap = target.bootstrap.clone();
    let connection = props
        .producer_connection()
        .with_bootstrap_servers([bootstrap.as_str()]);

    let first = bootstrap.split(',').next().unwrap();
    let probe = BrokerConnection::connect(first, &connection).await.unwrap();
    let Some(lifetime) = probe.session_lifetime() else {
        assert!(target.is_real(), "the embedded broker limits sessions");
        eprintln!("skipped: the real cluster does not limit SASL sessions; start it with KAFKA_CONNECTIONS_MAX_REAUTH_MS=5000");
        return;
    };
    drop(probe);

    let admin = connection.rskafka_client().await.unwrap();
    admin
        .controller_client()
        .unwrap()
        .create_topic(&topic, PARTITIONS, 1, 10_000)
        .await
        .unwrap();
    let seen = Arc::new(Seen::default());
    let app = App::new(props)
        .bootstrap(bootstrap.clone())
        .shared_state(Arc::clone(&seen))
        .listeners(["security-listener"])
        .start()
        .await
        .expect("the App starts");
    let template = KafkaTemplate::connect(connection.clone(), ProducerSettings::default())
        .await
        .unwrap();

    // A steady stream across more than three session lifetimes: every connection opened at
    // the start has to be replaced at least three times while records flow.
    let streaming = lifetime.mul_f64(3.5);
    let started = Instant::now();
    let mut pace = tokio::time::interval(Duration::from_millis(50));
    let mut sent = BTreeSet::new();
    while started.elapsed() < streaming {
        pace.tick().await;
        let value = format!("v{}", sent.len());
        template
            .send(&topic, value.as_str(), value.as_str())
            .await
            .unwrap_or_else(|e| panic!("send {value} after {:?}: {e}", started.elapsed()));
        sent.insert(value);
    }
    let wait = Duration::from_secs(60);
    eventually("the listener saw every record sent", wait, || async {
        seen.0.lock().unwrap().get(&topic).map_or(0, Vec::len) >= sent.len()
    })
    .await;
    let received = seen
        .0
        .lock()
        .unwrap()
        .get(&topic)
        .cloned()
        .unwrap_or_default();
    let distinct: BTreeSet<String> = received.iter().cloned().collect();
    assert_eq!(distinct, sent, "records lost or foreign records seen");
    assert_eq!(
        received.len(),
        sent.len(),
        "duplicates: the group rebalanced instead of replacing connections cleanly"
    );

    let mut log_end = Vec::new();
    for partition in 0..PARTITIONS {
        let client = admin
            .partition_client(&topic, partition, UnknownTopicHandling::Retry)
            .await
            .unwrap();
        log_end.push(client.get_offset(OffsetAt::Latest).await.unwrap());
    }
    assert_eq!(log_end.iter().sum::<i64>(), sent.len() as i64);
    let observer = GroupMember::new(connection.clone(), GroupConfig::new(&group));
    let partitions: Vec<TopicPartition> = (0..PARTITIONS)
        .map(|p| TopicPartition::new(&topic, p))
        .collect();
    eventually("committed offsets reach the log end", wait, || async {
        let committed = observer.committed(&partitions).await.unwrap();
        partitions.iter().zip(&log_end).all(|(tp, end)| {
            committed
                .get(tp)
                .cloned()
                .flatten()
                .is_some_and(|c| c.offset == *end)
        })
    })
    .await;
    app.shutdown().await.unwrap();
}
