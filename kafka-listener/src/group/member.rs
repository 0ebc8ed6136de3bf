//! [`GroupMember`]: the hand-driven consumer-group member — subscribe, poll for assignment
//! changes, commit, close.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tracing::Instrument;

use super::coordinator::{Coordinator, Lane};
use super::error::coordinator_moved;
use super::heartbeat::{HeartbeatSettings, HeartbeatTask, LastPoll};
use super::identity::{SharedIdentity, Signal};
use super::listener::NoopListener;
use super::membership::{join_and_sync, leave_group, partition_counts};
use super::{
    AssignorKind, GroupConfig, GroupError, OffsetAndMetadata, OffsetCommitter, PendingCommit,
    RebalanceListener, TopicPartition,
};
use crate::client::fetch::{FetchSettings, Fetcher};
use crate::client::ConnectionConfig;
use kafka_protocol::ResponseError;

/// How soon a member looks again for subscribed topics that the metadata did not list, doubling
/// up to the maximum: Java's `retry.backoff.ms` and `retry.backoff.max.ms` defaults. A topic
/// created moments before the join may not have reached the broker that answered yet; waiting
/// `metadata.max.age.ms` (5 min) to look again would leave it unconsumed that long.
const MISSING_TOPIC_RECHECK_FIRST: Duration = Duration::from_millis(100);
const MISSING_TOPIC_RECHECK_MAX: Duration = Duration::from_secs(1);

/// What one [`GroupMember::poll`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssignmentChange {
    /// Partitions added to the assignment.
    pub assigned: Vec<TopicPartition>,
    /// Partitions given up in an orderly way (after `on_partitions_revoked`).
    pub revoked: Vec<TopicPartition>,
    /// Partitions lost because the member was fenced.
    pub lost: Vec<TopicPartition>,
    /// The generation the member is in afterwards (-1 when not in one).
    pub generation: i32,
}

/// A member of a consumer group, driven by hand.
///
/// ```no_run
/// use std::collections::BTreeMap;
/// use std::time::Duration;
/// use kafka_listener::client::ConnectionConfig;
/// use kafka_listener::group::{GroupConfig, GroupMember, OffsetAndMetadata};
///
/// # async fn demo() -> Result<(), kafka_listener::group::GroupError> {
/// let mut member = GroupMember::new(
///     ConnectionConfig::new(["127.0.0.1:9092"]),
///     GroupConfig::new("order-service").assignment_strategy(["cooperative-sticky"]).unwrap(),
/// );
/// member.subscribe(["orders"]);
/// // Joins, syncs and starts heartbeating; returns what changed.
/// let change = member.poll_timeout(Duration::from_secs(1)).await?;
/// println!("assigned: {:?}", change.map(|c| c.assigned));
/// let positions = member.starting_offsets(&member.assignment()).await?;
/// // ... fetch and process from `positions` with the data-plane client ...
/// let done: BTreeMap<_, _> = positions
///     .into_iter()
///     .map(|(tp, offset)| (tp, OffsetAndMetadata::new(offset)))
///     .collect();
/// member.commit(&done).await?;
/// member.close().await?;
/// # Ok(()) }
/// ```
pub struct GroupMember {
    config: GroupConfig,
    topics: Vec<String>,
    coordinator: Coordinator,
    identity: SharedIdentity,
    signals_tx: mpsc::UnboundedSender<Signal>,
    signals: mpsc::UnboundedReceiver<Signal>,
    listener: Arc<dyn RebalanceListener>,
    assignment: BTreeSet<TopicPartition>,
    protocol: Option<AssignorKind>,
    rejoin_needed: bool,
    /// Another process took our group.instance.id; as in Java this is fatal: rejoining would
    /// fence it in turn and the two would take turns forever.
    fenced_instance: bool,
    /// Partition counts of the subscribed topics as of the last join, and when to re-check.
    metadata: Option<(BTreeMap<String, i32>, tokio::time::Instant)>,
    /// The wait before the next re-check while a subscribed topic is missing from the metadata.
    missing_topic_recheck: Duration,
    heartbeat: Option<HeartbeatTask>,
    /// After the coordinator was lost: when to try reaching it again, and the next backoff.
    coordinator_retry: Option<(tokio::time::Instant, Duration)>,
    last_poll: LastPoll,
    /// Looks up earliest and latest offsets for `auto.offset.reset`, made on first use.
    offsets: Option<Fetcher>,
    background: JoinSet<()>,
}

impl std::fmt::Debug for GroupMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let identity = self.identity.get();
        f.debug_struct("GroupMember")
            .field("group", &self.config.group_id)
            .field("member_id", &identity.member_id)
            .field("generation", &identity.generation)
            .field("assignment", &self.assignment)
            .finish_non_exhaustive()
    }
}

impl GroupMember {
    /// A member that has not joined yet; [`subscribe`](Self::subscribe) and
    /// [`poll`](Self::poll) make it join.
    pub fn new(connection: ConnectionConfig, config: GroupConfig) -> Self {
        let (signals_tx, signals) = mpsc::unbounded_channel();
        Self {
            coordinator: Coordinator::new(config.group_id.clone(), connection),
            identity: SharedIdentity::new(config.group_instance_id.clone()),
            config,
            topics: Vec::new(),
            signals_tx,
            signals,
            listener: Arc::new(NoopListener),
            assignment: BTreeSet::new(),
            protocol: None,
            rejoin_needed: true,
            fenced_instance: false,
            metadata: None,
            missing_topic_recheck: MISSING_TOPIC_RECHECK_FIRST,
            heartbeat: None,
            coordinator_retry: None,
            last_poll: LastPoll::now(),
            offsets: None,
            background: JoinSet::new(),
        }
    }

    /// Sets the rebalance callbacks.
    pub fn with_listener(mut self, listener: impl RebalanceListener + 'static) -> Self {
        self.listener = Arc::new(listener);
        self
    }

    /// Subscribes to `topics` (replacing any earlier subscription); the next poll joins or
    /// rejoins.
    pub fn subscribe<I, S>(&mut self, topics: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let topics: BTreeSet<String> = topics.into_iter().map(Into::into).collect();
        let topics: Vec<String> = topics.into_iter().collect();
        if topics != self.topics {
            self.topics = topics;
            self.rejoin_needed = true;
        }
    }

    /// The subscribed topics (empty when not subscribed).
    pub fn subscription(&self) -> Vec<String> {
        self.topics.clone()
    }

    /// The group id.
    pub fn group_id(&self) -> &str {
        &self.config.group_id
    }

    /// The member id the coordinator gave us (empty before the first join).
    pub fn member_id(&self) -> String {
        self.identity.get().member_id
    }

    /// The current generation, `None` when not in one.
    pub fn generation(&self) -> Option<i32> {
        let identity = self.identity.get();
        identity.in_generation().then_some(identity.generation)
    }

    /// The assignor the coordinator selected in the last join.
    pub fn protocol(&self) -> Option<AssignorKind> {
        self.protocol
    }

    /// The partitions currently assigned, in order.
    pub fn assignment(&self) -> Vec<TopicPartition> {
        self.assignment.iter().cloned().collect()
    }

    /// A committer bound to this member's current identity, usable from other tasks.
    pub fn committer(&self) -> OffsetCommitter {
        OffsetCommitter {
            group: self.config.group_id.clone(),
            coordinator: self.coordinator.clone(),
            identity: self.identity.clone(),
            signals: self.signals_tx.clone(),
            standalone: false,
        }
    }

    /// Keeps the membership alive and current: handles what the heartbeat reported, rejoins
    /// when needed (running the rebalance callbacks), and returns what changed. Never waits
    /// for changes; see [`poll_timeout`](Self::poll_timeout).
    ///
    /// Calling it also proves liveness: a member not polled within `max.poll.interval.ms`
    /// leaves the group, and the next poll returns [`GroupError::MaxPollIntervalExceeded`].
    pub async fn poll(&mut self) -> Result<Option<AssignmentChange>, GroupError> {
        self.poll_timeout(Duration::ZERO).await
    }

    /// Like [`poll`](Self::poll), but when nothing needs doing waits up to `wait` for the
    /// heartbeat to report a rebalance, and handles it.
    pub async fn poll_timeout(
        &mut self,
        wait: Duration,
    ) -> Result<Option<AssignmentChange>, GroupError> {
        self.last_poll.touch();
        if self.fenced_instance {
            return Err(self.fenced_instance_error());
        }
        let mut change = AssignmentChange::default();
        while let Ok(signal) = self.signals.try_recv() {
            self.handle_signal(signal, &mut change).await?;
        }
        if !self.needs_join() && !wait.is_zero() {
            if let Ok(Some(signal)) = tokio::time::timeout(wait, self.signals.recv()).await {
                self.last_poll.touch();
                self.handle_signal(signal, &mut change).await?;
            }
        }
        if !self.needs_join() {
            self.check_metadata().await;
        }
        if self.needs_join() {
            let identity = self.identity.get();
            let span = tracing::info_span!("group_rejoin", group = %self.config.group_id, member_id = %identity.member_id, generation = identity.generation);
            self.rejoin(&mut change).instrument(span).await?;
        } else if self.heartbeat.is_none() && self.generation().is_some() {
            // The coordinator moved under a valid generation: heartbeat to the new one, with
            // a backoff while it is unreachable.
            let due = self
                .coordinator_retry
                .is_none_or(|(at, _)| tokio::time::Instant::now() >= at);
            if due {
                self.start_heartbeat().await?;
            }
        }
        self.last_poll.touch();
        let changed =
            !(change.assigned.is_empty() && change.revoked.is_empty() && change.lost.is_empty());
        if changed || change.generation != 0 {
            if change.generation == 0 {
                change.generation = self.identity.get().generation;
            }
            return Ok(Some(change));
        }
        Ok(None)
    }

    /// Every `metadata.max.age` (sooner while a subscribed topic is missing): re-reads the
    /// subscribed topics' partition counts and asks for a rebalance when they changed since the
    /// last join.
    async fn check_metadata(&mut self) {
        let due = match &self.metadata {
            Some((_, at)) => tokio::time::Instant::now() >= *at,
            None => self.generation().is_some(),
        };
        if !due {
            return;
        }
        let Some(counts) = self.read_partition_counts().await else {
            return;
        };
        let next = self.next_metadata_check(&counts);
        match self.metadata.replace((counts.clone(), next)) {
            Some((before, _)) if before != counts => {
                tracing::info!(group = %self.config.group_id, ?before, now = ?counts, "subscribed topics changed; rebalancing");
                self.rejoin_needed = true;
            }
            _ => {}
        }
    }

    /// When to re-read partition counts after reading `counts`: after `metadata.max.age` when
    /// every subscribed topic is in them, after a short, growing backoff while one is not.
    fn next_metadata_check(&mut self, counts: &BTreeMap<String, i32>) -> tokio::time::Instant {
        let wait = if self.topics.iter().all(|topic| counts.contains_key(topic)) {
            self.missing_topic_recheck = MISSING_TOPIC_RECHECK_FIRST;
            self.config.metadata_max_age
        } else {
            let wait = self.missing_topic_recheck;
            self.missing_topic_recheck = (wait * 2).min(MISSING_TOPIC_RECHECK_MAX);
            wait.min(self.config.metadata_max_age)
        };
        tokio::time::Instant::now() + wait
    }

    async fn read_partition_counts(&self) -> Option<BTreeMap<String, i32>> {
        let connection = self.coordinator.connection(Lane::Offsets).await.ok()?;
        let topics = self.topics.iter().cloned().collect();
        match partition_counts(&connection, &topics).await {
            Ok(counts) => Some(counts),
            Err(error) => {
                tracing::debug!(group = %self.config.group_id, %error, "metadata refresh failed");
                None
            }
        }
    }

    fn needs_join(&self) -> bool {
        !self.topics.is_empty() && (self.rejoin_needed || self.generation().is_none())
    }

    async fn handle_signal(
        &mut self,
        signal: Signal,
        change: &mut AssignmentChange,
    ) -> Result<(), GroupError> {
        match signal {
            Signal::RejoinNeeded => self.rejoin_needed = true,
            Signal::CoordinatorLost => {
                self.coordinator.invalidate_all().await;
                if let Some(heartbeat) = self.heartbeat.take() {
                    heartbeat.stop(Duration::from_secs(1)).await;
                }
                let backoff = self
                    .coordinator_retry
                    .map_or(Duration::from_millis(100), |(_, b)| {
                        (b * 2).min(Duration::from_secs(2))
                    });
                self.coordinator_retry = Some((tokio::time::Instant::now() + backoff, backoff));
            }
            Signal::Fenced(error) => {
                self.lose_partitions(change, error != ResponseError::IllegalGeneration)
                    .await;
                if error == ResponseError::FencedInstanceId {
                    self.fenced_instance = true;
                    return Err(self.fenced_instance_error());
                }
            }
            Signal::PollIntervalExceeded => {
                self.lose_partitions(change, true).await;
                return Err(GroupError::MaxPollIntervalExceeded {
                    group: self.config.group_id.clone(),
                    interval: self.config.max_poll_interval,
                });
            }
        }
        Ok(())
    }

    fn fenced_instance_error(&self) -> GroupError {
        GroupError::FencedInstance {
            group: self.config.group_id.clone(),
            instance_id: self.config.group_instance_id.clone().unwrap_or_default(),
        }
    }

    /// The member is out of its generation: its partitions already belong to others.
    async fn lose_partitions(&mut self, change: &mut AssignmentChange, forget_member_id: bool) {
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.stop(Duration::from_secs(1)).await;
        }
        self.identity.reset(forget_member_id);
        self.rejoin_needed = true;
        let lost: Vec<TopicPartition> = std::mem::take(&mut self.assignment).into_iter().collect();
        if !lost.is_empty() {
            tracing::warn!(group = %self.config.group_id, partitions = ?lost, "partitions lost");
            self.listener.on_partitions_lost(&lost).await;
            change.lost.extend(lost);
        }
    }

    async fn rejoin(&mut self, change: &mut AssignmentChange) -> Result<(), GroupError> {
        let cooperative = self.config.is_cooperative();
        let committer = self.committer();
        // Revoke before rejoining while the generation is still valid, so the listener can
        // commit: everything under the eager protocol, only unsubscribed topics under the
        // cooperative one.
        let to_revoke: Vec<TopicPartition> = self
            .assignment
            .iter()
            .filter(|tp| !cooperative || !self.topics.contains(&tp.topic))
            .cloned()
            .collect();
        if !to_revoke.is_empty() {
            tracing::info!(group = %self.config.group_id, partitions = ?to_revoke, "revoking before rejoin");
            self.listener
                .on_partitions_revoked(&to_revoke, &committer)
                .await;
            for tp in &to_revoke {
                self.assignment.remove(tp);
            }
            change.revoked.extend(to_revoke);
        }
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.stop(Duration::from_secs(1)).await;
        }
        let owned = if cooperative {
            self.assignment()
        } else {
            Vec::new()
        };
        let joined = join_and_sync(
            &self.coordinator,
            &self.identity,
            &self.config,
            &self.topics,
            &owned,
        )
        .await
        .inspect_err(|e| {
            if matches!(e, GroupError::FencedInstance { .. }) {
                self.fenced_instance = true;
            }
        })?;
        self.protocol = Some(joined.protocol);
        if joined.generation_lost && !self.assignment.is_empty() {
            // Our old generation expired while we were away: those partitions went to others
            // without an orderly revoke.
            let lost: Vec<TopicPartition> =
                std::mem::take(&mut self.assignment).into_iter().collect();
            tracing::warn!(group = %self.config.group_id, partitions = ?lost, "generation expired before rejoin; partitions lost");
            self.listener.on_partitions_lost(&lost).await;
            change.lost.extend(lost);
        }
        let new: BTreeSet<TopicPartition> = joined
            .assignment
            .partitions
            .into_iter()
            .filter(|tp| self.topics.contains(&tp.topic))
            .collect();
        let added: Vec<TopicPartition> = new.difference(&self.assignment).cloned().collect();
        let revoked: Vec<TopicPartition> = self.assignment.difference(&new).cloned().collect();
        self.assignment = new;
        self.rejoin_needed = false;
        // Signals from the previous generation's heartbeat are stale now.
        while self.signals.try_recv().is_ok() {}
        self.heartbeat = Some(self.spawn_heartbeat(joined.coordinator_addr));
        self.coordinator_retry = None;
        // The baseline for noticing partition changes: what the leader assigned from (a topic
        // it did not see has no owner, even if a read now lists it); a follower reads its own.
        let baseline = match joined.assigned_from {
            Some(counts) => Some(
                counts
                    .into_iter()
                    .filter(|(topic, _)| self.topics.contains(topic))
                    .collect(),
            ),
            None => self.read_partition_counts().await,
        };
        self.metadata = baseline.map(|counts| {
            let next = self.next_metadata_check(&counts);
            (counts, next)
        });
        if !revoked.is_empty() {
            // Cooperative: give the moved partitions up, then rejoin so the leader can hand
            // them to their new owners (Java's follow-up rebalance).
            tracing::info!(group = %self.config.group_id, partitions = ?revoked, "revoking moved partitions");
            self.listener
                .on_partitions_revoked(&revoked, &committer)
                .await;
            change.revoked.extend(revoked);
            self.rejoin_needed = true;
        }
        tracing::info!(group = %self.config.group_id, member_id = %joined.member_id, generation = joined.generation, leader = joined.leader, assigned = ?added, "partitions assigned");
        self.listener
            .on_partitions_assigned(&added, &committer)
            .await;
        change.assigned.extend(added);
        change.generation = joined.generation;
        Ok(())
    }

    async fn start_heartbeat(&mut self) -> Result<(), GroupError> {
        let address = self.coordinator.address().await?;
        self.heartbeat = Some(self.spawn_heartbeat(address));
        Ok(())
    }

    fn spawn_heartbeat(&self, coordinator_addr: String) -> HeartbeatTask {
        HeartbeatTask::spawn(HeartbeatSettings {
            group: self.config.group_id.clone(),
            coordinator_addr,
            connection: self.coordinator.connection_config().clone(),
            identity: self.identity.clone(),
            signals: self.signals_tx.clone(),
            interval: self.config.heartbeat_interval,
            max_poll_interval: self.config.max_poll_interval,
            last_poll: self.last_poll.clone(),
        })
    }

    /// Commits `offsets` with the current generation and waits for the answer. See
    /// [`OffsetCommitter::commit`].
    pub async fn commit(
        &self,
        offsets: &BTreeMap<TopicPartition, OffsetAndMetadata>,
    ) -> Result<(), GroupError> {
        self.committer().commit(offsets).await
    }

    /// Starts a commit in the background and returns at once; await the returned
    /// [`PendingCommit`] for its result, or drop it. [`close`](Self::close) waits for commits
    /// still in flight.
    pub fn commit_async(
        &mut self,
        offsets: BTreeMap<TopicPartition, OffsetAndMetadata>,
    ) -> PendingCommit {
        while self.background.try_join_next().is_some() {}
        let (tx, rx) = oneshot::channel();
        let committer = self.committer();
        self.background.spawn(async move {
            let _ = tx.send(committer.commit(&offsets).await);
        });
        PendingCommit {
            group: self.config.group_id.clone(),
            result: rx,
        }
    }

    /// The group's committed offsets for `partitions` (`None` where nothing is committed).
    pub async fn committed(
        &self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, Option<OffsetAndMetadata>>, GroupError> {
        self.committer().committed(partitions).await
    }

    /// Where to start consuming each partition: the committed offset, or — where there is
    /// none or it is out of range — the `auto.offset.reset` position.
    pub async fn starting_offsets(
        &mut self,
        partitions: &[TopicPartition],
    ) -> Result<BTreeMap<TopicPartition, i64>, GroupError> {
        let fetcher = self
            .offsets
            .get_or_insert_with(|| {
                Fetcher::new(
                    self.coordinator.connection_config().clone(),
                    FetchSettings::default(),
                )
            })
            .clone();
        self.starting_offsets_using(partitions, &fetcher).await
    }

    /// [`starting_offsets`](Self::starting_offsets), looking the log's ends up through
    /// `fetcher` (a consumer's own: its connections and isolation level).
    pub async fn starting_offsets_using(
        &self,
        partitions: &[TopicPartition],
        fetcher: &Fetcher,
    ) -> Result<BTreeMap<TopicPartition, i64>, GroupError> {
        let committed = self.committed(partitions).await?;
        super::reset::starting_offsets(
            fetcher,
            &self.config.group_id,
            self.config.auto_offset_reset,
            committed,
        )
        .await
    }

    /// Drops the subscription and leaves the group as [`close`](Self::close) does (revoke, then
    /// LeaveGroup unless static), but keeps the member usable: a later
    /// [`subscribe`](Self::subscribe) and poll join again.
    pub async fn unsubscribe(&mut self) -> Result<AssignmentChange, GroupError> {
        let revoked = self.assignment();
        let result = self.give_up_membership("the consumer unsubscribed").await;
        self.topics.clear();
        self.rejoin_needed = true;
        self.metadata = None;
        self.identity.reset(true);
        result.map(|()| AssignmentChange {
            revoked,
            generation: -1,
            ..Default::default()
        })
    }

    /// Stops the heartbeat, revokes (or, out of generation, loses) the assignment and sends
    /// LeaveGroup for a dynamic member, each step bounded by the request timeout.
    async fn give_up_membership(&mut self, reason: &str) -> Result<(), GroupError> {
        let bound = self
            .coordinator
            .connection_config()
            .request_timeout_duration();
        if let Some(heartbeat) = self.heartbeat.take() {
            heartbeat.stop(bound).await;
        }
        let identity = self.identity.get();
        let owned = self.assignment();
        let mut result = Ok(());
        if identity.in_generation() {
            if !owned.is_empty() {
                let committer = self.committer();
                if tokio::time::timeout(
                    bound,
                    self.listener.on_partitions_revoked(&owned, &committer),
                )
                .await
                .is_err()
                {
                    tracing::warn!(group = %self.config.group_id, "on_partitions_revoked did not finish within the request timeout");
                }
            }
            if identity.instance_id.is_none() {
                let leave = async {
                    let connection = self.coordinator.connection(Lane::Membership).await?;
                    match leave_group(&connection, &self.config.group_id, &identity, reason).await {
                        // The coordinator moved since we last talked to it: ask the new one.
                        Err(GroupError::Broker { error, .. }) if coordinator_moved(error) => {
                            self.coordinator.invalidate_all().await;
                            let connection = self.coordinator.connection(Lane::Membership).await?;
                            leave_group(&connection, &self.config.group_id, &identity, reason).await
                        }
                        result => result,
                    }
                };
                result = match tokio::time::timeout(bound, leave).await {
                    Ok(r) => r,
                    Err(_) => {
                        tracing::warn!(group = %self.config.group_id, "LeaveGroup timed out");
                        Ok(())
                    }
                };
            }
        } else if !owned.is_empty() {
            self.listener.on_partitions_lost(&owned).await;
        }
        self.assignment.clear();
        result
    }

    /// Leaves the group: stops the heartbeat, runs `on_partitions_revoked` for the current
    /// assignment (so the owner can commit), sends LeaveGroup (not for static members, which
    /// keep their place for session.timeout.ms, as in Java) and waits for background commits.
    /// Every step is bounded by the request timeout, so close never hangs.
    pub async fn close(mut self) -> Result<(), GroupError> {
        let bound = self
            .coordinator
            .connection_config()
            .request_timeout_duration();
        let result = self
            .give_up_membership("the consumer is being closed")
            .await;
        self.assignment.clear();
        if tokio::time::timeout(bound, async {
            while self.background.join_next().await.is_some() {}
        })
        .await
        .is_err()
        {
            self.background.abort_all();
        }
        self.identity.reset(true);
        result
    }
}

#[cfg(test)]
#[path = "member_tests.rs"]
mod tests;
