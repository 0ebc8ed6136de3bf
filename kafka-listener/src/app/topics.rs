//! Topics declared in code (Spring's `NewTopic` beans) and the `missing-topics-fatal` check.

use rskafka::client::error::{Error as RsError, ProtocolError};

use crate::result::{Error, Result};

/// A topic the application needs, created at start-up if it does not exist — Spring's
/// `TopicBuilder.name(…).partitions(…).replicas(…)`.
///
/// ```
/// use kafka_listener::app::NewTopic;
/// let orders = NewTopic::new("orders").partitions(6).replicas(3);
/// assert_eq!(orders.name(), "orders");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    name: String,
    partitions: i32,
    replicas: i16,
}

impl NewTopic {
    /// A topic with one partition and one replica.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            partitions: 1,
            replicas: 1,
        }
    }

    /// Sets the partition count.
    pub fn partitions(mut self, partitions: i32) -> Self {
        self.partitions = partitions;
        self
    }

    /// Sets the replication factor.
    pub fn replicas(mut self, replicas: i16) -> Self {
        self.replicas = replicas;
        self
    }

    /// The topic's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Creates each declared topic that does not exist yet.
pub(crate) async fn create_topics(
    client: &rskafka::client::Client,
    topics: &[NewTopic],
) -> Result<()> {
    let missing = missing_topics(client, topics.iter().map(NewTopic::name)).await?;
    let topics: Vec<&NewTopic> = topics
        .iter()
        .filter(|t| missing.contains(&t.name))
        .collect();
    if topics.is_empty() {
        return Ok(());
    }
    let controller = client.controller_client().map_err(|e| Error::CreateTopic {
        topic: topics[0].name.clone(),
        reason: e.to_string(),
    })?;
    for topic in topics {
        // Another instance may create it between our check and our request: that is fine.
        match controller
            .create_topic(&topic.name, topic.partitions, topic.replicas, 30_000)
            .await
        {
            Ok(()) => {
                tracing::info!(topic = %topic.name, partitions = topic.partitions, "topic created")
            }
            Err(RsError::ServerError {
                protocol_error: ProtocolError::TopicAlreadyExists,
                ..
            }) => {}
            Err(e) => {
                return Err(Error::CreateTopic {
                    topic: topic.name.clone(),
                    reason: e.to_string(),
                })
            }
        }
    }
    Ok(())
}

/// The topics of `wanted` the cluster does not have.
pub(crate) async fn missing_topics(
    client: &rskafka::client::Client,
    wanted: impl IntoIterator<Item = &str>,
) -> Result<Vec<String>> {
    let existing = client
        .list_topics()
        .await
        .map_err(|e| Error::Metadata(e.to_string()))?;
    let mut missing: Vec<String> = wanted
        .into_iter()
        .filter(|t| !existing.iter().any(|e| e.name == *t))
        .map(str::to_owned)
        .collect();
    missing.sort();
    missing.dedup();
    Ok(missing)
}
