//! Error handling: Spring's `DefaultErrorHandler` — retries with back-off, then a recoverer
//! (log and skip, or a dead-letter topic with Spring's headers).

mod backoff;
mod batch_failure;
mod dead_letter_headers;
mod dead_letter_publisher;
mod fatal;
mod handler;
mod retry_topic;

pub use backoff::{BackOff, BackOffExecution, ExponentialBackOff, FixedBackOff};
pub use batch_failure::BatchListenerFailed;
pub use dead_letter_headers::{dead_letter_headers, names as dlt_header_names, FailureDescription};
pub use dead_letter_publisher::{
    default_dead_letter_destination, DeadLetterDestination, DeadLetterPublisher,
    DestinationResolver,
};
pub use fatal::{is_fatal, Fatal, FatalExt};
pub use handler::{
    BatchFailurePoint, DeliveryFailure, ErrorHandler, RecordRecoverer, Recoverer, RecoveryFailed,
};
pub use retry_topic::{
    RetryChain, RetryStage, RetryTopicConfig, RetryTopicForwarder, RetryTopicSpec,
    RetryTopicSpecError, TopicSuffixing,
};
// The retry-topic header codec: what the container and its tests use, not an API.
#[doc(hidden)]
pub use retry_topic::{
    attempts_of, big_integer_bytes, due_time_of, forward_headers, parse_big_integer,
    retry_header_names,
};
