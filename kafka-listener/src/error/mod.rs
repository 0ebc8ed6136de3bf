//! Error handling: back-off between retries and what dead-lettered records carry.

mod backoff;
mod dead_letter_headers;
mod dead_letter_publisher;

pub use backoff::{BackOff, BackOffExecution, ExponentialBackOff, FixedBackOff};
pub use dead_letter_headers::{dead_letter_headers, names as dlt_header_names, FailureDescription};
pub use dead_letter_publisher::{
    default_dead_letter_destination, DeadLetterDestination, DeadLetterPublisher,
    DestinationResolver,
};
