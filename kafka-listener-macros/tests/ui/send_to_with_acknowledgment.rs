use kafka_listener::{kafka_listener, Acknowledgment};

#[kafka_listener(topics = "requests", group_id = "svc", ack_mode = "MANUAL", send_to = "replies")]
async fn on_request(request: String, ack: Acknowledgment) -> Result<String, String> {
    ack.acknowledge();
    Ok(request)
}

fn main() {}
