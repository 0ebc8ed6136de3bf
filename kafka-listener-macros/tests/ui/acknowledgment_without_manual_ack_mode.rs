use kafka_listener::{kafka_listener, Acknowledgment};

#[kafka_listener(topics = "orders", group_id = "billing", ack_mode = "BATCH")]
async fn on_order(order: String, ack: Acknowledgment) {
    println!("{order}");
    ack.acknowledge();
}

fn main() {}
