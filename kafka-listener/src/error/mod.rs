//! Error handling: Spring's `DefaultErrorHandler` — retries with back-off, then a recoverer
//! (log and skip, or a dead-letter topic with Spring's headers).

mod backoff;
mod batch_failure;
mod dead_letter_headers;
mod dead_letter_publisher;
mod handler;

pub use backoff::{BackOff, BackOffExecution, ExponentialBackOff, FixedBackOff};
pub use batch_failure::BatchListenerFailed;
pub use dead_letter_headers::{dead_letter_headers, names as dlt_header_names, FailureDescription};
pub use dead_letter_publisher::{
    default_dead_letter_destination, DeadLetterDestination, DeadLetterPublisher,
    DestinationResolver,
};
pub use handler::{BatchFailurePoint, DeliveryFailure, ErrorHandler, Recoverer, RecoveryFailed};
