//! # kafka-listener
//!
//! Spring Kafka's listener model for Rust. Annotate an `async fn` with `#[kafka_listener]`, point
//! the [`App`] at the Spring Boot `application.yml` you already have, and get consumer
//! groups, deserialization, ack modes, retries, dead-letter topics and graceful shutdown.
//!
//! The crate is organised top to bottom, with no back-edges:
//!
//! * [`vocabulary`]: ack modes, offset reset and ordering, the words every layer below shares.
//! * [`config`]: `application.yml` / `application.properties` → typed Kafka properties.
//! * [`ack`]: the `Acknowledgment` handles of manual ack modes.
//! * [`registry`]: every `#[kafka_listener]` function, collected at link time.
//! * [`extract`]: the arguments a handler can take (`Json<T>`, `Key<K>`, `Headers`, …).
//! * [`wire`]: the length guard every request (embedded broker) and response (client) passes
//!   before kafka-protocol decodes it.
//! * [`client`]: connection settings shared by the data plane (rskafka) and the group client.
//! * [`group`]: the classic consumer-group protocol (join, sync, heartbeat, commit).
//! * [`container`]: per-partition ordered dispatch, ack modes, commits, rebalances.
//! * [`error`]: retries with back-off, dead-letter publishing.
//! * [`producer`]: the `KafkaTemplate` with Java-compatible partitioning.
//! * [`reply`]: `send_to` replies and the `ReplyingKafkaTemplate` (request/reply).
//! * [`app`]: the [`App`] builder that runs the registered listeners.
//! * `embedded` (feature `embedded`): an in-process, wire-level Kafka broker for tests.

#![warn(missing_docs)]

// Lets the macro's absolute paths (`::kafka_listener::…`) resolve inside this crate too.
extern crate self as kafka_listener;

pub mod ack;
pub mod app;
pub mod client;
pub mod config;
pub mod container;
pub mod error;
pub mod extract;
pub mod group;
pub mod producer;
pub mod record;
pub mod registry;
pub mod reply;
pub mod vocabulary;
// The length guard in front of kafka-protocol's decoders: public for the fuzz targets, not an API.
#[doc(hidden)]
pub mod wire;

#[cfg(feature = "embedded")]
pub mod embedded;

mod result;

pub use ack::{Acknowledgment, BatchAcknowledgment};
pub use app::{App, NewTopic, RunningApp};
pub use container::{ContainerEvent, SeekTo};
pub use error::ErrorHandler;
pub use extract::{Batch, Json, Key, RecordMeta, State};
pub use group::TopicPartition;
pub use kafka_listener_macros::kafka_listener;
pub use producer::KafkaTemplate;
pub use record::{ConsumerRecord, Header, Headers, TimestampType};
pub use reply::ReplyingKafkaTemplate;
pub use result::{Error, Result};

/// Items the `#[kafka_listener]` macro expands to. Not a public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::error::RetryTopicSpec;
    pub use crate::extract::{BatchContext, RecordContext, RequiredState};
    pub use crate::registry::{
        HandlerError, HandlerFuture, IntoHandlerResult, ListenerHandler, ListenerSpec, SpecValue,
    };
    pub use inventory;

    use crate::extract::{FromBatch, FromHeader, FromRecord};

    /// Asks a parameter type for the application state it needs, without requiring it to be
    /// an extractor (autoref specialization): a type that is not one gets its one compile
    /// error from the extraction, not a second one from here.
    ///
    /// `(&StateProbe::<T>::new()).record_state()` is `T::required_state()` when `T` is a
    /// `FromRecord`, else `None`; `batch_state` likewise for `FromBatch`.
    pub struct StateProbe<T>(std::marker::PhantomData<T>);

    impl<T> StateProbe<T> {
        /// A probe for `T`.
        #[allow(clippy::new_without_default)]
        pub fn new() -> Self {
            Self(std::marker::PhantomData)
        }
    }

    /// The probe's answer for record extractors.
    pub trait ProbeRecordState {
        /// What a record listener's `T` needs.
        fn record_state(&self) -> Option<RequiredState>;
    }

    /// The probe's answer for batch extractors.
    pub trait ProbeBatchState {
        /// What a batch listener's `T` needs.
        fn batch_state(&self) -> Option<RequiredState>;
    }

    /// The probe's answer for every other type: nothing.
    pub trait ProbeOtherState {
        /// Nothing.
        fn record_state(&self) -> Option<RequiredState> {
            None
        }
        /// Nothing.
        fn batch_state(&self) -> Option<RequiredState> {
            None
        }
    }

    impl<T> ProbeOtherState for &StateProbe<T> {}

    impl<T: FromRecord> ProbeRecordState for StateProbe<T> {
        fn record_state(&self) -> Option<RequiredState> {
            T::required_state()
        }
    }

    impl<T: FromBatch> ProbeBatchState for StateProbe<T> {
        fn batch_state(&self) -> Option<RequiredState> {
            T::required_state()
        }
    }

    /// Extracts the handler argument `argument` from a record.
    pub fn extract<T: FromRecord>(
        ctx: &RecordContext,
        argument: &'static str,
    ) -> Result<T, HandlerError> {
        T::from_record(ctx).map_err(|e| HandlerError::Extract {
            argument,
            source: e.into(),
        })
    }

    /// Extracts the handler argument `argument` from a batch.
    pub fn extract_batch<T: FromBatch>(
        ctx: &BatchContext,
        argument: &'static str,
    ) -> Result<T, HandlerError> {
        T::from_batch(ctx).map_err(|e| HandlerError::Extract {
            argument,
            source: e.into(),
        })
    }

    /// Extracts a `#[header("name")]` argument.
    pub fn header<T: FromHeader>(
        ctx: &RecordContext,
        name: &str,
        argument: &'static str,
    ) -> Result<T, HandlerError> {
        T::from_header(ctx, name).map_err(|source| HandlerError::Extract { argument, source })
    }

    /// The handler's return value as the container sees it.
    pub fn into_result<R: IntoHandlerResult>(returned: R) -> Result<(), HandlerError> {
        returned.into_handler_result()
    }

    /// A `send_to` listener's return value, sent as the reply to the record (to `topic`, or to
    /// the request's `kafka_replyTopic` header when `None`) before the adapter returns.
    /// The future is boxed: the producer's futures nest deep enough to exceed the compiler's
    /// query depth when inlined into a user's adapter.
    pub fn reply<'a, R: crate::reply::IntoReply>(
        ctx: &'a RecordContext,
        topic: Option<&'static str>,
        returned: R,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), HandlerError>> + Send + 'a>>
    {
        let reply = returned.into_reply();
        Box::pin(crate::reply::reply(ctx, topic, reply))
    }
}

/// Compiles the README's example, so the first code a user reads keeps building.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
