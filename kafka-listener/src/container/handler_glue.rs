//! Joins the registry's generated adapters to the partition workers: the acknowledgment seam,
//! the failure classification, and the per-record context.

use std::sync::Arc;
use std::time::Duration;

use super::ack_events::{AckEvent, AckEvents};
use super::worker::BatchDispatch;
use crate::ack::AckSink;
use crate::error::{BatchFailurePoint, BatchListenerFailed, DeliveryFailure, FailureDescription};
use crate::extract::{AppState, BatchContext, ExtractError, ListenerInfo, RecordContext};
use crate::record::ConsumerRecord;
use crate::registry::{BatchHandler, HandlerError, HandlerFuture, RecordHandler};

impl AckSink for AckEvents {
    fn acknowledge(&self, _topic: &str, _partition: i32, offset: i64) {
        self.send(AckEvent::Ack { offset });
    }

    fn nack(&self, _topic: &str, _partition: i32, offset: i64, sleep: Duration) {
        self.send(AckEvent::Nack { offset, sleep });
    }
}

impl DeliveryFailure for HandlerError {
    fn is_retryable(&self) -> bool {
        HandlerError::is_retryable(self)
    }

    fn failed_batch_record(&self) -> Option<BatchFailurePoint> {
        match self {
            HandlerError::Extract {
                source: ExtractError::InBatch { index, .. },
                ..
            } => Some(BatchFailurePoint {
                index: *index,
                earlier_records_processed: false,
            }),
            HandlerError::Failed { source, .. } => source
                .downcast_ref::<BatchListenerFailed>()
                .map(|failed| BatchFailurePoint {
                    index: failed.index,
                    earlier_records_processed: true,
                }),
            HandlerError::Extract { .. } => None,
        }
    }

    fn describe(&self) -> FailureDescription {
        let mut description = FailureDescription::of(self);
        description.retryable = HandlerError::is_retryable(self);
        match self {
            HandlerError::Failed { error_type, source } => {
                // A fatal marker names the error it wraps, as Spring names the exception.
                description.type_name = match source.downcast_ref::<crate::error::Fatal>() {
                    Some(fatal) => fatal.type_name().to_owned(),
                    None => (*error_type).to_owned(),
                };
                description.message = source.to_string();
                // The chain's first entry is the handler's error itself, now the message.
                if !description.causes.is_empty() {
                    description.causes.remove(0);
                }
            }
            HandlerError::Extract { source, .. } => {
                description.type_name = std::any::type_name_of_val(source).to_owned();
            }
        }
        description
    }
}

/// The dispatch function of a record listener: builds each record's context and calls the
/// generated adapter.
pub fn record_dispatch(
    handler: RecordHandler,
    listener: ListenerInfo,
    state: AppState,
) -> impl Fn(ConsumerRecord, AckEvents) -> HandlerFuture + Clone + Send + Sync + 'static {
    move |record, acks| {
        if let Some(reason) = record.corrupt_batch_reason() {
            return Box::pin(std::future::ready(Err(corrupt_batch(reason))));
        }
        let ctx = RecordContext::new(record, Arc::new(acks))
            .with_listener(listener.clone())
            .with_state(state.clone());
        handler(ctx)
    }
}

/// The dispatch function of a batch listener: builds each batch's context and calls the
/// generated adapter.
pub fn batch_dispatch(
    handler: BatchHandler,
    listener: ListenerInfo,
    state: AppState,
) -> BatchDispatch<HandlerError> {
    Arc::new(move |records, acks| {
        let corrupt = records
            .iter()
            .enumerate()
            .find_map(|(index, r)| Some((index, r.corrupt_batch_reason()?)));
        if let Some((index, reason)) = corrupt {
            let HandlerError::Extract { argument, source } = corrupt_batch(reason) else {
                unreachable!("corrupt_batch builds an extraction error")
            };
            return Box::pin(std::future::ready(Err(HandlerError::Extract {
                argument,
                source: ExtractError::InBatch {
                    index,
                    source: Box::new(source),
                },
            })));
        }
        let ctx = BatchContext::new(records, Arc::new(acks))
            .with_listener(listener.clone())
            .with_state(state.clone());
        handler(ctx)
    })
}

/// The error a record standing in for an unreadable batch fails with, before any extractor
/// runs: not retryable, so the recoverer gets it at once.
fn corrupt_batch(reason: String) -> HandlerError {
    HandlerError::Extract {
        argument: "record batch",
        source: ExtractError::CorruptBatch { reason },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::IntoHandlerResult;

    #[derive(Debug, thiserror::Error)]
    #[error("sku {0} unknown")]
    struct OrderError(&'static str);

    #[test]
    fn handler_failures_describe_the_users_error_type_and_message() {
        let failed: Result<(), OrderError> = Err(OrderError("a-1"));
        let error = failed.into_handler_result().unwrap_err();
        assert!(DeliveryFailure::is_retryable(&error));
        let description = error.describe();
        assert!(
            description.type_name.ends_with("OrderError"),
            "{description:?}"
        );
        assert_eq!(description.message, "sku a-1 unknown");
        assert!(description.causes.is_empty());
    }

    #[test]
    fn a_fatal_handler_error_is_not_retryable_and_names_the_wrapped_type() {
        let failed: Result<(), crate::error::Fatal> =
            Err(crate::error::Fatal::new(OrderError("b-2")));
        let error = failed.into_handler_result().unwrap_err();
        assert!(!DeliveryFailure::is_retryable(&error));
        let description = error.describe();
        assert!(
            description.type_name.ends_with("OrderError"),
            "{description:?}"
        );
        assert_eq!(description.message, "sku b-2 unknown");
    }

    #[tokio::test]
    async fn acknowledgments_from_handlers_reach_the_worker_channel() {
        let (events, mut receiver) = AckEvents::channel();
        let sink: Arc<dyn AckSink> = Arc::new(events);
        sink.acknowledge("t", 0, 5);
        sink.nack("t", 0, 6, Duration::from_millis(1));
        assert_eq!(receiver.recv().await, Some(AckEvent::Ack { offset: 5 }));
        assert!(matches!(
            receiver.recv().await,
            Some(AckEvent::Nack { offset: 6, .. })
        ));
    }
}
