//! Non-blocking retries through retry topics: Spring Kafka's `@RetryableTopic`.
//!
//! A listener with retry topics gets one extra listener per retry topic (group and id suffixed
//! like the topic, sharing the handler). A record failing on the main topic is published to the
//! first retry topic with a due time and acknowledged; the retry listener handles it once the
//! due time has come, waiting only on that partition; after the last attempt it goes to the
//! dead-letter topic, with Spring's `retry_topic-*`, `kafka_original-*` and `kafka_exception-*`
//! headers.

mod chain;
mod config;
mod forwarder;
mod headers;

pub use chain::{RetryChain, RetryStage};
pub use config::{RetryTopicConfig, RetryTopicSpec, RetryTopicSpecError, TopicSuffixing};
pub use forwarder::RetryTopicForwarder;
pub use headers::{
    attempts_of, big_integer_bytes, due_time_of, forward_headers, names as retry_header_names,
    parse_big_integer,
};
