//! The two listeners: `orders` → one work unit per item on `order-items` → processed in
//! parallel and recorded in the [`OrderStore`].
//!
//! Topic and group names are `${…}` placeholders with the sample's defaults, so one
//! `application.yml` key (or its environment form, e.g. `ORDER_SERVICE_TOPICS_ORDERS`) renames
//! them; the tests give every run its own.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kafka_listener::producer::{KafkaTemplate, SendError};
use kafka_listener::{kafka_listener, Acknowledgment, Json, RecordMeta, State};
use tokio::task::JoinSet;

use super::model::{OrderPlaced, WorkUnit};
use super::store::{Completion, OrderStore};

/// The id of the listener that splits orders into work units.
pub const SPLIT_LISTENER: &str = "order-service-split";
/// The id of the listener that processes work units.
pub const WORK_LISTENER: &str = "order-service-items";

/// What the listeners need besides the store: handed to them as `State<Pipeline>`.
#[derive(Debug, Clone)]
pub struct Pipeline {
    /// Produces the work units.
    pub template: KafkaTemplate,
    /// Where work units go.
    pub items_topic: String,
    /// How long one unit's simulated I/O takes.
    pub work_time: Duration,
    /// How many units are being worked on.
    pub gauge: Arc<WorkGauge>,
}

/// Units in progress now and at most so far: shows whether units really run in parallel.
#[derive(Debug, Default)]
pub struct WorkGauge {
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

impl WorkGauge {
    /// The most units that were in progress at the same time.
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    fn enter(&self) -> WorkGuard<'_> {
        let now = self.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.peak.fetch_max(now, Ordering::Relaxed);
        WorkGuard(self)
    }
}

/// One unit in progress; leaving the scope (also by cancellation) ends it.
struct WorkGuard<'a>(&'a WorkGauge);

impl Drop for WorkGuard<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Why an order could not be split; the error handler delivers the order again, and units
/// already produced are harmless duplicates because completion is idempotent.
#[derive(Debug, thiserror::Error)]
pub enum SplitError {
    /// A work unit was not acknowledged by the cluster.
    #[error("could not hand unit {index} of order {order_id} to Kafka: {source}")]
    Produce {
        /// The order.
        order_id: String,
        /// The unit.
        index: usize,
        /// The producer's error.
        #[source]
        source: SendError,
    },
    /// A send task panicked or was cancelled.
    #[error("a send task of order {order_id} did not finish: {source}")]
    SendTask {
        /// The order.
        order_id: String,
        /// Why.
        #[source]
        source: tokio::task::JoinError,
    },
}

/// Splits an order into one work unit per item, all keyed by the order id, and acknowledges
/// the order only once the cluster has every unit: a crash in between re-delivers the order,
/// never loses a unit.
#[kafka_listener(
    id = "order-service-split",
    topics = "${order-service.topics.orders:orders}",
    group_id = "${order-service.groups.split:order-service-split}",
    ack_mode = "MANUAL"
)]
async fn split_order(
    order: Json<OrderPlaced>,
    meta: RecordMeta,
    pipeline: State<Pipeline>,
    store: State<OrderStore>,
    ack: Acknowledgment,
) -> Result<(), SplitError> {
    let Json(order) = order;
    store.register(&order.id, order.items.len());
    let mut sends = JoinSet::new();
    for unit in order.split() {
        let template = pipeline.template.clone();
        let topic = pipeline.items_topic.clone();
        sends.spawn(async move {
            let index = unit.index;
            let key = unit.order_id.clone();
            template
                .send(&topic, key.as_str(), Json(unit))
                .await
                .map_err(|source| SplitError::Produce {
                    order_id: key,
                    index,
                    source,
                })
        });
    }
    while let Some(sent) = sends.join_next().await {
        sent.map_err(|source| SplitError::SendTask {
            order_id: order.id.clone(),
            source,
        })??;
    }
    tracing::info!(
        order = %order.id,
        units = order.items.len(),
        partition = meta.partition,
        offset = meta.offset,
        "order split into work units"
    );
    ack.acknowledge();
    Ok(())
}

/// Processes one work unit (simulated I/O), records it done and acknowledges it. Several
/// consumers (`concurrency`) and one task per assigned partition run units in parallel.
#[kafka_listener(
    id = "order-service-items",
    topics = "${order-service.topics.order-items:order-items}",
    group_id = "${order-service.groups.items:order-service-items}",
    concurrency = "${order-service.items.concurrency:3}",
    ack_mode = "MANUAL"
)]
async fn process_unit(
    unit: Json<WorkUnit>,
    pipeline: State<Pipeline>,
    store: State<OrderStore>,
    ack: Acknowledgment,
) {
    let Json(unit) = unit;
    let _working = pipeline.gauge.enter();
    // Stands in for the unit's real work: a call to a warehouse, a payment provider, …
    tokio::time::sleep(pipeline.work_time).await;
    match store.complete(&unit.order_id, unit.index, unit.items_total) {
        Completion::Recorded => tracing::debug!(
            order = %unit.order_id,
            index = unit.index,
            sku = %unit.line.sku,
            "work unit done"
        ),
        Completion::AlreadyDone => tracing::info!(
            order = %unit.order_id,
            index = unit.index,
            "work unit delivered again; already done, not counted twice"
        ),
    }
    ack.acknowledge();
}
