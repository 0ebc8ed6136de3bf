use kafka_listener::kafka_listener;

struct NotAnError;

#[kafka_listener(topics = "orders", group_id = "billing")]
async fn on_order(order: String) -> Result<(), NotAnError> {
    if order.is_empty() {
        return Err(NotAnError);
    }
    Ok(())
}

fn main() {}
