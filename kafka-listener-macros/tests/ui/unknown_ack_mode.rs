use kafka_listener::kafka_listener;

#[kafka_listener(topics = "orders", group_id = "billing", ack_mode = "MANUAL_IMEDIATE")]
async fn on_order(order: String) {
    println!("{order}");
}

fn main() {}
