//! The heartbeat task: its own connection to the coordinator, so a heartbeat never queues
//! behind a long JoinGroup or commit; tells the member about rebalances and fencing; enforces
//! `max.poll.interval.ms` by leaving the group when the owner stops polling (Java semantics).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::messages::{GroupId, HeartbeatRequest};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::error::{coordinator_moved, response_error};
use super::identity::{SharedIdentity, Signal};
use super::membership::leave_group;
use crate::client::{BrokerConnection, ConnectionConfig};

/// When the owner last called into the member.
#[derive(Debug, Clone)]
pub(crate) struct LastPoll(Arc<Mutex<Instant>>);

impl LastPoll {
    pub(crate) fn now() -> Self {
        Self(Arc::new(Mutex::new(Instant::now())))
    }

    pub(crate) fn touch(&self) {
        *self.0.lock().expect("last poll lock") = Instant::now();
    }

    fn get(&self) -> Instant {
        *self.0.lock().expect("last poll lock")
    }
}

/// Everything the task needs; owned by it.
pub(crate) struct HeartbeatSettings {
    pub(crate) group: String,
    pub(crate) coordinator_addr: String,
    pub(crate) connection: ConnectionConfig,
    pub(crate) identity: SharedIdentity,
    pub(crate) signals: mpsc::UnboundedSender<Signal>,
    pub(crate) interval: Duration,
    pub(crate) max_poll_interval: Duration,
    pub(crate) last_poll: LastPoll,
}

/// A running heartbeat task, stopped and joined by [`stop`](Self::stop); dropping it aborts
/// the task.
pub(crate) struct HeartbeatTask {
    cancel: CancellationToken,
    handle: Option<JoinHandle<()>>,
}

impl HeartbeatTask {
    pub(crate) fn spawn(settings: HeartbeatSettings) -> Self {
        let cancel = CancellationToken::new();
        let handle = tokio::spawn(run(settings, cancel.clone()));
        Self {
            cancel,
            handle: Some(handle),
        }
    }

    /// Cancels the task and waits for it, at most `bound` (then aborts it).
    pub(crate) async fn stop(mut self, bound: Duration) {
        self.cancel.cancel();
        if let Some(mut handle) = self.handle.take() {
            if tokio::time::timeout(bound, &mut handle).await.is_err() {
                handle.abort();
                let _ = handle.await;
            }
        }
    }
}

impl Drop for HeartbeatTask {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.abort();
        }
    }
}

async fn run(settings: HeartbeatSettings, cancel: CancellationToken) {
    let group = settings.group.as_str();
    let connection = tokio::select! {
        _ = cancel.cancelled() => return,
        c = BrokerConnection::connect(&settings.coordinator_addr, &settings.connection) => c,
    };
    let mut connection = match connection {
        Ok(connection) => connection,
        Err(error) => {
            tracing::warn!(group, %error, "heartbeat cannot reach the coordinator");
            let _ = settings.signals.send(Signal::CoordinatorLost);
            return;
        }
    };
    let mut next_beat = Instant::now() + settings.interval;
    loop {
        let poll_deadline = settings.last_poll.get() + settings.max_poll_interval;
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep_until(next_beat.min(poll_deadline)) => {}
        }
        if !connection.is_open() {
            // Broken, or its SASL session (KIP-368) is about to expire: a fresh connection
            // authenticates anew, so the member's session with the group goes on.
            let replaced = tokio::select! {
                _ = cancel.cancelled() => return,
                c = BrokerConnection::connect(&settings.coordinator_addr, &settings.connection) => c,
            };
            match replaced {
                Ok(replaced) => {
                    tracing::debug!(group, coordinator = %settings.coordinator_addr, "heartbeat connection replaced");
                    connection = replaced;
                }
                Err(error) => {
                    tracing::warn!(group, %error, "heartbeat cannot reconnect to the coordinator");
                    let _ = settings.signals.send(Signal::CoordinatorLost);
                    return;
                }
            }
        }
        let identity = settings.identity.get();
        if Instant::now() >= settings.last_poll.get() + settings.max_poll_interval {
            tracing::warn!(group, member_id = %identity.member_id, generation = identity.generation, max_poll_interval = ?settings.max_poll_interval, "owner did not poll within max.poll.interval.ms; leaving the group");
            // A static member keeps its place until the session times out, as in Java.
            if identity.instance_id.is_none() && identity.in_generation() {
                if let Err(error) = leave_group(
                    &connection,
                    group,
                    &identity,
                    "consumer poll timeout has expired",
                )
                .await
                {
                    tracing::debug!(group, %error, "LeaveGroup after poll timeout failed");
                }
            }
            // Out of the group from now on, as Java resets its generation here: a commit the
            // stuck owner attempts when it finally returns must fail, not land as a
            // generation-less commit on a group that is now empty.
            settings.identity.reset(true);
            let _ = settings.signals.send(Signal::PollIntervalExceeded);
            return;
        }
        if Instant::now() < next_beat {
            continue;
        }
        next_beat = Instant::now() + settings.interval;
        if !identity.in_generation() {
            return;
        }
        let request = HeartbeatRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(group.to_owned())))
            .with_generation_id(identity.generation)
            .with_member_id(StrBytes::from_string(identity.member_id.clone()))
            .with_group_instance_id(identity.instance_id.clone().map(StrBytes::from_string));
        let response = tokio::select! {
            _ = cancel.cancelled() => return,
            r = connection.send(request) => r,
        };
        let code = match response {
            Ok(response) => response.error_code,
            Err(error) => {
                tracing::warn!(group, %error, "heartbeat failed; coordinator connection lost");
                let _ = settings.signals.send(Signal::CoordinatorLost);
                return;
            }
        };
        match response_error(code) {
            None => {
                tracing::trace!(group, member_id = %identity.member_id, generation = identity.generation, "heartbeat ok")
            }
            Some(ResponseError::RebalanceInProgress) => {
                tracing::info!(group, member_id = %identity.member_id, generation = identity.generation, "group is rebalancing; member must rejoin");
                let _ = settings.signals.send(Signal::RejoinNeeded);
                // Keep heartbeating: the session stays alive while the owner revokes.
            }
            Some(
                e @ (ResponseError::UnknownMemberId
                | ResponseError::IllegalGeneration
                | ResponseError::FencedInstanceId),
            ) => {
                tracing::warn!(group, member_id = %identity.member_id, generation = identity.generation, error = %e, "member fenced by the coordinator; partitions lost");
                let _ = settings.signals.send(Signal::Fenced(e));
                return;
            }
            Some(e) if coordinator_moved(e) => {
                tracing::info!(group, error = %e, "coordinator moved");
                let _ = settings.signals.send(Signal::CoordinatorLost);
                return;
            }
            Some(e) => tracing::warn!(group, error = %e, "heartbeat error"),
        }
    }
}
