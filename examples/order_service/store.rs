//! The order store: what the API reports and the work-unit listener records.
//!
//! In memory, because the sample is about the Kafka flow; a real service would put the same
//! operations on a database. Completion is keyed by (order id, item index), so a work unit that
//! is delivered again — after a restart, a rebalance, or a split that was retried — is counted
//! once.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use serde::Serialize;

/// An order's progress as `GET /orders/{id}` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderStatus {
    /// The order's id.
    pub id: String,
    /// `pending` until every item is done, then `completed`.
    pub status: Progress,
    /// How many work units (items) the order has.
    pub items_total: usize,
    /// How many of them are done.
    pub items_done: usize,
}

/// Whether an order has finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Progress {
    /// Some items are not done yet.
    Pending,
    /// Every item is done.
    Completed,
}

/// What recording one unit's completion did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// The unit was not done before; it is now.
    Recorded,
    /// The unit was already done (a redelivery): nothing changed.
    AlreadyDone,
}

#[derive(Debug)]
struct OrderProgress {
    items_total: usize,
    done: BTreeSet<usize>,
}

/// Orders and their completed work units, shared by the HTTP API and the listeners.
#[derive(Debug, Default)]
pub struct OrderStore {
    orders: Mutex<HashMap<String, OrderProgress>>,
    redeliveries: std::sync::atomic::AtomicU64,
}

impl OrderStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an accepted order with `items_total` units, none done. Registering an order
    /// that is already known keeps its progress (the split listener registers it again on
    /// every delivery).
    pub fn register(&self, id: &str, items_total: usize) {
        self.lock()
            .entry(id.to_owned())
            .or_insert_with(|| OrderProgress {
                items_total,
                done: BTreeSet::new(),
            });
    }

    /// Forgets an order the API could not hand to Kafka.
    pub fn forget(&self, id: &str) {
        self.lock().remove(id);
    }

    /// Marks unit `index` of order `id` done; a second completion of the same unit changes
    /// nothing. An order first seen here (its registration was lost) is registered.
    pub fn complete(&self, id: &str, index: usize, items_total: usize) -> Completion {
        let mut orders = self.lock();
        let order = orders
            .entry(id.to_owned())
            .or_insert_with(|| OrderProgress {
                items_total,
                done: BTreeSet::new(),
            });
        if order.done.insert(index) {
            Completion::Recorded
        } else {
            drop(orders);
            self.redeliveries
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Completion::AlreadyDone
        }
    }

    /// The order's progress, `None` if it is unknown.
    pub fn status(&self, id: &str) -> Option<OrderStatus> {
        self.lock().get(id).map(|order| OrderStatus {
            id: id.to_owned(),
            status: if order.done.len() >= order.items_total {
                Progress::Completed
            } else {
                Progress::Pending
            },
            items_total: order.items_total,
            items_done: order.done.len(),
        })
    }

    /// The indexes of the order's units that are done, in order.
    pub fn done_units(&self, id: &str) -> Vec<usize> {
        self.lock()
            .get(id)
            .map(|order| order.done.iter().copied().collect())
            .unwrap_or_default()
    }

    /// How many completions arrived for units that were already done.
    pub fn redeliveries(&self) -> u64 {
        self.redeliveries.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many orders the store knows.
    pub fn order_count(&self) -> usize {
        self.lock().len()
    }

    /// Units done across every order.
    pub fn units_done(&self) -> usize {
        self.lock().values().map(|order| order.done.len()).sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, OrderProgress>> {
        // A panic while holding the lock cannot leave the maps half-updated (every change is
        // one insert or remove), so a poisoned lock is still consistent.
        self.orders.lock().unwrap_or_else(|e| e.into_inner())
    }
}
