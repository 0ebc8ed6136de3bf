use kafka_listener::kafka_listener;

#[kafka_listener(topics = "requests", group_id = "svc", send_to = "replies")]
async fn on_request(request: String) {
    println!("{request}");
}

#[kafka_listener(topics = "requests", group_id = "svc2", send_to = "")]
async fn on_request_empty_topic(request: String) -> Result<String, String> {
    Ok(request)
}

fn main() {}
