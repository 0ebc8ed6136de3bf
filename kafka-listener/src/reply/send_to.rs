//! `send_to`: producing a listener's return value as a reply, before its record is acknowledged.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;

use super::{CORRELATION_ID, REPLY_PARTITION, REPLY_TOPIC};
use crate::config::KafkaProperties;
use crate::extract::{BoxError, RecordContext};
use crate::producer::{KafkaTemplate, ProducerRecord, SendError, ToPayload};
use crate::record::Headers;
use crate::registry::HandlerError;

/// What a `send_to` listener may return: `Result<T, E>` where `T` is a payload
/// ([`Json<_>`](crate::Json), `String`, `Vec<u8>`, `Bytes`, …) and `E` an error the container
/// hands to the error handler. `Ok(None)` (with `T = Option<_>`) sends no reply, as a `null`
/// return does in Spring.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent as a reply",
    label = "a `send_to` listener returns `Result<T, E>` with a payload `T` (Json<_>, String, Vec<u8>, …)",
    note = "the error type `E` must convert into `Box<dyn std::error::Error + Send + Sync>`"
)]
pub trait IntoReply {
    /// The reply's value (`None`: send no reply), or the handler's failure.
    fn into_reply(self) -> Result<Option<Bytes>, HandlerError>;
}

impl<T: ToPayload, E: Into<BoxError>> IntoReply for Result<T, E> {
    fn into_reply(self) -> Result<Option<Bytes>, HandlerError> {
        let value = self.map_err(|e| HandlerError::Failed {
            error_type: std::any::type_name::<E>(),
            source: e.into(),
        })?;
        value.to_payload().map_err(|e| HandlerError::Failed {
            error_type: std::any::type_name::<serde_json::Error>(),
            source: Box::new(e),
        })
    }
}

/// The producer replies go through, kept in the application state. [`App`](crate::App) puts one
/// there, which connects on the first reply with `spring.kafka.producer.*`; a
/// [`KafkaTemplate`] the application put in the state itself is used instead.
#[derive(Debug)]
pub struct ReplySender {
    properties: KafkaProperties,
    bootstrap: Option<String>,
    template: tokio::sync::OnceCell<KafkaTemplate>,
    topics: Mutex<HashMap<&'static str, String>>,
}

impl ReplySender {
    /// Replies configured by `properties` (`bootstrap` overrides their bootstrap servers).
    pub fn new(properties: KafkaProperties, bootstrap: Option<String>) -> Self {
        Self {
            properties,
            bootstrap,
            template: tokio::sync::OnceCell::new(),
            topics: Mutex::new(HashMap::new()),
        }
    }

    async fn template(&self) -> Result<&KafkaTemplate, SendError> {
        self.template
            .get_or_try_init(|| async {
                let mut connection = self.properties.producer_connection();
                if let Some(servers) = &self.bootstrap {
                    connection = connection.with_bootstrap_servers(servers.split(','));
                }
                let settings = crate::producer::ProducerSettings::from_properties(&self.properties);
                KafkaTemplate::connect(connection, settings).await
            })
            .await
    }

    /// `send_to`'s topic with `${…}` placeholders resolved (once per topic).
    fn resolve(&self, written: &'static str) -> Result<String, HandlerError> {
        let mut topics = self.topics.lock().expect("reply topics lock");
        if let Some(resolved) = topics.get(written) {
            return Ok(resolved.clone());
        }
        let resolved = self
            .properties
            .resolve_placeholders(written)
            .map_err(|e| failed(ReplyRouteError::Placeholder(e.to_string())))?;
        topics.insert(written, resolved.clone());
        Ok(resolved)
    }
}

/// Why a reply could not be addressed.
#[derive(Debug, thiserror::Error)]
enum ReplyRouteError {
    #[error(
        "`send_to` names no topic and the request has no {REPLY_TOPIC} header: give \
         `send_to = \"topic\"`, or send requests with a ReplyingKafkaTemplate"
    )]
    NoReplyTopic,
    #[error("the request's {REPLY_PARTITION} header is not a 4-byte big-endian int")]
    BadReplyPartition,
    #[error("the `send_to` topic cannot be resolved: {0}")]
    Placeholder(String),
    #[error(
        "no producer for replies in the application state: App provides one; a test calling \
         the adapter directly must put a KafkaTemplate into the state"
    )]
    NoProducer,
}

fn failed<E: std::error::Error + Send + Sync + 'static>(error: E) -> HandlerError {
    HandlerError::Failed {
        error_type: std::any::type_name::<E>(),
        source: Box::new(error),
    }
}

/// Sends a `send_to` listener's result as the reply to `ctx`'s record; resolves once the broker
/// acknowledged it, so the container acknowledges the request only after its reply exists.
pub(crate) async fn reply(
    ctx: &RecordContext,
    topic: Option<&'static str>,
    reply: Result<Option<Bytes>, HandlerError>,
) -> Result<(), HandlerError> {
    let Some(value) = reply? else {
        return Ok(());
    };
    let request = ctx.record();
    let sender = ctx.state().get::<ReplySender>();
    let topic = match (topic, &sender) {
        (Some(written), Some(sender)) => sender.resolve(written)?,
        (Some(written), None) => written.to_owned(),
        (None, _) => request
            .headers
            .last_value(REPLY_TOPIC)
            .map(|t| String::from_utf8_lossy(&t).into_owned())
            .ok_or_else(|| failed(ReplyRouteError::NoReplyTopic))?,
    };
    let partition = match request.headers.last_value(REPLY_PARTITION) {
        Some(bytes) => Some(
            <[u8; 4]>::try_from(&bytes[..])
                .map(i32::from_be_bytes)
                .map_err(|_| failed(ReplyRouteError::BadReplyPartition))?,
        ),
        None => None,
    };
    let mut headers = Headers::new();
    if let Some(correlation) = request.headers.last_value(CORRELATION_ID) {
        headers.push(CORRELATION_ID, Some(correlation));
    }
    let record = ProducerRecord {
        topic,
        partition,
        key: request.key.clone(),
        value: Some(value),
        headers,
        timestamp: None,
    };
    let own_template = ctx.state().get::<KafkaTemplate>();
    let sent = match (&own_template, &sender) {
        (Some(template), _) => template.send_record(record).await,
        (None, Some(sender)) => match sender.template().await {
            Ok(template) => template.send_record(record).await,
            Err(e) => Err(e),
        },
        (None, None) => return Err(failed(ReplyRouteError::NoProducer)),
    };
    let sent = sent.map_err(failed)?;
    tracing::debug!(
        listener = %ctx.listener().id,
        request.topic = %request.topic,
        request.partition = request.partition,
        request.offset = request.offset,
        reply.partition = sent.partition,
        reply.offset = sent.offset,
        "reply sent"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Json;

    #[test]
    fn ok_values_become_the_reply_payload_and_none_sends_nothing() {
        let json: Result<_, std::io::Error> = Ok(Json(serde_json::json!({"total": 3})));
        assert_eq!(
            json.into_reply().unwrap().as_deref(),
            Some(&br#"{"total":3}"#[..])
        );
        let text: Result<String, String> = Ok("done".into());
        assert_eq!(text.into_reply().unwrap().as_deref(), Some(&b"done"[..]));
        let nothing: Result<Option<String>, String> = Ok(None);
        assert_eq!(nothing.into_reply().unwrap(), None);
    }

    #[test]
    fn err_is_a_handler_failure_with_the_error_type() {
        let failed: Result<String, std::io::Error> = Err(std::io::Error::other("db down"));
        let err = failed.into_reply().unwrap_err();
        assert!(err.is_retryable());
        assert!(err.to_string().contains("db down"), "{err}");
    }
}
