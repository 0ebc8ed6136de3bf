use kafka_listener::{kafka_listener, Batch};

#[kafka_listener(topics = "requests", group_id = "svc", batch, send_to = "replies")]
async fn on_requests(requests: Batch<String>) -> Result<String, String> {
    Ok(format!("{}", requests.len()))
}

fn main() {}
