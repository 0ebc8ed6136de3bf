//! `send_to` in each of its forms, with each kind of reply payload.

use kafka_listener::{kafka_listener, Json, Key};

#[derive(serde::Serialize)]
struct Quote {
    sku: String,
    price: u32,
}

#[kafka_listener(topics = "quotes", group_id = "pricing", send_to = "quote-replies")]
async fn price(sku: Key<String>) -> Result<Json<Quote>, std::io::Error> {
    Ok(Json(Quote { sku: sku.0, price: 3 }))
}

#[kafka_listener(topics = "echo", group_id = "echo", send_to)]
async fn echo(request: String) -> Result<String, String> {
    Ok(request)
}

#[kafka_listener(topics = "raw", group_id = "raw", send_to = "${app.replies:raw-replies}")]
async fn raw(request: Vec<u8>) -> Result<Vec<u8>, &'static str> {
    Ok(request)
}

#[kafka_listener(topics = "maybe", group_id = "maybe", send_to = "maybe-replies")]
async fn maybe(request: String) -> Result<Option<String>, String> {
    Ok((!request.is_empty()).then_some(request))
}

fn main() {}
