use kafka_listener::kafka_listener;
use std::rc::Rc;

async fn store(_order: &str) {}

#[kafka_listener(topics = "orders", group_id = "billing")]
async fn on_order(order: String) {
    let shared = Rc::new(order);
    store(&shared).await;
}

fn main() {}
