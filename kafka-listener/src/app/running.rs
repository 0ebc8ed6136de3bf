//! A started application: observe it, steer its partitions, shut it down.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::container::{ContainerEvent, MemberControl, SeekTo};
use crate::group::{GroupError, TopicPartition};
use crate::result::Result;

/// One listener's running consumers.
pub(super) struct ListenerRuntime {
    id: String,
    members: Vec<JoinHandle<Result<(), GroupError>>>,
    controls: Vec<MemberControl>,
}

impl ListenerRuntime {
    pub(super) fn new(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            members: Vec::new(),
            controls: Vec::new(),
        }
    }

    pub(super) fn add_member(
        &mut self,
        task: JoinHandle<Result<(), GroupError>>,
        control: Option<MemberControl>,
    ) {
        self.members.push(task);
        self.controls.extend(control);
    }
}

/// The running listeners of an [`App`](super::App). Call [`shutdown`](Self::shutdown) to stop
/// them gracefully; dropping it stops them without waiting (nothing hangs on drop).
pub struct RunningApp {
    shutdown: CancellationToken,
    /// Every task the listeners started; shutdown waits for all of them.
    tasks: TaskTracker,
    events: broadcast::Sender<ContainerEvent>,
    listeners: Vec<ListenerRuntime>,
    shutdown_timeout: Duration,
    assignments: Arc<Assignments>,
    tracker: JoinHandle<()>,
}

/// The partitions each listener holds now, kept from the events so callers that look after an
/// assignment happened still see it.
#[derive(Default)]
struct Assignments {
    by_listener: Mutex<HashMap<String, BTreeSet<TopicPartition>>>,
    changed: tokio::sync::Notify,
}

impl Assignments {
    fn apply(&self, event: &ContainerEvent) {
        let mut by_listener = self.by_listener.lock().expect("assignments lock");
        match event {
            ContainerEvent::PartitionsAssigned {
                listener,
                partitions,
            } => by_listener
                .entry(listener.clone())
                .or_default()
                .extend(partitions.iter().cloned()),
            ContainerEvent::PartitionsRevoked {
                listener,
                partitions,
            }
            | ContainerEvent::PartitionsLost {
                listener,
                partitions,
            } => {
                if let Some(held) = by_listener.get_mut(listener) {
                    for tp in partitions {
                        held.remove(tp);
                    }
                }
            }
            _ => return,
        }
        drop(by_listener);
        self.changed.notify_waiters();
    }

    fn of(&self, listener: &str) -> Vec<TopicPartition> {
        self.by_listener
            .lock()
            .expect("assignments lock")
            .get(listener)
            .map(|held| held.iter().cloned().collect())
            .unwrap_or_default()
    }
}

impl std::fmt::Debug for RunningApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningApp")
            .field(
                "listeners",
                &self.listeners.iter().map(|l| &l.id).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.tracker.abort();
    }
}

impl RunningApp {
    /// `events_from_start` must have been subscribed before any consumer started, so no
    /// assignment is missed.
    pub(super) fn new(
        shutdown: CancellationToken,
        tasks: TaskTracker,
        events: broadcast::Sender<ContainerEvent>,
        mut events_from_start: broadcast::Receiver<ContainerEvent>,
        listeners: Vec<ListenerRuntime>,
        shutdown_timeout: Duration,
    ) -> Self {
        let assignments = Arc::new(Assignments::default());
        let tracked = Arc::clone(&assignments);
        let tracker = tokio::spawn(async move {
            loop {
                match events_from_start.recv().await {
                    Ok(event) => tracked.apply(&event),
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "assignment tracking lagged behind events")
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        Self {
            shutdown,
            tasks,
            events,
            listeners,
            shutdown_timeout,
            assignments,
            tracker,
        }
    }

    /// The partitions listener `id`'s consumers hold now.
    pub fn assignment(&self, id: &str) -> Vec<TopicPartition> {
        self.assignments.of(id)
    }

    /// Events from every listener from now on: assignments, revocations, consumer errors.
    pub fn events(&self) -> broadcast::Receiver<ContainerEvent> {
        self.events.subscribe()
    }

    /// Waits until listener `id` holds partitions, or `timeout` passes; returns them.
    pub async fn wait_for_assignment(
        &self,
        id: &str,
        timeout: Duration,
    ) -> Option<Vec<TopicPartition>> {
        tokio::time::timeout(timeout, async {
            loop {
                let changed = self.assignments.changed.notified();
                let held = self.assignments.of(id);
                if !held.is_empty() {
                    return held;
                }
                changed.await;
            }
        })
        .await
        .ok()
    }

    /// Pauses a partition of listener `id` (kept across rebalances while its consumer keeps it).
    pub fn pause(&self, id: &str, tp: &TopicPartition) {
        self.controls(id).for_each(|c| c.pause(tp));
    }

    /// Resumes a paused partition of listener `id`.
    pub fn resume(&self, id: &str, tp: &TopicPartition) {
        self.controls(id).for_each(|c| c.resume(tp));
    }

    /// Moves a partition's position for listener `id`.
    pub fn seek(&self, id: &str, tp: &TopicPartition, target: SeekTo) {
        self.controls(id).for_each(|c| c.seek(tp, target));
    }

    /// The lag of every partition listener `id`'s consumers hold, from each partition's last
    /// fetch response (high watermark, last stable offset, position).
    pub fn lag(&self, id: &str) -> Vec<crate::client::fetch::PartitionLag> {
        self.controls(id).flat_map(MemberControl::lag).collect()
    }

    fn controls<'a>(&'a self, id: &'a str) -> impl Iterator<Item = &'a MemberControl> + 'a {
        self.listeners
            .iter()
            .filter(move |l| l.id == id)
            .flat_map(|l| l.controls.iter())
    }

    /// Stops fetching, lets in-flight handlers finish (up to the shutdown timeout), commits what
    /// they acknowledged and leaves the groups. Returns the first consumer error, if any.
    pub async fn shutdown(mut self) -> Result<()> {
        self.shutdown.cancel();
        // Draining, the final commits and LeaveGroup each have their own bounds; this one
        // guards the whole.
        let bound = self.shutdown_timeout + Duration::from_secs(30);
        let mut first_error = None;
        for listener in std::mem::take(&mut self.listeners) {
            for mut member in listener.members {
                match tokio::time::timeout(bound, &mut member).await {
                    Ok(Ok(Ok(()))) => {}
                    Ok(Ok(Err(error))) => {
                        tracing::warn!(listener = %listener.id, %error, "consumer closed with an error");
                        first_error.get_or_insert(error);
                    }
                    Ok(Err(join_error)) => {
                        tracing::error!(listener = %listener.id, %join_error, "consumer task failed")
                    }
                    Err(_) => {
                        tracing::error!(listener = %listener.id, "consumer did not stop in time; aborted");
                        member.abort();
                    }
                }
            }
        }
        // Members are done; what they started (workers, fetches, final commits) ends with them.
        self.tasks.close();
        if tokio::time::timeout(Duration::from_secs(5), self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                running = self.tasks.len(),
                "listener tasks still running after their consumers closed"
            );
        }
        self.tracker.abort();
        match first_error {
            Some(error) => Err(error.into()),
            None => Ok(()),
        }
    }
}
