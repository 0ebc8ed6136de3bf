use kafka_listener::kafka_listener;

#[kafka_listener(group_id = "billing")]
async fn on_order(order: String) {
    println!("{order}");
}

fn main() {}
