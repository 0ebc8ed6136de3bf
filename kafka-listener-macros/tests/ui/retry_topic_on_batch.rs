use kafka_listener::{kafka_listener, Batch};

#[kafka_listener(topics = "orders", group_id = "svc", batch, retry_topic(attempts = 3))]
async fn on_orders(orders: Batch<String>) {
    let _ = orders.len();
}

fn main() {}
