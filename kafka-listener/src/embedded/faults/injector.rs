//! The cluster-wide fault state every connection consults once per request: the rules a test
//! set, how many requests each API had faults injected into, moved coordinators, and the tokens
//! that drop connections and release stalled requests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use kafka_protocol::messages::{ApiKey, ResponseKind};
use tokio_util::sync::CancellationToken;

use super::error_response::error_response;
use super::scope::Scope;
use crate::embedded::cluster::BrokerContext;
use crate::embedded::wire::DecodedRequest;

/// What a rule does to a request it matches.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Action {
    /// Answer with this error code instead of handling the request.
    Fail(i16),
    /// Close the connection instead of answering.
    Close,
    /// Handle the request after this long.
    Delay(Duration),
    /// Handle the request only once the test releases stalled requests.
    Stall,
}

#[derive(Debug)]
struct Rule {
    scope: Scope,
    action: Action,
    /// Requests left to act on; `None` until the rule is cleared (or released, for a stall).
    remaining: Option<usize>,
}

/// What the connection does with a request after the faults had their say.
pub(crate) enum Verdict {
    /// Handle it as usual.
    Handle,
    /// Send this response instead.
    Answer(Box<ResponseKind>),
    /// Neither handle nor answer it (a failed Produce with acks=0, which Kafka never answers).
    Discard,
    /// Close the connection without answering.
    Close,
}

/// Every fault of one embedded cluster. Without rules a request costs one relaxed atomic load.
#[derive(Debug, Default)]
pub(crate) struct FaultInjector {
    /// Set while any rule exists, so requests look no further otherwise.
    armed: AtomicBool,
    rules: Mutex<Rules>,
    /// Set once any coordinator was moved.
    coordinators_moved: AtomicBool,
    moved_coordinators: Mutex<HashMap<String, i32>>,
    /// Cancelled to close every connection open at that moment; then replaced.
    drop_connections: Mutex<CancellationToken>,
}

#[derive(Debug, Default)]
struct Rules {
    rules: Vec<Rule>,
    injected: HashMap<ApiKey, usize>,
    /// Cancelled to let stalled requests go on; then replaced.
    release: CancellationToken,
}

impl FaultInjector {
    pub(crate) fn add(&self, scope: Scope, action: Action, remaining: Option<usize>) {
        let mut rules = self.rules.lock().expect("fault rules lock");
        rules.rules.push(Rule {
            scope,
            action,
            remaining,
        });
        self.armed.store(true, Ordering::Release);
    }

    /// Removes every rule and releases stalled requests; moved coordinators stay moved.
    pub(crate) fn clear(&self) {
        let mut rules = self.rules.lock().expect("fault rules lock");
        rules.rules.clear();
        Self::release_locked(&mut rules);
        self.armed.store(false, Ordering::Release);
    }

    /// Removes the stall rules and lets every stalled request go on.
    pub(crate) fn release(&self) {
        let mut rules = self.rules.lock().expect("fault rules lock");
        rules.rules.retain(|r| !matches!(r.action, Action::Stall));
        Self::release_locked(&mut rules);
        self.armed.store(!rules.rules.is_empty(), Ordering::Release);
    }

    fn release_locked(rules: &mut Rules) {
        std::mem::take(&mut rules.release).cancel();
    }

    /// How many requests of `api` a rule has acted on so far.
    pub(crate) fn injected(&self, api: ApiKey) -> usize {
        let rules = self.rules.lock().expect("fault rules lock");
        rules.injected.get(&api).copied().unwrap_or(0)
    }

    /// The token a new connection watches: cancelled by [`drop_connections`](Self::drop_connections).
    pub(crate) fn connection_token(&self) -> CancellationToken {
        self.drop_connections
            .lock()
            .expect("drop token lock")
            .clone()
    }

    /// Closes every connection open now; later connections are not affected.
    pub(crate) fn drop_connections(&self) {
        std::mem::take(&mut *self.drop_connections.lock().expect("drop token lock")).cancel();
    }

    pub(crate) fn move_coordinator(&self, key: &str, node_id: i32) {
        self.moved_coordinators
            .lock()
            .expect("coordinators lock")
            .insert(key.to_owned(), node_id);
        self.coordinators_moved.store(true, Ordering::Release);
    }

    /// The broker a test moved `key`'s coordinator to, if it did.
    pub(crate) fn moved_coordinator(&self, key: &str) -> Option<i32> {
        if !self.coordinators_moved.load(Ordering::Acquire) {
            return None;
        }
        let moved = self.moved_coordinators.lock().expect("coordinators lock");
        moved.get(key).copied()
    }

    /// Applies the first rule matching `request`: waits out a delay or a stall here, and tells
    /// the connection whether to handle the request, answer it with an error, or close.
    pub(crate) async fn intercept(&self, ctx: &BrokerContext, request: &DecodedRequest) -> Verdict {
        if !self.armed.load(Ordering::Acquire) {
            return Verdict::Handle;
        }
        let Some((action, release)) = self.take(ctx, request) else {
            return Verdict::Handle;
        };
        match action {
            Action::Fail(code) => {
                let version = request.header.request_api_version;
                match error_response(&request.body, version, code) {
                    Some(response) => Verdict::Answer(Box::new(response)),
                    // Produce with acks=0: Kafka never answers; the records are not appended.
                    None => Verdict::Discard,
                }
            }
            Action::Close => Verdict::Close,
            Action::Delay(delay) => {
                tokio::time::sleep(delay).await;
                Verdict::Handle
            }
            Action::Stall => {
                release.cancelled().await;
                Verdict::Handle
            }
        }
    }

    /// Finds the first rule for `request`, counts it and returns its action with the current
    /// release token (taken under the same lock, so a release cannot slip in between).
    fn take(
        &self,
        ctx: &BrokerContext,
        request: &DecodedRequest,
    ) -> Option<(Action, CancellationToken)> {
        let mut rules = self.rules.lock().expect("fault rules lock");
        let index = rules
            .rules
            .iter()
            .position(|r| r.scope.matches(ctx, request))?;
        let rule = &mut rules.rules[index];
        let action = rule.action;
        if let Some(remaining) = rule.remaining.as_mut() {
            *remaining -= 1;
            if *remaining == 0 {
                rules.rules.remove(index);
            }
        }
        *rules.injected.entry(request.api).or_default() += 1;
        self.armed.store(!rules.rules.is_empty(), Ordering::Release);
        Some((action, rules.release.clone()))
    }
}
