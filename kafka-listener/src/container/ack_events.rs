//! The channel from a record's acknowledgment handle back to its partition worker.
//!
//! Handlers may acknowledge from any task, after any delay, even after the partition was
//! revoked. They never touch the offset tracker: they send an event, and the worker — the only
//! owner of the tracker — applies it. Each assignment of a partition gets a new channel, so a
//! handle from an earlier assignment can never move the new one's commits.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

/// One acknowledgment from a handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckEvent {
    /// The record at this offset is handled.
    Ack {
        /// Offset of the record.
        offset: i64,
    },
    /// Redeliver from this offset after `sleep` (Spring's `nack(Duration)`).
    Nack {
        /// Offset of the record.
        offset: i64,
        /// Wait before redelivery.
        sleep: Duration,
    },
}

/// The sending side, handed to every record's acknowledgment handle. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AckEvents {
    sender: mpsc::UnboundedSender<AckEvent>,
    /// Nacks not yet taken by the delivery they belong to: a handler that nacks and then
    /// returns (even an error) has its record redelivered after the sleep, not retried, and the
    /// delivery must see that the moment the handler returns, before the event is read.
    nacks: Arc<Mutex<BTreeMap<i64, Duration>>>,
}

impl AckEvents {
    /// A channel for the worker of one assignment of one partition.
    pub fn channel() -> (Self, AckEventReceiver) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let nacks = Arc::default();
        (Self { sender, nacks }, AckEventReceiver { receiver })
    }

    /// Takes the first nack of an offset in `first..=last`, if a handler sent one.
    pub(crate) fn take_nack(&self, first: i64, last: i64) -> Option<(i64, Duration)> {
        let mut nacks = self.nacks.lock().expect("nacks lock");
        let (&offset, &sleep) = nacks.range(first..=last).next()?;
        nacks.remove(&offset);
        Some((offset, sleep))
    }

    /// Sends an acknowledgment. After the worker stopped (revoked partition, shutdown) this is a
    /// no-op with a warning: never a wrong commit.
    pub fn send(&self, event: AckEvent) {
        if let AckEvent::Nack { offset, sleep } = event {
            self.nacks.lock().expect("nacks lock").insert(offset, sleep);
        }
        if self.sender.send(event).is_err() {
            tracing::warn!(
                ?event,
                "acknowledgment after the partition was revoked or the container stopped; ignored"
            );
        }
    }
}

/// The worker's receiving side.
#[derive(Debug)]
pub struct AckEventReceiver {
    receiver: mpsc::UnboundedReceiver<AckEvent>,
}

impl AckEventReceiver {
    /// The next event.
    pub async fn recv(&mut self) -> Option<AckEvent> {
        self.receiver.recv().await
    }

    /// An event already queued, without waiting.
    pub fn try_recv(&mut self) -> Option<AckEvent> {
        self.receiver.try_recv().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn acks_after_the_worker_stopped_are_ignored_without_panicking() {
        let (events, receiver) = AckEvents::channel();
        drop(receiver);
        events.send(AckEvent::Ack { offset: 3 });
    }

    #[tokio::test]
    async fn events_arrive_in_order() {
        let (events, mut receiver) = AckEvents::channel();
        events.send(AckEvent::Ack { offset: 1 });
        events.send(AckEvent::Nack {
            offset: 2,
            sleep: Duration::ZERO,
        });
        assert_eq!(receiver.try_recv(), Some(AckEvent::Ack { offset: 1 }));
        assert!(matches!(
            receiver.recv().await,
            Some(AckEvent::Nack { offset: 2, .. })
        ));
        assert_eq!(receiver.try_recv(), None);
    }
}
