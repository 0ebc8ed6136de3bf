use kafka_listener::kafka_listener;

#[kafka_listener(topics = "orders", group_id = "billing")]
async fn on_order(order: String) -> Option<u64> {
    order.parse().ok()
}

fn main() {}
