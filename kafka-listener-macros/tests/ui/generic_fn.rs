use kafka_listener::kafka_listener;

#[kafka_listener(topics = "orders", group_id = "billing")]
async fn on_order<T: std::fmt::Debug>(order: T) {
    println!("{order:?}");
}


#[kafka_listener(topics = "refunds", group_id = "billing")]
async fn on_refund(refund: impl std::fmt::Display) {
    println!("{refund}");
}

fn main() {}
