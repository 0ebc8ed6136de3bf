use kafka_listener::kafka_listener;

#[kafka_listener(topics = "orders", group_id = "billing")]
struct OrderListener;

fn main() {}
