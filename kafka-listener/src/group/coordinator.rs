//! Finding the group coordinator (FindCoordinator, retried while the coordinator loads) and
//! keeping one connection to it, replaced when it breaks or the coordinator moves.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kafka_protocol::messages::FindCoordinatorRequest;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;

use super::error::response_error;
use super::GroupError;
use crate::client::{BrokerConnection, ConnectionConfig};

/// The coordinator connection shared by the member and its [`OffsetCommitter`]s.
///
/// [`OffsetCommitter`]: super::OffsetCommitter
#[derive(Debug, Clone)]
pub(crate) struct Coordinator {
    group: String,
    connection: ConnectionConfig,
    current: Arc<tokio::sync::Mutex<Option<Arc<BrokerConnection>>>>,
}

impl Coordinator {
    pub(crate) fn new(group: String, connection: ConnectionConfig) -> Self {
        Self {
            group,
            connection,
            current: Arc::default(),
        }
    }

    pub(crate) fn connection_config(&self) -> &ConnectionConfig {
        &self.connection
    }

    /// The open connection to the coordinator, looked up first if there is none.
    pub(crate) async fn connection(&self) -> Result<Arc<BrokerConnection>, GroupError> {
        let mut current = self.current.lock().await;
        if let Some(connection) = current.as_ref().filter(|c| c.is_open()) {
            return Ok(Arc::clone(connection));
        }
        let connection = Arc::new(self.discover().await?);
        *current = Some(Arc::clone(&connection));
        Ok(connection)
    }

    /// Forgets `connection` (if still current) so the next call rediscovers the coordinator.
    pub(crate) async fn invalidate(&self, connection: &Arc<BrokerConnection>) {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|c| Arc::ptr_eq(c, connection)) {
            tracing::info!(group = %self.group, coordinator = connection.addr(), "coordinator lost; will look it up again");
            *current = None;
        }
    }

    /// Forgets whatever connection is current (the heartbeat saw the coordinator move).
    pub(crate) async fn invalidate_current(&self) {
        self.current.lock().await.take();
    }

    /// Asks each bootstrap server in turn for the coordinator until one names it, retrying
    /// COORDINATOR_NOT_AVAILABLE (a fresh cluster creates __consumer_offsets on first use)
    /// within the request timeout.
    async fn discover(&self) -> Result<BrokerConnection, GroupError> {
        let patience = self.connection.request_timeout_duration();
        let started = Instant::now();
        let mut backoff = Duration::from_millis(50);
        let mut last = String::from("no bootstrap servers configured");
        loop {
            for server in self.connection.bootstrap_servers() {
                match self.ask(server).await {
                    Ok(addr) => match BrokerConnection::connect(&addr, &self.connection).await {
                        Ok(connection) => {
                            tracing::info!(group = %self.group, coordinator = %addr, "found group coordinator");
                            return Ok(connection);
                        }
                        Err(e) => last = e.to_string(),
                    },
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
            None => Ok(format!("{host}:{port}")),
            Some(e @ ResponseError::GroupAuthorizationFailed) => Err(format!(
                "{e}: grant the principal Describe on group {}",
                self.group
            )),
            Some(e) => Err(e.to_string()),
        }
    }
}
