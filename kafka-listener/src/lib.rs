//! # kafka-listener
//!
//! Spring Kafka's listener model for Rust. Annotate an `async fn` with `#[kafka_listener]`, point
//! the [`App`](crate) at the Spring Boot `application.yml` you already have, and get consumer
//! groups, deserialization, ack modes, retries, dead-letter topics and graceful shutdown.
//!
//! The crate is organised top to bottom, with no back-edges:
//!
//! * [`config`]: `application.yml` / `application.properties` → typed Kafka properties.
//! * [`registry`]: every `#[kafka_listener]` function, collected at link time.
//! * [`extract`]: the arguments a handler can take (`Json<T>`, `Key<K>`, `Headers`, …).
//! * [`client`]: connection settings shared by the data plane (rskafka) and the group client.
//! * [`group`]: the classic consumer-group protocol (join, sync, heartbeat, commit).
//! * `embedded` (feature `embedded`): an in-process, wire-level Kafka broker for tests.

#![warn(missing_docs)]

pub mod client;
pub mod config;
pub mod container;
pub mod error;
pub mod extract;
pub mod group;
pub mod producer;
pub mod record;
pub mod registry;

#[cfg(feature = "embedded")]
pub mod embedded;

mod result;

pub use record::{ConsumerRecord, Header, Headers, TimestampType};
pub use result::{Error, Result};

/// Items the `#[kafka_listener]` macro expands to. Not a public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use inventory;
}
