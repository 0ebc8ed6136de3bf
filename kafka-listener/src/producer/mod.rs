//! Producing records: Java-compatible partitioning (and, later, the `KafkaTemplate`).

mod partitioner;

pub use partitioner::{murmur2, partition_for_key};
