//! A partition's record source on its own task, so the next fetch is on the wire while the
//! handlers work through the current one, and waiting for it never cancels it.
//!
//! The worker asks for records at a position; the answer arrives on a one-shot channel that the
//! worker can select on without losing anything when another event wins. A request for a
//! position nobody wants any more (after a seek or a rewind) is simply dropped.

use tokio::sync::{mpsc, oneshot};

use super::settings::{RecordSource, SeekTo};
use crate::client::fetch::{FetchError, Fetched};

enum SourceRequest {
    Fetch(i64, oneshot::Sender<Result<Fetched, FetchError>>),
    Resolve(SeekTo, oneshot::Sender<Result<i64, FetchError>>),
}

/// The worker's side of the source task.
pub(crate) struct FetchAhead {
    requests: mpsc::UnboundedSender<SourceRequest>,
    /// The fetch on the wire: the position it reads from, and where its answer arrives.
    pending: Option<(i64, oneshot::Receiver<Result<Fetched, FetchError>>)>,
    /// For errors when the source task is gone.
    topic: std::sync::Arc<str>,
    partition: i32,
}

impl FetchAhead {
    /// Moves `source` onto its own task; the task ends when this handle is dropped.
    pub(crate) fn spawn<S: RecordSource>(
        tasks: &tokio_util::task::TaskTracker,
        mut source: S,
        topic: std::sync::Arc<str>,
        partition: i32,
    ) -> Self {
        let (requests, mut incoming) = mpsc::unbounded_channel();
        tasks.spawn(async move {
            while let Some(request) = incoming.recv().await {
                match request {
                    SourceRequest::Fetch(position, reply) => {
                        if reply.is_closed() {
                            continue;
                        }
                        let _ = reply.send(source.fetch(position).await);
                    }
                    SourceRequest::Resolve(target, reply) => {
                        let _ = reply.send(source.resolve(target).await);
                    }
                }
            }
        });
        Self {
            requests,
            pending: None,
            topic,
            partition,
        }
    }

    /// Makes sure a fetch at `position` is on the wire, dropping one for another position.
    pub(crate) fn want(&mut self, position: i64) {
        if matches!(&self.pending, Some((pending, _)) if *pending == position) {
            return;
        }
        let (reply, answer) = oneshot::channel();
        let _ = self.requests.send(SourceRequest::Fetch(position, reply));
        self.pending = Some((position, answer));
    }

    /// The answer to the fetch asked for with [`want`](Self::want); pending forever if none was
    /// asked for. Cancel-safe: if another event wins a `select!`, the answer stays.
    pub(crate) async fn answer(&mut self) -> Result<Fetched, FetchError> {
        let Some((position, answer)) = self.pending.as_mut() else {
            return std::future::pending().await;
        };
        let position = *position;
        let result = answer.await;
        self.pending = None;
        match result {
            Ok(answer) => answer,
            Err(_) => Err(self.source_gone(position)),
        }
    }

    /// The offset `target` resolves to (waits for a fetch already on the wire).
    pub(crate) async fn resolve(&mut self, target: SeekTo) -> Result<i64, FetchError> {
        let (reply, answer) = oneshot::channel();
        let _ = self.requests.send(SourceRequest::Resolve(target, reply));
        let position = match target {
            SeekTo::Offset(offset) => offset,
            _ => -1,
        };
        match answer.await {
            Ok(answer) => answer,
            Err(_) => Err(self.source_gone(position)),
        }
    }

    fn source_gone(&self, offset: i64) -> FetchError {
        FetchError::Broker {
            topic: self.topic.to_string(),
            partition: self.partition,
            offset,
            reason: "the partition's fetch task ended".to_owned(),
        }
    }
}
