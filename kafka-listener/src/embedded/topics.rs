//! Cluster metadata shared by every embedded broker: the brokers, the topics, their partitions
//! and which broker leads each partition.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use uuid::Uuid;

use super::codes;
use super::log::PartitionLog;

/// One broker of the embedded cluster, as clients see it in Metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BrokerInfo {
    pub(crate) node_id: i32,
    pub(crate) host: String,
    pub(crate) port: i32,
}

/// A topic: an id, its partitions, and where leadership starts (so leaders spread across
/// brokers as Kafka's replica placement spreads them).
#[derive(Debug)]
pub(crate) struct Topic {
    pub(crate) name: String,
    pub(crate) id: Uuid,
    leader_start: usize,
    partitions: RwLock<Vec<Arc<PartitionLog>>>,
    /// `message.timestamp.type=LogAppendTime`: the broker stamps every batch it appends.
    pub(crate) log_append_time: bool,
}

impl Topic {
    /// The partition's log, if it exists.
    pub(crate) fn partition(&self, index: i32) -> Option<Arc<PartitionLog>> {
        let partitions = self.partitions.read().expect("partitions lock");
        usize::try_from(index)
            .ok()
            .and_then(|i| partitions.get(i))
            .cloned()
    }

    /// How many partitions the topic has.
    pub(crate) fn partition_count(&self) -> i32 {
        self.partitions.read().expect("partitions lock").len() as i32
    }

    fn wake_all(&self) {
        for log in self.partitions.read().expect("partitions lock").iter() {
            log.wake_all();
        }
    }
}

/// The largest partition count a create request may ask for; Kafka has no hard limit, but an
/// in-memory test broker must not allocate millions of logs on a typo.
pub(crate) const MAX_PARTITIONS: i32 = 10_000;

/// Why a topic name is refused (Kafka's `Topic.validate`).
pub(crate) fn validate_topic_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("topic name is empty");
    }
    if name == "." || name == ".." {
        return Err("topic name cannot be '.' or '..'");
    }
    if name.len() > 249 {
        return Err("topic name is longer than 249 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        return Err(
            "topic name contains characters other than ASCII alphanumerics, '.', '_' and '-'",
        );
    }
    Ok(())
}

/// Every topic of the cluster, by name.
#[derive(Debug)]
pub(crate) struct TopicRegistry {
    brokers: Vec<BrokerInfo>,
    topics: Mutex<BTreeMap<String, Arc<Topic>>>,
    created: AtomicU64,
}

impl TopicRegistry {
    pub(crate) fn new(brokers: Vec<BrokerInfo>) -> Self {
        Self {
            brokers,
            topics: Mutex::new(BTreeMap::new()),
            created: AtomicU64::new(0),
        }
    }

    /// The brokers of the cluster.
    pub(crate) fn brokers(&self) -> &[BrokerInfo] {
        &self.brokers
    }

    /// The broker leading partition `index` of `topic`.
    pub(crate) fn leader(&self, topic: &Topic, index: i32) -> i32 {
        let n = self.brokers.len();
        self.brokers[(topic.leader_start + index.max(0) as usize) % n].node_id
    }

    /// Looks a topic up by name.
    pub(crate) fn get(&self, name: &str) -> Option<Arc<Topic>> {
        self.topics.lock().expect("topics lock").get(name).cloned()
    }

    /// Looks a topic up by id (Fetch v13+, Produce v13+).
    pub(crate) fn get_by_id(&self, id: Uuid) -> Option<Arc<Topic>> {
        self.topics
            .lock()
            .expect("topics lock")
            .values()
            .find(|t| t.id == id)
            .cloned()
    }

    /// Every topic, ordered by name.
    pub(crate) fn all(&self) -> Vec<Arc<Topic>> {
        self.topics
            .lock()
            .expect("topics lock")
            .values()
            .cloned()
            .collect()
    }

    /// Creates a topic; on failure returns the Kafka error code and message.
    pub(crate) fn create(
        &self,
        name: &str,
        partitions: i32,
        validate_only: bool,
    ) -> Result<Arc<Topic>, (i16, String)> {
        self.create_with(name, partitions, false, validate_only)
    }

    /// Creates a topic, with `message.timestamp.type=LogAppendTime` when `log_append_time`.
    pub(crate) fn create_with(
        &self,
        name: &str,
        partitions: i32,
        log_append_time: bool,
        validate_only: bool,
    ) -> Result<Arc<Topic>, (i16, String)> {
        validate_topic_name(name).map_err(|m| (codes::INVALID_TOPIC_EXCEPTION, m.to_owned()))?;
        if !(1..=MAX_PARTITIONS).contains(&partitions) {
            return Err((
                codes::INVALID_PARTITIONS,
                format!("Number of partitions must be between 1 and {MAX_PARTITIONS}."),
            ));
        }
        let mut topics = self.topics.lock().expect("topics lock");
        if topics.contains_key(name) {
            return Err((
                codes::TOPIC_ALREADY_EXISTS,
                format!("Topic '{name}' already exists."),
            ));
        }
        let n = self.created.fetch_add(1, Ordering::Relaxed);
        let topic = Arc::new(Topic {
            name: name.to_owned(),
            id: new_uuid(),
            leader_start: n as usize % self.brokers.len(),
            partitions: RwLock::new(
                (0..partitions)
                    .map(|_| Arc::new(PartitionLog::new(log_append_time)))
                    .collect(),
            ),
            log_append_time,
        });
        if !validate_only {
            topics.insert(name.to_owned(), Arc::clone(&topic));
        }
        Ok(topic)
    }

    /// Deletes a topic; waiting fetches on it wake up.
    pub(crate) fn delete(&self, name: &str) -> Option<Arc<Topic>> {
        let removed = self.topics.lock().expect("topics lock").remove(name);
        if let Some(topic) = &removed {
            topic.wake_all();
        }
        removed
    }

    /// Grows a topic to `count` partitions (Kafka never shrinks one).
    pub(crate) fn add_partitions(
        &self,
        name: &str,
        count: i32,
        validate_only: bool,
    ) -> Result<(), (i16, String)> {
        let topic = self.get(name).ok_or((
            codes::UNKNOWN_TOPIC_OR_PARTITION,
            "This server does not host this topic-partition.".to_owned(),
        ))?;
        let mut partitions = topic.partitions.write().expect("partitions lock");
        let current = partitions.len() as i32;
        if count <= current {
            return Err((
                codes::INVALID_PARTITIONS,
                format!("Topic currently has {current} partitions, which is higher than the requested {count}."),
            ));
        }
        if count > MAX_PARTITIONS {
            return Err((
                codes::INVALID_PARTITIONS,
                format!("Number of partitions must be at most {MAX_PARTITIONS}."),
            ));
        }
        if !validate_only {
            let log_append_time = topic.log_append_time;
            partitions.resize_with(count as usize, || {
                Arc::new(PartitionLog::new(log_append_time))
            });
        }
        Ok(())
    }
}

/// A random version-4 UUID (topic ids, member ids) without a dependency on a RNG crate: the
/// std hasher is randomly keyed per process, mixed with time and a counter.
pub(crate) fn new_uuid() -> Uuid {
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let state = std::collections::hash_map::RandomState::new();
    let mut halves = [0u64; 2];
    for (i, half) in halves.iter_mut().enumerate() {
        let mut h = state.build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_usize(i);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default(),
        );
        *half = h.finish();
    }
    let bytes = ((u128::from(halves[0]) << 64) | u128::from(halves[1])).to_be_bytes();
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(brokers: i32) -> TopicRegistry {
        TopicRegistry::new(
            (0..brokers)
                .map(|i| BrokerInfo {
                    node_id: i,
                    host: "127.0.0.1".into(),
                    port: 9000 + i,
                })
                .collect(),
        )
    }

    #[test]
    fn leaders_spread_across_brokers() {
        let r = registry(3);
        let t = r.create("t", 3, false).unwrap();
        let mut leaders: Vec<i32> = (0..3).map(|p| r.leader(&t, p)).collect();
        leaders.sort();
        assert_eq!(leaders, [0, 1, 2]);
    }

    #[test]
    fn invalid_names_and_counts_are_refused_with_kafka_codes() {
        let r = registry(1);
        assert_eq!(
            r.create("a b", 1, false).unwrap_err().0,
            codes::INVALID_TOPIC_EXCEPTION
        );
        assert_eq!(
            r.create("a", 0, false).unwrap_err().0,
            codes::INVALID_PARTITIONS
        );
        r.create("a", 1, false).unwrap();
        assert_eq!(
            r.create("a", 1, false).unwrap_err().0,
            codes::TOPIC_ALREADY_EXISTS
        );
        assert_eq!(
            r.add_partitions("a", 1, false).unwrap_err().0,
            codes::INVALID_PARTITIONS
        );
        r.add_partitions("a", 4, false).unwrap();
        assert_eq!(r.get("a").unwrap().partition_count(), 4);
    }

    #[test]
    fn uuids_differ() {
        assert_ne!(new_uuid(), new_uuid());
    }
}
