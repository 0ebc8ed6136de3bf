//! Producing records: the `KafkaTemplate` with Java-compatible partitioning.

mod metadata;
mod partitioner;
mod payload;
mod sticky;
mod template;

pub use metadata::MetadataError;
pub use partitioner::{murmur2, partition_for_key};
pub use payload::ToPayload;
pub use template::{
    CompressionType, KafkaTemplate, ProducerRecord, ProducerSettings, SendError, SendResult,
};
