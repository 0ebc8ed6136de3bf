//! State shared by every broker of one embedded cluster, and each broker's identity.

use std::sync::Arc;

use super::coordinator::Coordinator;
use super::faults::FaultInjector;
use super::topics::TopicRegistry;
use super::transactions::Transactions;

/// Cluster-wide settings (Kafka broker configs of the same meaning).
#[derive(Debug, Clone)]
pub(crate) struct ClusterSettings {
    /// `auto.create.topics.enable`.
    pub(crate) auto_create_topics: bool,
    /// `num.partitions`.
    pub(crate) default_partitions: i32,
}

/// The shared in-memory cluster.
#[derive(Debug)]
pub(crate) struct Cluster {
    pub(crate) cluster_id: String,
    pub(crate) settings: ClusterSettings,
    pub(crate) topics: TopicRegistry,
    pub(crate) coordinator: Arc<Coordinator>,
    pub(crate) transactions: Transactions,
    /// What tests made the cluster do wrong (see [`Faults`](super::faults::Faults)).
    pub(crate) faults: FaultInjector,
}

/// Kafka's `__consumer_offsets` partition count, which decides a group's coordinator.
const OFFSETS_TOPIC_PARTITIONS: i32 = 50;

/// Java's `String.hashCode` over UTF-16 code units, so a group maps to the same
/// `__consumer_offsets` partition as in Kafka.
fn java_string_hash(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, c| h.wrapping_mul(31).wrapping_add(i32::from(c)))
}

impl Cluster {
    /// The broker coordinating `key` (a group or transactional id): the leader of its
    /// `__consumer_offsets` partition, `abs(hashCode) % 50`, spread over the brokers — unless a
    /// test moved it.
    pub(crate) fn coordinator_for(&self, key: &str) -> i32 {
        if let Some(moved) = self.faults.moved_coordinator(key) {
            return moved;
        }
        let partition = (java_string_hash(key) & 0x7fff_ffff) % OFFSETS_TOPIC_PARTITIONS;
        let brokers = self.topics.brokers();
        brokers[partition as usize % brokers.len()].node_id
    }
}

/// One broker's view: its node id and the cluster it belongs to.
#[derive(Debug, Clone)]
pub(crate) struct BrokerContext {
    pub(crate) node_id: i32,
    pub(crate) cluster: Arc<Cluster>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_hash_matches_java() {
        // "hello".hashCode() in Java.
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash(""), 0);
    }
}
