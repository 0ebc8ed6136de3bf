use kafka_listener::kafka_listener;

struct Service;

impl Service {
    #[kafka_listener(topics = "orders", group_id = "billing")]
    async fn on_order(&self, order: String) {
        println!("{order}");
    }
}

fn main() {}
