use kafka_listener::{kafka_listener, Acknowledgment};

#[kafka_listener(topics = "orders", group_id = "billing", ack_mode = "MANUAL")]
async fn on_order(order: String, ack: Acknowledgment, again: Acknowledgment) {
    println!("{order}");
    ack.acknowledge();
    again.acknowledge();
}

fn main() {}
