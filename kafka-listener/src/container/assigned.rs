//! Manually assigned partitions (`partitions = [...]`, Java's `assign()`): no group
//! membership and no rebalances; each listed partition gets its worker at start-up and keeps it
//! until shutdown. With a group id, positions start from the group's committed offsets and
//! commits are stored outside any generation; without one, nothing is committed and every
//! start applies `auto.offset.reset`.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use super::ack_events::AckEvents;
use super::events::ContainerEvent;
use super::member::{MemberControl, MemberEnvironment, MemberSettings, Partitions};
use super::worker::{ListenerDispatch, PartitionCommitter};
use crate::client::ConnectionConfig;
use crate::error::DeliveryFailure;
use crate::group::{
    starting_offsets, AutoOffsetReset, GroupError, OffsetCommitter, TopicPartition,
};
use crate::record::ConsumerRecord;

/// The committer of assigned partitions without a group: positions are not stored.
struct NoCommits;

impl PartitionCommitter for NoCommits {
    async fn commit(&self, _topic: &str, _partition: i32, _position: i64) -> Result<(), String> {
        Ok(())
    }
}

/// Who stores the positions of manually assigned partitions.
#[derive(Debug, Clone)]
pub struct Assignment {
    /// The partitions to consume.
    pub partitions: Vec<TopicPartition>,
    /// The group whose committed offsets are read and written; `None` commits nothing.
    pub group_id: Option<String>,
    /// Where to start without a committed offset (or with one out of range).
    pub reset: AutoOffsetReset,
    /// The connection for the group's coordinator.
    pub connection: ConnectionConfig,
}

/// Runs the workers of manually assigned partitions until `shutdown` is cancelled; then every
/// worker drains and commits.
pub async fn run_assigned<D, Fut, F>(
    assignment: Assignment,
    settings: MemberSettings,
    dispatch: ListenerDispatch<D, F>,
    environment: MemberEnvironment,
    control: tokio::sync::oneshot::Sender<MemberControl>,
) -> Result<(), GroupError>
where
    D: Fn(ConsumerRecord, AckEvents) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), F>> + Send + 'static,
    F: DeliveryFailure,
{
    let shutdown = environment.shutdown.clone();
    let group = assignment.group_id.clone().unwrap_or_default();
    let committer = assignment
        .group_id
        .as_ref()
        .map(|group| OffsetCommitter::standalone(group.clone(), assignment.connection.clone()));
    let partitions = Partitions::new(&group, &settings, dispatch, environment, control);
    let positions = loop {
        let resolved = async {
            let committed = match &committer {
                Some(committer) => committer.committed(&assignment.partitions).await?,
                None => assignment
                    .partitions
                    .iter()
                    .map(|tp| (tp.clone(), None))
                    .collect::<BTreeMap<_, _>>(),
            };
            starting_offsets(&partitions.fetcher, &group, assignment.reset, committed).await
        };
        let error = tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            resolved = resolved => match resolved {
                Ok(positions) => break positions,
                Err(error) => error,
            },
        };
        // Without a starting position nothing may be consumed: report it and try again.
        tracing::error!(listener = %settings.listener_id, %error, "cannot resolve the starting offsets of the assigned partitions");
        partitions.emit(ContainerEvent::ConsumerError {
            listener: settings.listener_id.to_string(),
            message: error.to_string(),
            poll_interval_exceeded: false,
        });
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    };
    for (tp, position) in positions {
        match &committer {
            Some(committer) => partitions.start(tp, position, committer.clone()).await,
            None => partitions.start(tp, position, NoCommits).await,
        }
    }
    tracing::info!(listener = %settings.listener_id, partitions = ?assignment.partitions, "manually assigned partitions started");
    partitions.emit(ContainerEvent::PartitionsAssigned {
        listener: settings.listener_id.to_string(),
        partitions: assignment.partitions.clone(),
    });
    shutdown.cancelled().await;
    partitions.stop(&assignment.partitions).await;
    partitions.emit(ContainerEvent::PartitionsRevoked {
        listener: settings.listener_id.to_string(),
        partitions: assignment.partitions,
    });
    Ok(())
}
