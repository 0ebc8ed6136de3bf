use kafka_listener::kafka_listener;

#[kafka_listener(topics = "orders", groupId = "billing")]
async fn on_order(order: String) {
    println!("{order}");
}

#[kafka_listener(topic = "orders", group_id = "billing")]
async fn on_refund(refund: String) {
    println!("{refund}");
}

fn main() {}
