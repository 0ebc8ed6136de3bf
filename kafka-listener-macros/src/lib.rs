//! The `#[kafka_listener]` attribute macro. It stays thin: it checks the handler's shape, emits one
//! `inventory::submit!` of a listener spec and an adapter, and calls into
//! `::kafka_listener::__private` for everything else.
