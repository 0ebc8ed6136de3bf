//! Finding the group coordinator (FindCoordinator, retried while the coordinator loads) and
//! keeping one connection to it, replaced when it breaks or the coordinator moves.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::{FindCoordinatorRequest, MetadataRequest};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::error::response_error;
use super::GroupError;
use crate::client::{BrokerConnection, ConnectionConfig};

/// Which connection to the coordinator a request travels on. A broker handles one request per
/// connection at a time, and holds JoinGroup/SyncGroup until the rebalance completes — so
/// commits and offset fetches get their own connection, or they would wait (and time out)
/// behind a held join. The heartbeat task has a third one of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    /// JoinGroup, SyncGroup, LeaveGroup and the leader's metadata request.
    Membership,
    /// OffsetCommit and OffsetFetch.
    Offsets,
}

type Slot = Arc<tokio::sync::Mutex<Option<Arc<BrokerConnection>>>>;

/// The group coordinator's address and connections, shared by the member and its
/// [`OffsetCommitter`]s.
///
/// [`OffsetCommitter`]: super::OffsetCommitter
#[derive(Debug, Clone)]
pub(crate) struct Coordinator {
    group: String,
    connection: ConnectionConfig,
    address: Arc<tokio::sync::Mutex<Option<String>>>,
    /// Every broker of the cluster as of the last discovery, so the coordinator can be found
    /// again through any live broker when the seed brokers are down.
    known_brokers: Arc<std::sync::Mutex<Vec<String>>>,
    membership: Slot,
    offsets: Slot,
}

impl Coordinator {
    pub(crate) fn new(group: String, connection: ConnectionConfig) -> Self {
        Self {
            group,
            connection,
            address: Arc::default(),
            known_brokers: Arc::default(),
            membership: Arc::default(),
            offsets: Arc::default(),
        }
    }

    pub(crate) fn connection_config(&self) -> &ConnectionConfig {
        &self.connection
    }

    fn slot(&self, lane: Lane) -> &Slot {
        match lane {
            Lane::Membership => &self.membership,
            Lane::Offsets => &self.offsets,
        }
    }

    /// The open connection to the coordinator for `lane`, looking the coordinator up first if
    /// it is unknown.
    pub(crate) async fn connection(&self, lane: Lane) -> Result<Arc<BrokerConnection>, GroupError> {
        let mut slot = self.slot(lane).lock().await;
        if let Some(connection) = slot.as_ref().filter(|c| c.is_open()) {
            return Ok(Arc::clone(connection));
        }
        let address = self.address().await?;
        let connection = match BrokerConnection::connect(&address, &self.connection).await {
            Ok(connection) => Arc::new(connection),
            Err(e) => {
                // The coordinator may be gone; look it up again next time.
                self.address.lock().await.take();
                return Err(e.into());
            }
        };
        *slot = Some(Arc::clone(&connection));
        Ok(connection)
    }

    /// The coordinator's address (the heartbeat task connects to it on its own).
    pub(crate) async fn address(&self) -> Result<String, GroupError> {
        let mut address = self.address.lock().await;
        if let Some(address) = address.as_ref() {
            return Ok(address.clone());
        }
        let found = self.discover().await?;
        *address = Some(found.clone());
        Ok(found)
    }

    /// Forgets `connection` and the coordinator's address, so the next call rediscovers the
    /// coordinator (it moved, or the connection broke).
    pub(crate) async fn invalidate(&self, connection: &Arc<BrokerConnection>) {
        for lane in [Lane::Membership, Lane::Offsets] {
            let mut slot = self.slot(lane).lock().await;
            if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, connection)) {
                tracing::info!(group = %self.group, coordinator = connection.addr(), "coordinator connection lost; will look the coordinator up again");
                *slot = None;
            }
        }
        self.address.lock().await.take();
    }

    /// Forgets every connection and the address (the heartbeat saw the coordinator move).
    pub(crate) async fn invalidate_all(&self) {
        self.membership.lock().await.take();
        self.offsets.lock().await.take();
        self.address.lock().await.take();
    }

    /// Where to ask for the coordinator: the brokers learned at the last discovery, then the
    /// bootstrap servers.
    fn discovery_candidates(&self) -> Vec<String> {
        let mut candidates = self.known_brokers.lock().expect("brokers lock").clone();
        for server in self.connection.bootstrap_servers() {
            if !candidates.contains(server) {
                candidates.push(server.clone());
            }
        }
        candidates
    }

    /// Asks each known broker and bootstrap server in turn for the coordinator until one names it, retrying
    /// COORDINATOR_NOT_AVAILABLE (a fresh cluster creates __consumer_offsets on first use)
    /// within the request timeout.
    async fn discover(&self) -> Result<String, GroupError> {
        let patience = self.connection.request_timeout_duration();
        let started = Instant::now();
        let mut backoff = Duration::from_millis(50);
        let mut last = String::from("no bootstrap servers configured");
        loop {
            for server in self.discovery_candidates() {
                match self.ask(&server).await {
                    Ok(addr) => {
                        tracing::info!(group = %self.group, coordinator = %addr, "found group coordinator");
                        return Ok(addr);
                    }
                    Err(e) => last = e,
                }
            }
            if started.elapsed() + backoff > patience {
                return Err(GroupError::CoordinatorNotFound {
                    group: self.group.clone(),
                    after: started.elapsed(),
                    last,
                });
            }
            tracing::debug!(group = %self.group, error = %last, "coordinator not available yet");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(1));
        }
    }

    /// Asks `connection`'s broker for every broker of the cluster (a metadata request for no
    /// topic) and remembers them for the next discovery. Best effort: discovery already
    /// succeeded, and the bootstrap servers stay candidates anyway.
    async fn learn_brokers(&self, connection: &BrokerConnection) {
        let request = MetadataRequest::default()
            .with_topics(Some(Vec::new()))
            .with_allow_auto_topic_creation(false);
        match connection.send(request).await {
            Ok(response) => {
                let mut brokers: Vec<String> = response
                    .brokers
                    .iter()
                    .map(|b| format!("{}:{}", b.host.as_str(), b.port))
                    .collect();
                brokers.sort();
                *self.known_brokers.lock().expect("brokers lock") = brokers;
            }
            Err(error) => {
                tracing::debug!(group = %self.group, %error, "cannot list the cluster's brokers")
            }
        }
    }

    /// One FindCoordinator round trip through `server`: the coordinator's `host:port`.
    async fn ask(&self, server: &str) -> Result<String, String> {
        let bootstrap = BrokerConnection::connect(server, &self.connection)
            .await
            .map_err(|e| e.to_string())?;
        let version = bootstrap
            .version_for::<FindCoordinatorRequest>()
            .map_err(|e| e.to_string())?;
        let key = StrBytes::from_string(self.group.clone());
        let request = if version >= 4 {
            FindCoordinatorRequest::default().with_coordinator_keys(vec![key])
        } else {
            FindCoordinatorRequest::default().with_key(key)
        };
        let response = bootstrap.send(request).await.map_err(|e| e.to_string())?;
        let (code, host, port) = if version >= 4 {
            let c = response
                .coordinators
                .first()
                .ok_or("FindCoordinator answered with no coordinator")?;
            (c.error_code, c.host.to_string(), c.port)
        } else {
            (
                response.error_code,
                response.host.to_string(),
                response.port,
            )
        };
        match response_error(code) {
            None => {
                self.learn_brokers(&bootstrap).await;
                Ok(format!("{host}:{port}"))
            }
            Some(e @ ResponseError::GroupAuthorizationFailed) => Err(format!(
                "{e}: grant the principal Describe on group {}",
                self.group
            )),
            Some(e) => Err(e.to_string()),
        }
    }
}
