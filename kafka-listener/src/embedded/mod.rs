//! An in-process, wire-level Kafka broker for tests.
//!
//! [`EmbeddedKafka`] speaks the Kafka protocol on `127.0.0.1` ports, so any client — rskafka,
//! Java kafka-clients, librdkafka, kafka-python, this crate's group client — talks to it as to
//! Apache Kafka: topics and partitions with in-memory logs, record batches stored as sent,
//! offsets and watermarks, and a classic group coordinator with Kafka's rebalance semantics.
//! It starts in about a millisecond and needs no JVM.
//!
//! ```
//! use kafka_listener::embedded::EmbeddedKafka;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let kafka = EmbeddedKafka::start().await;
//! kafka.create_topic("orders", 3).await;
//! let offset = kafka.produce("orders", 0, [(Some("k1"), Some("v1"))]).await;
//! assert_eq!(offset, 0);
//! let records = kafka.consume_all("orders").await;
//! assert_eq!(records[0].value.as_deref(), Some(&b"v1"[..]));
//! println!("clients connect to {}", kafka.bootstrap());
//! kafka.shutdown().await;
//! # }
//! ```

mod api;
mod cluster;
mod codes;
mod coordinator;
mod faults;
mod group;
mod handle;
mod log;
mod membership;
mod oauthbearer;
mod offsets;
mod sasl;
mod security;
mod server;
mod topics;
mod transactions;
pub mod wire;

pub use faults::{FaultRule, Faults};
pub use handle::{
    ConsumedRecord, EmbeddedKafka, EmbeddedKafkaBuilder, EmbeddedKafkaError, DEFAULT_SASL_USERS,
};
pub use security::TestCertificates;

/// An unsigned JWT (`alg: none`) for `subject`, valid for `lifetime`: what the embedded broker's
/// OAUTHBEARER (and Kafka's unsecured validator) accepts, for a test's own token endpoint.
///
/// ```
/// use kafka_listener::embedded::unsecured_token;
/// use std::time::Duration;
///
/// let token = unsecured_token("alice", Duration::from_secs(60));
/// assert_eq!(token.matches('.').count(), 2);
/// assert!(token.ends_with('.')); // no signature
/// ```
pub fn unsecured_token(subject: &str, lifetime: std::time::Duration) -> String {
    crate::client::jwt::unsecured(subject, lifetime)
}

#[cfg(test)]
mod tests;
