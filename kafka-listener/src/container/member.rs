//! One consumer of a listener: a group member whose assigned partitions each get a
//! [partition worker](super::spawn_partition_worker).
//!
//! The member's rebalance callbacks are where Spring users' records get lost or duplicated, so
//! the order is fixed here: on revoke, each revoked partition's worker stops dispatching, drains
//! its in-flight handler (bounded) and commits what is acknowledged — all before the member
//! rejoins, while its generation still accepts commits. On lost partitions (the member was
//! fenced) workers stop without committing: the partitions already belong to someone else.
//! Pause state belongs to the member, not the worker, so it survives rebalances for partitions
//! that stay (Spring's #2222).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::ack_events::AckEvents;
use super::events::ContainerEvent;
use super::subscription::Subscription;
use super::worker::{
    spawn_worker_in, ListenerDispatch, PartitionCommitter, PartitionIdentity, SeekTo, WorkerHandle,
    WorkerSettings,
};
use crate::client::fetch::{FetchSettings, Fetcher, PartitionLag};
use crate::client::ConnectionConfig;
use crate::error::{DeliveryFailure, ErrorHandler};
use crate::group::{
    BoxFuture, GroupError, GroupMember, OffsetAndMetadata, OffsetCommitter, RebalanceListener,
    TopicPartition,
};
use crate::record::ConsumerRecord;

impl PartitionCommitter for OffsetCommitter {
    async fn commit(&self, topic: &str, partition: i32, position: i64) -> Result<(), String> {
        let offsets = BTreeMap::from([(
            TopicPartition::new(topic, partition),
            OffsetAndMetadata::new(position),
        )]);
        OffsetCommitter::commit(self, &offsets)
            .await
            .map_err(|e| e.to_string())
    }
}

/// What a member needs to run its partitions.
#[derive(Clone)]
pub struct MemberSettings {
    /// The listener's id, for tracing and dead letters.
    pub listener_id: Arc<str>,
    /// Per-partition settings.
    pub worker: WorkerSettings,
    /// Fetch sizes.
    pub fetch: FetchSettings,
    /// How long one group poll waits for rebalance news (`spring.kafka.listener.poll-timeout`).
    pub poll_timeout: Duration,
    /// What happens to failed records.
    pub error_handler: ErrorHandler,
    /// `max.poll.interval.ms`: a handler running longer makes the member stop polling, so the
    /// group evicts it (Java's semantics) and an error event is raised.
    pub max_poll_interval: Duration,
}

impl std::fmt::Debug for MemberSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberSettings")
            .field("listener_id", &self.listener_id)
            .field("worker", &self.worker)
            .field("fetch", &self.fetch)
            .field("poll_timeout", &self.poll_timeout)
            .finish_non_exhaustive()
    }
}

/// The partitions of one member and how to run them. Shared by the member loop and the
/// rebalance callbacks.
pub(super) struct Partitions<D, F> {
    /// The group, empty for manually assigned partitions without one.
    pub(super) group_id: Arc<str>,
    pub(super) events: tokio::sync::broadcast::Sender<ContainerEvent>,
    pub(super) settings: MemberSettings,
    pub(super) data_plane: Arc<rskafka::client::Client>,
    /// The member's fetcher: one connection per broker for all its partitions.
    pub(super) fetcher: Fetcher,
    pub(super) dispatch: ListenerDispatch<D, F>,
    pub(super) workers: Mutex<HashMap<TopicPartition, WorkerHandle>>,
    pub(super) paused: Mutex<HashSet<TopicPartition>>,
    /// The app's tasks: every worker and what it spawns is owned there.
    pub(super) tasks: TaskTracker,
}

impl<D, Fut, F> Partitions<D, F>
where
    D: Fn(ConsumerRecord, AckEvents) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), F>> + Send + 'static,
    F: DeliveryFailure,
{
    /// No partitions yet; `control` gets the handle that pauses, resumes and seeks them.
    pub(super) fn new(
        group_id: &str,
        settings: &MemberSettings,
        dispatch: ListenerDispatch<D, F>,
        environment: MemberEnvironment,
        control: tokio::sync::oneshot::Sender<MemberControl>,
    ) -> Arc<Self> {
        let partitions = Arc::new(Self {
            group_id: group_id.into(),
            events: environment.events,
            settings: settings.clone(),
            data_plane: environment.data_plane,
            fetcher: Fetcher::new(environment.connection, settings.fetch),
            dispatch,
            workers: Mutex::new(HashMap::new()),
            paused: Mutex::new(HashSet::new()),
            tasks: environment.tasks,
        });
        let _ = control.send(MemberControl(partitions.clone()));
        partitions
    }

    pub(super) async fn start<C: PartitionCommitter>(
        &self,
        tp: TopicPartition,
        position: i64,
        committer: C,
    ) {
        let identity = PartitionIdentity {
            topic: tp.topic.as_str().into(),
            partition: tp.partition,
            group_id: (!self.group_id.is_empty()).then(|| Arc::clone(&self.group_id)),
            listener_id: Arc::clone(&self.settings.listener_id),
            events: Some(self.events.clone()),
        };
        let worker = spawn_worker_in(
            &self.tasks,
            identity,
            position,
            self.settings.worker,
            self.fetcher.partition(tp.topic.as_str(), tp.partition),
            Arc::new(committer),
            self.settings.error_handler.clone(),
            self.dispatch.clone(),
        );
        // Hold the workers lock while reading the pause state so a concurrent pause() either
        // sees this worker or is seen by it.
        let mut workers = self.workers.lock().expect("workers lock");
        if self.paused.lock().expect("paused lock").contains(&tp) {
            worker.pause();
        }
        tracing::info!(group = %self.group_id, topic = %tp.topic, partition = tp.partition, position, "partition started");
        workers.insert(tp, worker);
    }

    /// Stops the workers of `partitions`, each draining and committing, concurrently.
    pub(super) async fn stop(&self, partitions: &[TopicPartition]) {
        let handles: Vec<_> = {
            let mut workers = self.workers.lock().expect("workers lock");
            partitions
                .iter()
                .filter_map(|tp| {
                    self.fetcher.forget_lag(tp.topic.as_str(), tp.partition);
                    workers.remove(tp)
                })
                .collect()
        };
        // The group gives a revoking member max.poll.interval.ms (the rebalance timeout) to
        // rejoin, counted from the rebalance's start; a drain that outlasted it would leave a
        // handler running here after the partition went to another member. Half of it leaves
        // room for noticing the rebalance and for the commits.
        let drain = Some(self.settings.max_poll_interval / 2);
        let mut stops: tokio::task::JoinSet<_> = handles
            .into_iter()
            .map(|worker| worker.stop_draining_at_most(drain))
            .collect();
        // Each worker drains and commits on its own, concurrently; wait for every one.
        while let Some(stopped) = stops.join_next().await {
            if let Ok(Some(stopped)) = stopped {
                if stopped.drain_timed_out {
                    tracing::warn!(group = %self.group_id, committed = stopped.committed, "a handler outlived the drain timeout; its record will be delivered again");
                }
            }
        }
    }

    /// The longest-running in-flight handler's run time.
    fn longest_handler(&self) -> Option<Duration> {
        self.workers
            .lock()
            .expect("workers lock")
            .values()
            .filter_map(WorkerHandle::handler_busy_for)
            .max()
    }

    /// Holds (`true`) or releases every worker: while a handler overran max.poll.interval.ms
    /// the member is about to leave the group, and its other partitions must not hand out
    /// records that the group is reassigning to another member.
    fn hold_all(&self, hold: bool) {
        for worker in self.workers.lock().expect("workers lock").values() {
            if hold {
                worker.hold();
            } else {
                worker.release();
            }
        }
    }

    /// Stops, without a commit, every worker whose oldest handler has run longer than
    /// `limit`; returns their partitions (lost to this member).
    fn abort_overrunning(&self, limit: Duration) -> Vec<TopicPartition> {
        let mut workers = self.workers.lock().expect("workers lock");
        let overrunning: Vec<TopicPartition> = workers
            .iter()
            .filter(|(_, worker)| worker.handler_busy_for().is_some_and(|busy| busy > limit))
            .map(|(tp, _)| tp.clone())
            .collect();
        for tp in &overrunning {
            self.fetcher.forget_lag(tp.topic.as_str(), tp.partition);
            if let Some(worker) = workers.remove(tp) {
                worker.abort();
            }
        }
        drop(workers);
        if !overrunning.is_empty() {
            self.emit(ContainerEvent::PartitionsLost {
                listener: self.settings.listener_id.to_string(),
                partitions: overrunning.clone(),
            });
        }
        overrunning
    }

    pub(super) fn emit(&self, event: ContainerEvent) {
        // No subscriber is fine: events are for whoever wants them.
        let _ = self.events.send(event);
    }

    fn abort(&self, partitions: &[TopicPartition]) {
        let mut workers = self.workers.lock().expect("workers lock");
        for tp in partitions {
            if let Some(worker) = workers.remove(tp) {
                worker.abort();
            }
        }
    }
}

struct Rebalance<D, F>(Arc<Partitions<D, F>>);

impl<D, Fut, F> RebalanceListener for Rebalance<D, F>
where
    D: Fn(ConsumerRecord, AckEvents) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<(), F>> + Send + 'static,
    F: DeliveryFailure,
{
    fn on_partitions_revoked<'a>(
        &'a self,
        partitions: &'a [TopicPartition],
        _committer: &'a OffsetCommitter,
    ) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            tracing::info!(group = %self.0.group_id, ?partitions, "partitions revoked: draining and committing");
            self.0.stop(partitions).await;
            self.0.emit(ContainerEvent::PartitionsRevoked {
                listener: self.0.settings.listener_id.to_string(),
                partitions: partitions.to_vec(),
            });
        })
    }

    fn on_partitions_lost<'a>(&'a self, partitions: &'a [TopicPartition]) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            tracing::warn!(group = %self.0.group_id, ?partitions, "partitions lost: stopping without commit");
            self.0.abort(partitions);
            self.0.emit(ContainerEvent::PartitionsLost {
                listener: self.0.settings.listener_id.to_string(),
                partitions: partitions.to_vec(),
            });
        })
    }
}

/// Steering of a member's partitions, implemented by its partition set.
pub(super) trait Steer: Send + Sync {
    fn set_paused(&self, tp: &TopicPartition, paused: bool);
    fn seek(&self, tp: &TopicPartition, target: SeekTo);
    fn lag(&self) -> Vec<PartitionLag>;
}

impl<D: Send + Sync + 'static, F: 'static> Steer for Partitions<D, F> {
    fn set_paused(&self, tp: &TopicPartition, pause: bool) {
        // Same lock order as `start`: workers, then paused.
        let workers = self.workers.lock().expect("workers lock");
        let mut paused = self.paused.lock().expect("paused lock");
        if pause {
            paused.insert(tp.clone());
        } else {
            paused.remove(tp);
        }
        if let Some(worker) = workers.get(tp) {
            if pause {
                worker.pause()
            } else {
                worker.resume()
            }
        }
    }

    fn seek(&self, tp: &TopicPartition, target: SeekTo) {
        if let Some(worker) = self.workers.lock().expect("workers lock").get(tp) {
            worker.seek(target);
        }
    }

    fn lag(&self) -> Vec<PartitionLag> {
        let mut held: Vec<TopicPartition> = self
            .workers
            .lock()
            .expect("workers lock")
            .keys()
            .cloned()
            .collect();
        held.sort();
        held.iter()
            .filter_map(|tp| self.fetcher.lag(tp.topic.as_str(), tp.partition))
            .collect()
    }
}

/// A control handle on a running member: pause, resume and seek per partition.
#[derive(Clone)]
pub struct MemberControl(pub(super) Arc<dyn Steer>);

impl std::fmt::Debug for MemberControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemberControl").finish_non_exhaustive()
    }
}

impl MemberControl {
    /// Stops fetching `tp`; stays paused across rebalances while the member keeps it.
    pub fn pause(&self, tp: &TopicPartition) {
        self.0.set_paused(tp, true)
    }

    /// Resumes `tp`.
    pub fn resume(&self, tp: &TopicPartition) {
        self.0.set_paused(tp, false)
    }

    /// Moves `tp`'s position.
    pub fn seek(&self, tp: &TopicPartition, target: SeekTo) {
        self.0.seek(tp, target)
    }

    /// The lag of every partition the member holds, as of each one's last fetch.
    pub fn lag(&self) -> Vec<PartitionLag> {
        self.0.lag()
    }
}

/// What a member shares with the rest of the application.
#[derive(Debug, Clone)]
pub struct MemberEnvironment {
    /// rskafka's client, for topic listings and starting offsets.
    pub data_plane: Arc<rskafka::client::Client>,
    /// How the member's fetcher reaches the brokers (client id, timeouts, security).
    pub connection: ConnectionConfig,
    /// Cancelled to shut the member down.
    pub shutdown: CancellationToken,
    /// Where assignment changes and errors are reported.
    pub events: tokio::sync::broadcast::Sender<ContainerEvent>,
    /// Owns every task the member starts (workers, their fetches and commits), so shutdown
    /// can wait for all of them and nothing runs on detached.
    pub tasks: TaskTracker,
}

/// Runs one group member until `shutdown` is cancelled, then closes it: every worker drains
/// and commits, and the member leaves the group.
pub async fn run_member<D, Fut, F>(
    member: GroupMember,
    subscription: Subscription,
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
    let partitions = Partitions::new(member.group_id(), &settings, dispatch, environment, control);
    let mut member = member.with_listener(Rebalance(Arc::clone(&partitions)));
    let pattern = match subscription {
        Subscription::Topics(topics) => {
            member.subscribe(topics);
            None
        }
        Subscription::Pattern(pattern) => Some(pattern),
    };
    let mut next_match = tokio::time::Instant::now();
    let poll_wait = settings
        .poll_timeout
        .clamp(Duration::from_millis(10), Duration::from_millis(500));
    let mut unstarted = Unstarted::default();
    while !shutdown.is_cancelled() {
        let match_due = tokio::time::Instant::now() >= next_match;
        if let Some(pattern) = pattern.as_ref().filter(|_| match_due) {
            // A new matching topic changes the subscription, and so makes the member rejoin.
            match pattern.matching_topics(&partitions.data_plane).await {
                Ok(topics) => member.subscribe(topics),
                Err(error) => {
                    tracing::warn!(group = %partitions.group_id, %error, "cannot list topics for the pattern subscription; keeping the current topics")
                }
            }
            next_match = tokio::time::Instant::now() + pattern.refresh();
        }
        let stuck = partitions
            .longest_handler()
            .filter(|busy| *busy > settings.max_poll_interval);
        if let Some(busy) = stuck {
            // Java's consumer leaves the group once max.poll.interval.ms passes without a poll,
            // and its stuck record goes to another member while the old handler still runs.
            // Here the member stops the overrunning handlers first, then leaves: no record is
            // ever in two members' handlers at once.
            partitions.hold_all(true);
            let stopped = partitions.abort_overrunning(settings.max_poll_interval);
            tracing::error!(group = %partitions.group_id, busy_ms = busy.as_millis() as u64, ?stopped, "a handler exceeded max.poll.interval.ms: it was stopped uncommitted and the member leaves the group");
            partitions.emit(ContainerEvent::ConsumerError {
                listener: settings.listener_id.to_string(),
                message: format!(
                    "a handler has run for {busy:?}, longer than max.poll.interval.ms ({:?}): it was stopped, its record stays uncommitted, and the consumer left the group so its partitions are reassigned",
                    settings.max_poll_interval
                ),
                poll_interval_exceeded: true,
            });
            let topics = member.subscription();
            // Revokes (drains and commits) the other partitions, then LeaveGroup.
            if let Err(error) = member.unsubscribe().await {
                tracing::warn!(group = %partitions.group_id, %error, "leaving the group after a handler overran max.poll.interval.ms failed");
            }
            unstarted = Unstarted::default();
            member.subscribe(topics);
            continue;
        }
        let change = match member.poll_timeout(poll_wait).await {
            Ok(change) => change,
            Err(error) => {
                let poll_interval_exceeded =
                    matches!(error, GroupError::MaxPollIntervalExceeded { .. });
                tracing::warn!(group = %partitions.group_id, %error, "group poll failed; rejoining");
                partitions.emit(ContainerEvent::ConsumerError {
                    listener: settings.listener_id.to_string(),
                    message: error.to_string(),
                    poll_interval_exceeded,
                });
                if poll_interval_exceeded {
                    continue;
                }
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(500)) => continue,
                }
            }
        };
        let to_start = match change {
            Some(change) => {
                // Partitions given up or lost are no longer waiting for a start.
                unstarted.forget(&change.revoked);
                unstarted.forget(&change.lost);
                unstarted.add(change.assigned);
                unstarted.take_all()
            }
            None => unstarted.take_due(),
        };
        if to_start.is_empty() {
            continue;
        }
        match member
            .starting_offsets_using(&to_start, &partitions.fetcher)
            .await
        {
            Ok(positions) => {
                let committer = member.committer();
                for (tp, position) in positions {
                    partitions.start(tp, position, committer.clone()).await;
                }
                unstarted.started();
                partitions.emit(ContainerEvent::PartitionsAssigned {
                    listener: settings.listener_id.to_string(),
                    partitions: to_start,
                });
            }
            Err(error) => {
                // Without a starting position nothing may be consumed (a coordinator that does
                // not answer, auto.offset.reset=none with no committed offset): report it and
                // try again with back-off while the member keeps these partitions.
                let retry_in = unstarted.failed(to_start);
                tracing::error!(group = %partitions.group_id, %error, retry_in_ms = retry_in.as_millis() as u64, "cannot resolve starting offsets; retrying");
                partitions.emit(ContainerEvent::ConsumerError {
                    listener: settings.listener_id.to_string(),
                    message: error.to_string(),
                    poll_interval_exceeded: false,
                });
            }
        }
    }
    member.close().await
}

/// Assigned partitions whose worker could not start yet (their starting offsets could not be
/// resolved), retried with back-off from 1 s doubling to 30 s while the member keeps them.
#[derive(Default)]
struct Unstarted {
    partitions: Vec<TopicPartition>,
    failures: u32,
    retry_at: Option<tokio::time::Instant>,
}

impl Unstarted {
    fn add(&mut self, partitions: Vec<TopicPartition>) {
        for tp in partitions {
            if !self.partitions.contains(&tp) {
                self.partitions.push(tp);
            }
        }
    }

    fn forget(&mut self, partitions: &[TopicPartition]) {
        self.partitions.retain(|tp| !partitions.contains(tp));
    }

    /// Every waiting partition, now (an assignment changed).
    fn take_all(&mut self) -> Vec<TopicPartition> {
        std::mem::take(&mut self.partitions)
    }

    /// The waiting partitions once their retry is due.
    fn take_due(&mut self) -> Vec<TopicPartition> {
        match self.retry_at {
            Some(at) if tokio::time::Instant::now() >= at => self.take_all(),
            _ => Vec::new(),
        }
    }

    fn started(&mut self) {
        self.failures = 0;
        self.retry_at = None;
    }

    /// `partitions` could not start: they wait for the next retry, which is returned.
    fn failed(&mut self, partitions: Vec<TopicPartition>) -> Duration {
        self.add(partitions);
        self.failures += 1;
        let wait = (Duration::from_secs(1) * 2u32.pow(self.failures.min(6) - 1))
            .min(Duration::from_secs(30));
        self.retry_at = Some(tokio::time::Instant::now() + wait);
        wait
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn partitions_whose_start_failed_are_retried_with_back_off_until_revoked() {
        let (a, b) = (TopicPartition::new("t", 0), TopicPartition::new("t", 1));
        let mut unstarted = Unstarted::default();
        let waits: Vec<u64> = (0..7)
            .map(|_| unstarted.failed(vec![a.clone()]).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 30, 30]);
        assert!(unstarted.take_due().is_empty(), "not due yet");
        tokio::time::advance(Duration::from_secs(30)).await;
        unstarted.add(vec![b.clone()]);
        unstarted.forget(std::slice::from_ref(&b));
        assert_eq!(unstarted.take_due(), [a]);
        unstarted.started();
        assert!(unstarted.take_due().is_empty());
    }
}
