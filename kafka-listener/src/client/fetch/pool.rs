//! One connection per broker address, shared by the broker's fetch loop, offset lookups and
//! metadata requests of one fetcher; a broken connection is replaced on next use.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::client::{BrokerConnection, ConnectionConfig, ConnectionError};

type Slot = Arc<tokio::sync::Mutex<Option<Arc<BrokerConnection>>>>;

/// Connections by `host:port`.
#[derive(Debug)]
pub(super) struct ConnectionPool {
    config: ConnectionConfig,
    /// A slot per address, each with its own lock, so a slow connect to one broker does not
    /// hold up the others.
    slots: Mutex<HashMap<String, Slot>>,
}

impl ConnectionPool {
    pub(super) fn new(config: ConnectionConfig) -> Self {
        Self {
            config,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The open connection to `addr`, connecting (within the request timeout) if there is none.
    pub(super) async fn get(&self, addr: &str) -> Result<Arc<BrokerConnection>, ConnectionError> {
        let slot = Arc::clone(
            self.slots
                .lock()
                .expect("pool lock")
                .entry(addr.to_owned())
                .or_default(),
        );
        let mut slot = slot.lock().await;
        if let Some(connection) = slot.as_ref().filter(|c| c.is_open()) {
            return Ok(Arc::clone(connection));
        }
        *slot = None;
        let connection = Arc::new(BrokerConnection::connect(addr, &self.config).await?);
        *slot = Some(Arc::clone(&connection));
        Ok(connection)
    }

    /// Connections open now.
    pub(super) fn open_connections(&self) -> usize {
        self.slots
            .lock()
            .expect("pool lock")
            .values()
            .filter(|slot| {
                slot.try_lock()
                    .map(|c| c.as_ref().is_some_and(|c| c.is_open()))
                    .unwrap_or(true)
            })
            .count()
    }
}
