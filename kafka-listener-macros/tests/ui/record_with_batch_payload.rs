use kafka_listener::{kafka_listener, Batch, Json};

#[kafka_listener(topics = "orders", group_id = "billing")]
async fn on_orders(orders: Vec<Json<String>>) {
    println!("{}", orders.len());
}

#[kafka_listener(topics = "refunds", group_id = "billing")]
async fn on_refunds(refunds: Batch<String>) {
    println!("{}", refunds.len());
}

fn main() {}
