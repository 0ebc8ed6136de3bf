//! Every `#[kafka_listener]` function in the binary, collected with `inventory`.
