//! Fault injection: a test makes the embedded broker misbehave the way real clusters do —
//! answer requests with an error code, delay or stall them, close connections, move a group's
//! coordinator, fence a group member — and then checks that the clients on top recover.
//!
//! Every connection consults the faults once per request, before handling it; with no rule set
//! that costs one atomic load. Rules act on the requests that arrive after they are set, in the
//! order they were set (the first matching rule wins).

mod error_response;
mod injector;
mod scope;

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::ApiKey;
use kafka_protocol::ResponseError;

use super::cluster::Cluster;
use super::topics::BrokerInfo;
use injector::Action;
pub(crate) use injector::{FaultInjector, Verdict};
use scope::Scope;

/// The fault-injection handle of an [`EmbeddedKafka`](super::EmbeddedKafka), from
/// [`EmbeddedKafka::faults`](super::EmbeddedKafka::faults). Cheap to clone; every clone acts on
/// the same cluster.
///
/// ```
/// use kafka_listener::embedded::EmbeddedKafka;
/// use kafka_protocol::messages::ApiKey;
/// use kafka_protocol::ResponseError;
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let kafka = EmbeddedKafka::start().await;
/// let faults = kafka.faults();
/// // The next two heartbeats of any group are told a rebalance is under way.
/// faults.fail_next(ApiKey::Heartbeat, 2, ResponseError::RebalanceInProgress);
/// // Commits of group "orders" are answered a second late.
/// faults.on(ApiKey::OffsetCommit).group("orders").delay(Duration::from_secs(1));
/// // Every connection open now is closed.
/// faults.drop_connections();
/// assert_eq!(faults.injected(ApiKey::Heartbeat), 0); // no heartbeat arrived yet
/// faults.clear();
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Faults {
    cluster: Arc<Cluster>,
}

impl Faults {
    pub(crate) fn new(cluster: Arc<Cluster>) -> Self {
        Self { cluster }
    }

    fn injector(&self) -> &FaultInjector {
        &self.cluster.faults
    }

    /// A rule for requests of `api`, narrowed with [`FaultRule::group`], [`FaultRule::topic`],
    /// [`FaultRule::client_id`] or [`FaultRule::broker`] before its action is chosen.
    pub fn on(&self, api: ApiKey) -> FaultRule<'_> {
        FaultRule {
            faults: self,
            scope: Scope::api(api),
        }
    }

    /// Answers the next `n` requests of `api` with `error` instead of handling them, the code
    /// where that API's responses carry it. Panics for an API it cannot fail (see
    /// [`FaultRule::fail_next`]).
    pub fn fail_next(&self, api: ApiKey, n: usize, error: ResponseError) -> &Self {
        self.on(api).fail_next(n, error);
        self
    }

    /// Closes the connection of each of the next `n` requests of `api` instead of answering.
    pub fn drop_next(&self, api: ApiKey, n: usize) -> &Self {
        self.on(api).drop_next(n);
        self
    }

    /// Handles every request of `api` `delay` late, until [`clear`](Self::clear).
    pub fn delay(&self, api: ApiKey, delay: Duration) -> &Self {
        self.on(api).delay(delay);
        self
    }

    /// Holds every request of `api` unanswered until [`release`](Self::release) (or until its
    /// connection closes): a broker that accepted the request and went quiet.
    pub fn stall(&self, api: ApiKey) -> &Self {
        self.on(api).stall();
        self
    }

    /// Ends every stall: stalled requests are handled and answered, new ones go through.
    pub fn release(&self) {
        self.injector().release();
    }

    /// Closes every client connection open now, once; clients that reconnect are served.
    pub fn drop_connections(&self) {
        self.injector().drop_connections();
    }

    /// Removes every rule and releases stalled requests. Moved coordinators stay where they are.
    pub fn clear(&self) {
        self.injector().clear();
    }

    /// How many requests of `api` a rule has acted on (failed, dropped, delayed or stalled) so
    /// far; tests wait on it to know a fault happened.
    pub fn injected(&self, api: ApiKey) -> usize {
        self.injector().injected(api)
    }

    /// Makes broker `node_id` the coordinator of `group` (a group or transactional id): the old
    /// coordinator answers its requests NOT_COORDINATOR and FindCoordinator names the new one,
    /// which serves the group's members and offsets as they were — Kafka's coordinator
    /// failover. Panics if the cluster has no such broker.
    ///
    /// ```
    /// use kafka_listener::embedded::EmbeddedKafka;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let kafka = EmbeddedKafka::builder().brokers(2).start().await;
    /// let before = kafka.coordinator_of("orders");
    /// kafka.faults().move_coordinator("orders", 1 - before);
    /// assert_eq!(kafka.coordinator_of("orders"), 1 - before);
    /// # }
    /// ```
    pub fn move_coordinator(&self, group: &str, node_id: i32) {
        let brokers: Vec<BrokerInfo> = self.cluster.topics.brokers().to_vec();
        assert!(
            brokers.iter().any(|b| b.node_id == node_id),
            "cannot move {group:?}'s coordinator to broker {node_id}: the cluster has brokers {:?}",
            brokers.iter().map(|b| b.node_id).collect::<Vec<_>>()
        );
        self.injector().move_coordinator(group, node_id);
    }

    /// Removes `member_id` from `group` as if its session had expired: the group rebalances
    /// without it, and its next Heartbeat, SyncGroup or OffsetCommit is answered
    /// UNKNOWN_MEMBER_ID, so it must join again. Returns `false` if there was no such member.
    pub fn fence_member(&self, group: &str, member_id: &str) -> bool {
        let coordinator = &self.cluster.coordinator;
        coordinator.with_groups(|groups| {
            let Some(group) = groups.get_mut(group) else {
                return false;
            };
            if !group.members.contains_key(member_id) {
                return false;
            }
            tracing::info!(group = %group.id, member = member_id, "fault injection: member fenced");
            coordinator.remove_member_and_update(group, member_id);
            true
        })
    }

    /// Starts a rebalance of `group` as a joining member would: every member's next Heartbeat
    /// is answered REBALANCE_IN_PROGRESS and a commit of the old generation ILLEGAL_GENERATION
    /// once the new one formed. Returns `false` if the group has no members.
    pub fn force_rebalance(&self, group: &str) -> bool {
        let coordinator = &self.cluster.coordinator;
        coordinator.with_groups(|groups| {
            let Some(group) = groups.get_mut(group).filter(|g| !g.members.is_empty()) else {
                return false;
            };
            tracing::info!(group = %group.id, "fault injection: rebalance forced");
            coordinator.prepare_rebalance(group);
            true
        })
    }
}

/// One rule being built by [`Faults::on`]: narrow it, then give it an action.
///
/// ```
/// use kafka_listener::embedded::EmbeddedKafka;
/// use kafka_protocol::messages::ApiKey;
/// use kafka_protocol::ResponseError;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let kafka = EmbeddedKafka::start().await;
/// kafka
///     .faults()
///     .on(ApiKey::Fetch)
///     .topic("orders")
///     .fail_next(3, ResponseError::NotLeaderOrFollower);
/// # }
/// ```
#[must_use = "a rule does nothing until an action (fail_next, drop_next, delay, stall) is chosen"]
#[derive(Debug)]
pub struct FaultRule<'a> {
    faults: &'a Faults,
    scope: Scope,
}

impl FaultRule<'_> {
    /// Only requests for this group (or coordinator key, for FindCoordinator).
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.scope.group = Some(group.into());
        self
    }

    /// Only requests naming this topic.
    pub fn topic(mut self, topic: impl Into<String>) -> Self {
        self.scope.topic = Some(topic.into());
        self
    }

    /// Only requests from clients with this `client.id`.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.scope.client_id = Some(client_id.into());
        self
    }

    /// Only requests to broker `node_id`.
    pub fn broker(mut self, node_id: i32) -> Self {
        self.scope.broker = Some(node_id);
        self
    }

    /// Answers the next `n` matching requests with `error` without handling them (a failed
    /// commit does not land, a failed JoinGroup does not join). The code goes where the API's
    /// clients read it: per partition for Produce, Fetch, ListOffsets and OffsetCommit, per key
    /// for batched FindCoordinator, per group for batched OffsetFetch, at the top otherwise.
    /// Panics for APIs other than those and JoinGroup, SyncGroup, Heartbeat and LeaveGroup.
    pub fn fail_next(self, n: usize, error: ResponseError) {
        assert!(
            error_response::FAILABLE_APIS.contains(&self.scope.api),
            "fault injection cannot fail {:?} requests; it can fail {:?}",
            self.scope.api,
            error_response::FAILABLE_APIS
        );
        self.add(Action::Fail(error.code()), Some(n));
    }

    /// Closes the connection of each of the next `n` matching requests instead of answering.
    pub fn drop_next(self, n: usize) {
        self.add(Action::Close, Some(n));
    }

    /// Handles each matching request `delay` late, until [`Faults::clear`].
    pub fn delay(self, delay: Duration) {
        self.add(Action::Delay(delay), None);
    }

    /// Handles the next `n` matching requests `delay` late.
    pub fn delay_next(self, n: usize, delay: Duration) {
        self.add(Action::Delay(delay), Some(n));
    }

    /// Holds each matching request unanswered until [`Faults::release`].
    pub fn stall(self) {
        self.add(Action::Stall, None);
    }

    fn add(self, action: Action, remaining: Option<usize>) {
        if remaining == Some(0) {
            return;
        }
        self.faults.injector().add(self.scope, action, remaining);
    }
}

#[cfg(test)]
mod tests;
