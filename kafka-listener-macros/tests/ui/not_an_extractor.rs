use kafka_listener::{kafka_listener, Json};

struct Order {
    id: u64,
}

#[kafka_listener(topics = "orders", group_id = "billing")]
async fn on_order(order: Order, note: Json<String>) {
    println!("{} {}", order.id, *note);
}

#[kafka_listener(topics = "orders", group_id = "stats", batch = true)]
async fn on_orders(orders: Vec<Json<String>>, count: u64) {
    println!("{} {count}", orders.len());
}

fn main() {}
