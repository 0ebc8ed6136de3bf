//! Listener integration tests: the container, ack modes, error handling, retry topics,
//! replies, the producer template and the order service, against the embedded broker or, with
//! `KAFKA_BOOTSTRAP_SERVERS` set, real Kafka. One test binary: each binary is linked on its
//! own, and on 2 cores linking two dozen of them was a large part of `cargo test`.

mod ack_modes;
mod dlt_publisher;
mod error_handling;
mod listener_assigned;
mod listener_batch;
mod listener_end_to_end;
mod listener_lifecycle;
mod listener_macro;
mod listener_parallelism;
mod listener_pattern;
mod listener_replies;
mod order_service;
mod producer_template;
mod retry_topics;
