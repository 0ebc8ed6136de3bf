//! A started application: observe it, steer its partitions, shut it down.

use std::time::Duration;

use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

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
    events: broadcast::Sender<ContainerEvent>,
    listeners: Vec<ListenerRuntime>,
    shutdown_timeout: Duration,
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
    }
}

impl RunningApp {
    pub(super) fn new(
        shutdown: CancellationToken,
        events: broadcast::Sender<ContainerEvent>,
        listeners: Vec<ListenerRuntime>,
        shutdown_timeout: Duration,
    ) -> Self {
        Self {
            shutdown,
            events,
            listeners,
            shutdown_timeout,
        }
    }

    /// Events from every listener from now on: assignments, revocations, consumer errors.
    pub fn events(&self) -> broadcast::Receiver<ContainerEvent> {
        self.events.subscribe()
    }

    /// Waits until the listener `id` has been assigned partitions, or `timeout` passes. Returns
    /// the first assignment seen. Subscribe before starting work that depends on it.
    pub async fn wait_for_assignment(
        &self,
        id: &str,
        timeout: Duration,
    ) -> Option<Vec<TopicPartition>> {
        let mut events = self.events();
        tokio::time::timeout(timeout, async {
            loop {
                match events.recv().await {
                    Ok(ContainerEvent::PartitionsAssigned {
                        listener,
                        partitions,
                    }) if listener == id => return Some(partitions),
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .await
        .ok()
        .flatten()
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
        match first_error {
            Some(error) => Err(error.into()),
            None => Ok(()),
        }
    }
}
