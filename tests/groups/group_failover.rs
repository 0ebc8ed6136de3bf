//! A coordinator that disappears is rediscovered (issue #4). Needs a 3-broker cluster started
//! with deploy/local/kafka.sh, because the test kills the coordinator's broker:
//!
//! ```text
//! KAFKA_STATE_DIR=/tmp/k deploy/local/kafka.sh start --brokers 3
//! KAFKA_SH=deploy/local/kafka.sh KAFKA_STATE_DIR=/tmp/k KAFKA_BOOTSTRAP_SERVERS=… \
//!     cargo test --test groups group_failover -- --ignored
//! ```

use crate::group_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use group_support::*;
use kafka_listener::client::BrokerConnection;
use kafka_listener::group::{OffsetAndMetadata, TopicPartition};
use kafka_listener_suite::{eventually, unique_name, TestKafka};
use kafka_protocol::messages::FindCoordinatorRequest;
use kafka_protocol::protocol::StrBytes;

fn kafka_sh(args: &[&str]) {
    let script = std::env::var("KAFKA_SH").expect("KAFKA_SH: path to deploy/local/kafka.sh");
    let status = std::process::Command::new(script)
        .args(args)
        .status()
        .expect("run kafka.sh");
    assert!(status.success(), "kafka.sh {args:?} failed");
}

/// Restarts the killed broker when the test ends, passed or not, so the cluster stays whole.
struct RestartOnDrop(i32);

impl Drop for RestartOnDrop {
    fn drop(&mut self) {
        kafka_sh(&["restart-broker", &self.0.to_string()]);
    }
}

async fn coordinator_of(kafka: &TestKafka, group: &str) -> i32 {
    for server in kafka.connection().bootstrap_servers() {
        let Ok(connection) = BrokerConnection::connect(server, kafka.connection()).await else {
            continue;
        };
        let request = FindCoordinatorRequest::default()
            .with_coordinator_keys(vec![StrBytes::from_string(group.to_owned())]);
        if let Ok(response) = connection.send(request).await {
            if response.coordinators[0].error_code == 0 {
                return response.coordinators[0].node_id.0;
            }
        }
    }
    panic!("no broker names a coordinator for {group}");
}

#[tokio::test]
#[ignore = "kills a broker: needs KAFKA_SH, KAFKA_STATE_DIR and a 3-broker cluster (see file docs)"]
async fn group_coordinator_that_disappears_is_rediscovered() {
    init_tracing();
    let kafka = TestKafka::start().await;
    let topic = new_topic(&kafka, "group-failover", 3).await;
    let group = unique_name("g-failover");
    let driven = DrivenMember::start(member(&kafka, fast_config(&group), &topic));
    eventually(
        "the member to be assigned",
        Duration::from_secs(30),
        || async { driven.current().len() == 3 },
    )
    .await;
    let before = coordinator_of(&kafka, &group).await;
    let member = driven.stop().await;
    let committer = member.committer();
    let driven = DrivenMember::start(member);

    let killed = Instant::now();
    kafka_sh(&["kill-broker", &before.to_string()]);
    let _restart = RestartOnDrop(before);
    let tp = TopicPartition::new(topic.clone(), 0);
    let offsets = BTreeMap::from([(tp.clone(), OffsetAndMetadata::new(5))]);
    // Commits fail while the coordinator moves, then succeed against the new one.
    eventually(
        "a commit to succeed on the new coordinator",
        Duration::from_secs(60),
        || async { committer.commit(&offsets).await.is_ok() },
    )
    .await;
    let after = coordinator_of(&kafka, &group).await;
    eprintln!(
        "coordinator moved from broker {before} to {after}; commits work again after {:?}",
        killed.elapsed()
    );
    assert_ne!(after, before);
    eventually(
        "the member to hold its partitions again",
        Duration::from_secs(60),
        || async { driven.current().len() == 3 && driven.generation.borrow().is_some() },
    )
    .await;
    let member = driven.stop().await;
    assert_eq!(
        member.committed(std::slice::from_ref(&tp)).await.unwrap()[&tp],
        Some(OffsetAndMetadata::new(5))
    );
    member.close().await.expect("close");
}
