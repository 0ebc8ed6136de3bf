use kafka_listener::kafka_listener;

#[kafka_listener(topic_pattern = "orders-.*", partitions = [0, -1], concurrency = 0)]
async fn on_order(order: String) {
    println!("{order}");
}

#[kafka_listener(topics = "orders", group_id = "billing", batch = true, ack_mode = "record")]
async fn on_orders(orders: Vec<String>) {
    println!("{}", orders.len());
}

#[kafka_listener(topics = "orders", topics = "refunds", batch = "${listener.batch}")]
async fn on_twice(order: String) {
    println!("{order}");
}

#[kafka_listener(
    topics = ["orders", "orders"],
    partitions = [1, 1],
    properties("max.poll.records" = 10, "max.poll.records" = 20)
)]
async fn on_duplicates(order: String) {
    println!("{order}");
}

fn main() {}
