//! Committed offsets: OffsetCommit (with generation and member id) and OffsetFetch through the
//! coordinator, and `auto.offset.reset` through ListOffsets on the partition leaders (rskafka).

use std::collections::BTreeMap;

use kafka_protocol::messages::{
    offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic},
    offset_fetch_request::{
        OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
    },
    GroupId, OffsetCommitRequest, OffsetFetchRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::sync::{mpsc, oneshot};

use super::coordinator::{Coordinator, Lane};
use super::error::{coordinator_moved, response_error};
use super::identity::{SharedIdentity, Signal};
use super::{GroupError, TopicPartition};
use crate::client::ConnectionConfig;

/// One OffsetFetch row: partition, committed offset, metadata, error code.
type FetchedOffset = (TopicPartition, i64, Option<String>, i16);

/// An offset to commit (or as committed): the next offset to consume, plus optional metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetAndMetadata {
    /// The next offset to consume (last processed + 1).
    pub offset: i64,
    /// Free-form metadata stored with the commit.
    pub metadata: Option<String>,
}

impl OffsetAndMetadata {
    /// An offset with no metadata.
    pub fn new(offset: i64) -> Self {
        Self {
            offset,
            metadata: None,
        }
    }

    /// An offset with metadata.
    pub fn with_metadata(offset: i64, metadata: impl Into<String>) -> Self {
        Self {
            offset,
            metadata: Some(metadata.into()),
        }
    }
}

/// Commits and fetches offsets for one group member, with its current member id and
/// generation. Cheap to clone; usable from any task (the container's commit path and the
/// rebalance callbacks get one).
#[derive(Debug, Clone)]
pub struct OffsetCommitter {
    pub(crate) group: String,
    pub(crate) coordinator: Coordinator,
    pub(crate) identity: SharedIdentity,
    pub(crate) signals: mpsc::UnboundedSender<Signal>,
    /// Commits outside any generation (manual assignment): no member to be in.
    pub(crate) standalone: bool,
}

impl OffsetCommitter {
    /// A committer for partitions assigned by hand (`partitions = [...]`, Java's `assign()`):
    /// it stores offsets for `group` without joining it, with generation -1 and no member id,
    /// as Kafka accepts while the group has no active members.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), kafka_listener::group::GroupError> {
    /// use kafka_listener::client::ConnectionConfig;
    /// use kafka_listener::group::{OffsetAndMetadata, OffsetCommitter, TopicPartition};
    /// use std::collections::BTreeMap;
    ///
    /// let committer = OffsetCommitter::standalone("audit", ConnectionConfig::new(["127.0.0.1:9092"]));
    /// let offsets = BTreeMap::from([(TopicPartition::new("orders", 0), OffsetAndMetadata::new(42))]);
    /// committer.commit(&offsets).await?;
    /// # Ok(()) }
    /// ```
    pub fn standalone(group: impl Into<String>, connection: ConnectionConfig) -> Self {
        let group = group.into();
        Self {
            coordinator: Coordinator::new(group.clone(), connection),
            group,
            identity: SharedIdentity::new(None),
            // Nobody listens: a standalone committer has no member to signal.
            signals: mpsc::unbounded_channel().0,
            standalone: true,
        }
    }

    /// The generation commits are sent with now; `None` when the member is not in one.
    pub fn generation(&self) -> Option<i32> {
        let identity = self.identity.get();
        identity.in_generation().then_some(identity.generation)
    }

    /// Commits `offsets` and waits for the coordinator's answer.
    ///
    /// Fails with [`GroupError::RebalanceInProgress`] when the commit raced a rebalance (poll,
    /// then commit again if the partitions are still assigned) and with
    /// [`GroupError::NotInGeneration`] when the member was fenced.
    pub async fn commit(
        &self,
        offsets: &BTreeMap<TopicPartition, OffsetAndMetadata>,
    ) -> Result<(), GroupError> {
        if offsets.is_empty() {
            return Ok(());
        }
        let identity = self.identity.get();
        if !self.standalone && !identity.in_generation() {
            return Err(GroupError::NotInGeneration {
                group: self.group.clone(),
                reason: "the member has not joined".to_owned(),
            });
        }
        let mut topics: BTreeMap<&str, Vec<OffsetCommitRequestPartition>> = BTreeMap::new();
        for (tp, offset) in offsets {
            topics.entry(tp.topic.as_str()).or_default().push(
                OffsetCommitRequestPartition::default()
                    .with_partition_index(tp.partition)
                    .with_committed_offset(offset.offset)
                    .with_committed_metadata(offset.metadata.clone().map(StrBytes::from_string)),
            );
        }
        let request = OffsetCommitRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(self.group.clone())))
            .with_generation_id_or_member_epoch(identity.generation)
            .with_member_id(StrBytes::from_string(identity.member_id.clone()))
            .with_group_instance_id(identity.instance_id.clone().map(StrBytes::from_string))
            .with_topics(
                topics
                    .into_iter()
                    .map(|(topic, partitions)| {
                        OffsetCommitRequestTopic::default()
                            .with_name(TopicName(StrBytes::from_string(topic.to_owned())))
                            .with_partitions(partitions)
                    })
                    .collect(),
            );
        let connection = self.coordinator.connection(Lane::Offsets).await?;
        let response = match connection.send(request).await {
            Ok(response) => response,
            Err(e) => {
                self.coordinator.invalidate(&connection).await;
                return Err(e.into());
            }
        };
        let first_error = response
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter())
            .find_map(|p| response_error(p.error_code));
        match first_error {
            None => {
                tracing::debug!(group = %self.group, member_id = %identity.member_id, generation = identity.generation, partitions = offsets.len(), "offsets committed");
                Ok(())
            }
            Some(ResponseError::RebalanceInProgress) => {
                let _ = self.signals.send(Signal::RejoinNeeded);
                Err(GroupError::RebalanceInProgress {
                    group: self.group.clone(),
                })
            }
            Some(
                e @ (ResponseError::UnknownMemberId
                | ResponseError::IllegalGeneration
                | ResponseError::FencedInstanceId),
            ) => {
                let _ = self.signals.send(Signal::Fenced(e));
                Err(GroupError::NotInGeneration {
                    group: self.group.clone(),
                    reason: e.to_string(),
                })
            }
            Some(e) => {
                if coordinator_moved(e) {
                    // Every lane's connection goes to the old coordinator, not only this one:
                    // LeaveGroup on the kept membership connection was answered NOT_COORDINATOR.
                    self.coordinator.invalidate_all().await;
                }
                Err(GroupError::Broker {
                    group: self.group.clone(),
                    api: "OffsetCommit",
                    error: e,
                    hint: "retry the commit; check topic and group ACLs if it persists",
                })
            }
        }
    }

    /// The group's committed offsets for `partitions`; `None` where nothing is committed.
    pub async fn committed(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, Option<OffsetAndMetadata>>, GroupError> {
        let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
        for tp in partitions {
            by_topic
                .entry(tp.topic.as_str())
                .or_default()
                .push(tp.partition);
        }
        for attempt in 0.. {
            let connection = self.coordinator.connection(Lane::Offsets).await?;
            let version = connection.version_for::<OffsetFetchRequest>()?;
            let group_id = GroupId(StrBytes::from_string(self.group.clone()));
            let request = if version >= 8 {
                OffsetFetchRequest::default()
                    .with_groups(vec![OffsetFetchRequestGroup::default()
                        .with_group_id(group_id)
                        .with_topics(Some(
                            by_topic
                                .iter()
                                .map(|(t, p)| {
                                    OffsetFetchRequestTopics::default()
                                        .with_name(TopicName(StrBytes::from_string(
                                            (*t).to_owned(),
                                        )))
                                        .with_partition_indexes(p.clone())
                                })
                                .collect(),
                        ))])
                    .with_require_stable(true)
            } else {
                OffsetFetchRequest::default()
                    .with_group_id(group_id)
                    .with_topics(Some(
                        by_topic
                            .iter()
                            .map(|(t, p)| {
                                OffsetFetchRequestTopic::default()
                                    .with_name(TopicName(StrBytes::from_string((*t).to_owned())))
                                    .with_partition_indexes(p.clone())
                            })
                            .collect(),
                    ))
                    .with_require_stable(version >= 7)
            };
            let response = match connection.send(request).await {
                Ok(response) => response,
                Err(e) => {
                    self.coordinator.invalidate(&connection).await;
                    return Err(e.into());
                }
            };
            // (group error, per partition: (tp, offset, metadata, error))
            let (group_error, rows): (i16, Vec<FetchedOffset>) = if version >= 8 {
                let group = response.groups.into_iter().next().unwrap_or_default();
                let rows = group
                    .topics
                    .into_iter()
                    .flat_map(|t| {
                        let topic = t.name.0.to_string();
                        t.partitions.into_iter().map(move |p| {
                            (
                                TopicPartition::new(topic.clone(), p.partition_index),
                                p.committed_offset,
                                p.metadata.map(|m| m.to_string()),
                                p.error_code,
                            )
                        })
                    })
                    .collect();
                (group.error_code, rows)
            } else {
                let rows = response
                    .topics
                    .into_iter()
                    .flat_map(|t| {
                        let topic = t.name.0.to_string();
                        t.partitions.into_iter().map(move |p| {
                            (
                                TopicPartition::new(topic.clone(), p.partition_index),
                                p.committed_offset,
                                p.metadata.map(|m| m.to_string()),
                                p.error_code,
                            )
                        })
                    })
                    .collect();
                (response.error_code, rows)
            };
            let error = response_error(group_error)
                .or_else(|| rows.iter().find_map(|r| response_error(r.3)));
            match error {
                None => {
                    return Ok(rows
                        .into_iter()
                        .map(|(tp, offset, metadata, _)| {
                            let committed = (offset >= 0).then(|| OffsetAndMetadata {
                                offset,
                                metadata: metadata.filter(|m| !m.is_empty()),
                            });
                            (tp, committed)
                        })
                        .collect())
                }
                // Transactions still open on these partitions, or the coordinator is loading:
                // Java retries both.
                Some(
                    ResponseError::UnstableOffsetCommit | ResponseError::CoordinatorLoadInProgress,
                ) if attempt < 50 => {
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Some(e) if coordinator_moved(e) && attempt < 50 => {
                    self.coordinator.invalidate(&connection).await;
                }
                Some(e) => {
                    return Err(GroupError::Broker {
                        group: self.group.clone(),
                        api: "OffsetFetch",
                        error: e,
                        hint: "check that the topics exist and the group may read them",
                    })
                }
            }
        }
        unreachable!("the loop returns")
    }
}

/// A commit started by [`GroupMember::commit_async`](super::GroupMember::commit_async); resolves to its result.
#[derive(Debug)]
pub struct PendingCommit {
    pub(crate) group: String,
    pub(crate) result: oneshot::Receiver<Result<(), GroupError>>,
}

impl Future for PendingCommit {
    type Output = Result<(), GroupError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.result).poll(cx).map(|r| {
            r.unwrap_or_else(|_| {
                Err(GroupError::NotInGeneration {
                    group: self.group.clone(),
                    reason: "the member was dropped before the commit finished".to_owned(),
                })
            })
        })
    }
}
