//! Which broker leads each partition, from Metadata, looked up again when a route goes stale.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::broker_loop::JobError;
use super::pool::ConnectionPool;
use crate::client::ConnectionConfig;

/// Metadata's answer for a topic the cluster does not have.
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;

/// Where to fetch one partition from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Route {
    /// The leader's node id.
    pub(super) node: i32,
    /// The leader's `host:port`.
    pub(super) addr: String,
    /// The leader epoch (KIP-320), sent so a stale leader is fenced; -1 if unknown.
    pub(super) leader_epoch: i32,
    /// The topic's id (Fetch v13+ names topics by id); nil if the broker gave none.
    pub(super) topic_id: Uuid,
}

#[derive(Debug, Default)]
struct RouteState {
    brokers: HashMap<i32, String>,
    leaders: HashMap<(Arc<str>, i32), (i32, i32)>,
    topic_ids: HashMap<Arc<str>, Uuid>,
    /// Every topic asked for so far: a refresh asks for all of them at once.
    topics: BTreeSet<Arc<str>>,
    /// Topics the last Metadata response said do not exist.
    missing: BTreeSet<Arc<str>>,
}

/// Leaders by partition.
#[derive(Debug)]
pub(super) struct Routes {
    connection: ConnectionConfig,
    pool: Arc<ConnectionPool>,
    state: Mutex<RouteState>,
    /// One Metadata request at a time; partitions that wait find the answer cached.
    refresh: tokio::sync::Mutex<()>,
}

impl Routes {
    pub(super) fn new(connection: ConnectionConfig, pool: Arc<ConnectionPool>) -> Self {
        Self {
            connection,
            pool,
            state: Mutex::new(RouteState::default()),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    /// The partition's leader, from the cache or a Metadata request.
    pub(super) async fn leader(&self, topic: &Arc<str>, partition: i32) -> Result<Route, JobError> {
        if let Some(route) = self.cached(topic, partition) {
            return Ok(route);
        }
        let _single_flight = self.refresh.lock().await;
        if let Some(route) = self.cached(topic, partition) {
            return Ok(route);
        }
        self.refresh(topic).await?;
        if self
            .state
            .lock()
            .expect("routes lock")
            .missing
            .contains(topic)
        {
            return Err(JobError::UnknownTopic);
        }
        self.cached(topic, partition).ok_or_else(|| {
            JobError::Stale(format!(
                "the cluster reports no leader for {topic}-{partition}"
            ))
        })
    }

    /// Drops the partition's route: the next fetch asks the cluster again.
    pub(super) fn forget(&self, topic: &Arc<str>, partition: i32) {
        self.state
            .lock()
            .expect("routes lock")
            .leaders
            .remove(&(Arc::clone(topic), partition));
    }

    fn cached(&self, topic: &Arc<str>, partition: i32) -> Option<Route> {
        let state = self.state.lock().expect("routes lock");
        let &(node, leader_epoch) = state.leaders.get(&(Arc::clone(topic), partition))?;
        Some(Route {
            node,
            addr: state.brokers.get(&node)?.clone(),
            leader_epoch,
            topic_id: state.topic_ids.get(topic).copied().unwrap_or_default(),
        })
    }

    async fn refresh(&self, topic: &Arc<str>) -> Result<(), JobError> {
        let (topics, candidates) = {
            let mut state = self.state.lock().expect("routes lock");
            state.topics.insert(Arc::clone(topic));
            let mut candidates: Vec<String> = state.brokers.values().cloned().collect();
            candidates.sort();
            candidates.extend(self.connection.bootstrap_servers().iter().cloned());
            candidates.dedup();
            (state.topics.iter().cloned().collect::<Vec<_>>(), candidates)
        };
        let request = MetadataRequest::default()
            .with_topics(Some(
                topics
                    .iter()
                    .map(|t| {
                        MetadataRequestTopic::default()
                            .with_name(Some(TopicName(StrBytes::from_string(t.to_string()))))
                    })
                    .collect(),
            ))
            .with_allow_auto_topic_creation(false);
        let mut last_error = String::from("no bootstrap servers configured");
        for addr in candidates {
            let connection = match self.pool.get(&addr).await {
                Ok(connection) => connection,
                Err(error) => {
                    last_error = error.to_string();
                    continue;
                }
            };
            match connection.send(request.clone()).await {
                Ok(response) => {
                    self.apply(response);
                    return Ok(());
                }
                Err(error) => last_error = error.to_string(),
            }
        }
        Err(JobError::Failed(format!(
            "no broker answered a metadata request: {last_error}"
        )))
    }

    fn apply(&self, response: kafka_protocol::messages::MetadataResponse) {
        let mut state = self.state.lock().expect("routes lock");
        state.brokers = response
            .brokers
            .iter()
            .map(|b| (b.node_id.0, format!("{}:{}", b.host.as_str(), b.port)))
            .collect();
        for topic in response.topics {
            let Some(name) = topic.name else { continue };
            let name: Arc<str> = Arc::from(name.0.as_str());
            state.leaders.retain(|(t, _), _| *t != name);
            if topic.error_code == UNKNOWN_TOPIC_OR_PARTITION {
                state.missing.insert(Arc::clone(&name));
            } else {
                state.missing.remove(&name);
            }
            if topic.error_code != 0 {
                continue;
            }
            state.topic_ids.insert(Arc::clone(&name), topic.topic_id);
            for partition in topic.partitions {
                if partition.leader_id.0 >= 0 {
                    state.leaders.insert(
                        (Arc::clone(&name), partition.partition_index),
                        (partition.leader_id.0, partition.leader_epoch),
                    );
                }
            }
        }
    }
}
