//! The member's side of a partition worker: its handle (pause, resume, seek, stop), how it
//! ended, the partition's identity, and the dispatch a worker hands records to.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::super::ack_events::AckEvents;
use super::settings::{HandlerClock, SeekTo};
use crate::record::ConsumerRecord;

/// How a worker ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerStopped {
    /// The committed position when it stopped.
    pub committed: i64,
    /// `true` if the in-flight handler did not finish within the drain timeout.
    pub drain_timed_out: bool,
}

/// What the member asks of a running worker.
pub(super) enum Control {
    Pause,
    Resume,
    Seek(SeekTo),
    /// Hold (`true`) or release: a held worker fetches nothing and starts no record, whatever
    /// its pause state — for a member whose handler overran max.poll.interval.ms.
    Hold(bool),
    /// Stop, draining the units in flight for at most the given time (the settings' drain
    /// timeout when `None`, and never longer than it).
    Stop(oneshot::Sender<WorkerStopped>, Option<Duration>),
}

/// The member's handle on a running partition worker.
#[derive(Debug)]
pub struct WorkerHandle {
    pub(super) control: mpsc::UnboundedSender<Control>,
    pub(super) task: JoinHandle<()>,
    pub(super) clock: HandlerClock,
}

impl WorkerHandle {
    /// How long the oldest in-flight handler has been running, `None` when idle.
    pub fn handler_busy_for(&self) -> Option<Duration> {
        self.clock.busy_for()
    }

    /// Stops fetching; the in-flight record completes.
    pub fn pause(&self) {
        let _ = self.control.send(Control::Pause);
    }

    /// Fetches again after [`pause`](Self::pause).
    pub fn resume(&self) {
        let _ = self.control.send(Control::Resume);
    }

    /// Stops fetching and handing out records until [`release`](Self::release), independently
    /// of [`pause`](Self::pause): the member holds every worker once a handler overran
    /// `max.poll.interval.ms`, so none handles records the group is about to reassign.
    pub fn hold(&self) {
        let _ = self.control.send(Control::Hold(true));
    }

    /// Ends a [`hold`](Self::hold).
    pub fn release(&self) {
        let _ = self.control.send(Control::Hold(false));
    }

    /// Moves the position; records fetched but not dispatched are dropped.
    pub fn seek(&self, target: SeekTo) {
        let _ = self.control.send(Control::Seek(target));
    }

    /// Ends the worker at once, committing nothing: for partitions lost to a fenced member,
    /// which already belong to another consumer.
    pub fn abort(self) {
        self.task.abort();
    }

    /// Stops dispatching, drains the in-flight handler (bounded), commits what is acknowledged
    /// and ends the worker. Returns `None` if the worker had already ended.
    pub async fn stop(self) -> Option<WorkerStopped> {
        self.stop_draining_at_most(None).await
    }

    /// [`stop`](Self::stop), draining for at most `drain` (bounded by the drain timeout too):
    /// a revocation must end before the group's rebalance timeout, or the partition goes to
    /// another member while a handler here still runs.
    pub async fn stop_draining_at_most(self, drain: Option<Duration>) -> Option<WorkerStopped> {
        let (reply, stopped) = oneshot::channel();
        let _ = self.control.send(Control::Stop(reply, drain));
        let result = stopped.await.ok();
        let _ = self.task.await;
        result
    }
}

/// Identity of the partition and its listener, for commits, dead letters and tracing.
#[derive(Debug, Clone)]
pub struct PartitionIdentity {
    /// Topic.
    pub topic: Arc<str>,
    /// Partition.
    pub partition: i32,
    /// The consumer group, if any.
    pub group_id: Option<Arc<str>>,
    /// The listener's id.
    pub listener_id: Arc<str>,
    /// Where the partition reports what happens to it (out-of-range resets, corrupt batches, a
    /// deleted topic); `None` when nobody listens.
    pub events: Option<tokio::sync::broadcast::Sender<super::super::events::ContainerEvent>>,
}

impl PartitionIdentity {
    /// Reports `event`; nobody listening is fine.
    pub fn emit(&self, event: super::super::events::ContainerEvent) {
        if let Some(events) = &self.events {
            let _ = events.send(event);
        }
    }

    /// This partition as a [`TopicPartition`](crate::group::TopicPartition).
    pub fn topic_partition(&self) -> crate::group::TopicPartition {
        crate::group::TopicPartition::new(self.topic.as_ref(), self.partition)
    }
}

/// A batch listener's dispatch: one poll's records of the partition in, the outcome out.
pub type BatchDispatch<F> = Arc<
    dyn Fn(
            Vec<ConsumerRecord>,
            AckEvents,
        ) -> futures_util::future::BoxFuture<'static, Result<(), F>>
        + Send
        + Sync,
>;

/// How a listener's records reach its handler: one at a time (`D`), or a batch per poll.
pub enum ListenerDispatch<D, F> {
    /// A record listener's dispatch.
    Records(D),
    /// A batch listener's dispatch (`batch = true`).
    Batches(BatchDispatch<F>),
}

impl<D: Clone, F> Clone for ListenerDispatch<D, F> {
    fn clone(&self) -> Self {
        match self {
            Self::Records(dispatch) => Self::Records(dispatch.clone()),
            Self::Batches(dispatch) => Self::Batches(Arc::clone(dispatch)),
        }
    }
}
