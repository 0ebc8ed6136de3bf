//! Producing records: the `KafkaTemplate` with Java-compatible partitioning.

mod delivery;
mod metadata;
mod partitioner;
mod payload;
mod serialize;
mod settings;
mod sticky;
mod template;

pub use metadata::MetadataError;
pub use partitioner::{murmur2, partition_for_key};
pub use payload::ToPayload;
pub use serialize::SerializerMismatch;
pub use settings::{Acks, CompressionType, ProducerSettings};
pub use template::{KafkaTemplate, ProducerRecord, SendError, SendResult};
