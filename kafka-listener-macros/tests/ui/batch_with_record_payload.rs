use kafka_listener::{kafka_listener, Acknowledgment, Json};

#[kafka_listener(topics = "orders", group_id = "billing", batch = true, ack_mode = "MANUAL")]
async fn on_orders(order: Json<String>, ack: Acknowledgment) {
    println!("{}", *order);
    ack.acknowledge();
}

fn main() {}
