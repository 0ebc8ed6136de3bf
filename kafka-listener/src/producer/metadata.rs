//! Partition counts per topic, as the partitioner needs them.
//!
//! Asks with a Metadata request naming the topic and allowing auto-creation, as Java's producer
//! does, so producing to a new topic on a broker with `auto.create.topics.enable` creates it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use crate::client::{BrokerConnection, ConnectionConfig, ConnectionError};

/// Why a topic's partition count is unknown.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// No bootstrap server answered.
    #[error("no broker answered a metadata request for topic {topic}: {source}")]
    Unreachable {
        /// The topic.
        topic: String,
        /// The last connection error.
        #[source]
        source: ConnectionError,
    },
    /// The broker reported an error for the topic (for example it does not exist and
    /// auto-creation is off).
    #[error(
        "metadata for topic {topic} failed: {error:?}; create the topic or enable auto-creation"
    )]
    Topic {
        /// The topic.
        topic: String,
        /// Kafka's error.
        error: ResponseError,
    },
    /// The topic was still being created when we gave up waiting.
    #[error("topic {topic} has no partitions after {waited:?}")]
    NoPartitions {
        /// The topic.
        topic: String,
        /// How long we waited.
        waited: Duration,
    },
}

/// Caches partition counts per topic.
#[derive(Debug)]
pub struct PartitionCounts {
    connection: ConnectionConfig,
    counts: Mutex<HashMap<String, i32>>,
    broker: tokio::sync::Mutex<Option<BrokerConnection>>,
}

impl PartitionCounts {
    /// An empty cache that asks the configured bootstrap servers.
    pub fn new(connection: ConnectionConfig) -> Self {
        Self {
            connection,
            counts: Mutex::new(HashMap::new()),
            broker: tokio::sync::Mutex::new(None),
        }
    }

    /// The topic's partition count, from the cache or the cluster.
    pub async fn get(&self, topic: &str) -> Result<i32, MetadataError> {
        if let Some(&count) = self.counts.lock().expect("counts lock").get(topic) {
            return Ok(count);
        }
        self.refresh(topic).await
    }

    /// Asks the cluster again (after a partition was added or a produce failed on metadata).
    pub async fn refresh(&self, topic: &str) -> Result<i32, MetadataError> {
        let deadline = tokio::time::Instant::now() + self.connection.request_timeout_duration();
        loop {
            match self.ask(topic).await? {
                Some(count) => {
                    self.counts
                        .lock()
                        .expect("counts lock")
                        .insert(topic.to_owned(), count);
                    return Ok(count);
                }
                // A topic just auto-created reports LEADER_NOT_AVAILABLE for a moment.
                None if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                None => {
                    return Err(MetadataError::NoPartitions {
                        topic: topic.to_owned(),
                        waited: self.connection.request_timeout_duration(),
                    })
                }
            }
        }
    }

    async fn ask(&self, topic: &str) -> Result<Option<i32>, MetadataError> {
        let request = MetadataRequest::default()
            .with_topics(Some(vec![MetadataRequestTopic::default().with_name(Some(
                TopicName(StrBytes::from_string(topic.to_owned())),
            ))]))
            .with_allow_auto_topic_creation(true);
        let mut broker = self.broker.lock().await;
        if !broker.as_ref().is_some_and(BrokerConnection::is_open) {
            *broker = Some(self.connect(topic).await?);
        }
        let connection = broker.as_ref().expect("connected above");
        let response = match connection.send(request).await {
            Ok(response) => response,
            Err(source) => {
                *broker = None;
                return Err(MetadataError::Unreachable {
                    topic: topic.to_owned(),
                    source,
                });
            }
        };
        let Some(found) = response
            .topics
            .iter()
            .find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
        else {
            return Ok(None);
        };
        match ResponseError::try_from_code(found.error_code) {
            None if !found.partitions.is_empty() => Ok(Some(found.partitions.len() as i32)),
            None | Some(ResponseError::LeaderNotAvailable) => Ok(None),
            Some(error) if error.is_retriable() => Ok(None),
            Some(error) => Err(MetadataError::Topic {
                topic: topic.to_owned(),
                error,
            }),
        }
    }

    async fn connect(&self, topic: &str) -> Result<BrokerConnection, MetadataError> {
        let mut last_error = None;
        for server in self.connection.bootstrap_servers() {
            match BrokerConnection::connect(server, &self.connection).await {
                Ok(connection) => return Ok(connection),
                Err(error) => last_error = Some(error),
            }
        }
        Err(MetadataError::Unreachable {
            topic: topic.to_owned(),
            source: last_error.unwrap_or_else(|| ConnectionError::Closed {
                addr: String::new(),
                reason: "no bootstrap servers configured".to_owned(),
            }),
        })
    }
}
