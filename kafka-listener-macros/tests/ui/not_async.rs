use kafka_listener::kafka_listener;

#[kafka_listener(topics = "orders", group_id = "billing")]
fn on_order(order: String) {
    println!("{order}");
}

fn main() {}
