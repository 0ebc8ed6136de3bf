//! Every built-in extractor in the positions it is meant for, both listener shapes, both return
//! shapes, placeholders and every attribute.

use kafka_listener::extract::ListenerInfo;
use kafka_listener::{
    kafka_listener, Acknowledgment, Batch, BatchAcknowledgment, ConsumerRecord, Headers, Json,
    Key, RecordMeta, State,
};

#[derive(serde::Deserialize)]
struct Order {
    id: u64,
}

struct Db;

#[derive(Debug)]
struct Rejected;

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("rejected")
    }
}

impl std::error::Error for Rejected {}

#[kafka_listener(
    id = "orders",
    topics = ["orders", "${extra.topic}"],
    group_id = "billing",
    concurrency = "${orders.concurrency:3}",
    auto_startup = true,
    client_id_prefix = "billing",
    ack_mode = "manual_immediate",
    properties("max.poll.records" = 10, "isolation.level" = "read_committed"),
)]
async fn on_order(
    Json(order): Json<Order>,
    key: Key<String>,
    raw_key: Option<Key<Vec<u8>>>,
    meta: RecordMeta,
    headers: Headers,
    #[header("trace-id")] trace: Option<String>,
    #[header("tenant")] tenant: bytes::Bytes,
    _db: State<Db>,
    listener: ListenerInfo,
    ack: Acknowledgment,
) -> Result<(), Rejected> {
    let _ = (order.id, key, raw_key, meta, headers, trace, tenant, listener);
    ack.acknowledge();
    Ok(())
}

#[kafka_listener(topics = "changes", partitions = [0, 2])]
async fn on_change(value: Option<Json<Order>>, record: ConsumerRecord<String, String>) {
    let _ = (value, record);
}

#[kafka_listener(topics = "raw", group_id = "g")]
async fn on_raw(_value: Vec<u8>) -> Result<(), String> {
    Ok(())
}

#[kafka_listener(topic_pattern = "clicks-.*", group_id = "stats", batch = true, ack_mode = "MANUAL")]
async fn on_clicks(
    clicks: Vec<Json<Order>>,
    records: Batch<ConsumerRecord>,
    _db: State<Db>,
    ack: BatchAcknowledgment,
) {
    let _ = (clicks.len(), records.len());
    ack.acknowledge();
}

mod nested {
    // Any module, any visibility.
    use kafka_listener::kafka_listener;
    #[kafka_listener(topics = "nested", group_id = "g")]
    pub(crate) async fn on_nested(_value: String) {}
}

fn main() {
    // Listeners may also be declared inside a function body.
    #[kafka_listener(topics = "local", group_id = "g")]
    async fn on_local(_value: String) {}

    // The functions stay callable as written.
    let _ = on_raw(Vec::new());
    let _ = nested::on_nested(String::new());
    let _ = on_local(String::new());
}
