//! Checks of the attribute as a whole: what cannot be caught while parsing one argument.

use super::{Errors, ListenerArgs, Setting};
use crate::suggest::did_you_mean;
use proc_macro2::Span;

/// Spring Kafka's seven ack modes.
pub(crate) const ACK_MODES: &[&str] = &[
    "RECORD",
    "BATCH",
    "TIME",
    "COUNT",
    "COUNT_TIME",
    "MANUAL",
    "MANUAL_IMMEDIATE",
];

pub(super) fn check(args: &ListenerArgs) -> syn::Result<()> {
    let mut errors = Errors::default();
    match (&args.topics, &args.topic_pattern) {
        (Some(_), Some(pattern)) => errors.push(syn::Error::new(
            pattern.name.span(),
            "`topics` and `topic_pattern` cannot be used together: keep one of them",
        )),
        (None, None) => errors.push(syn::Error::new(
            Span::call_site(),
            "#[kafka_listener] needs something to consume: add `topics = [\"…\"]` or \
             `topic_pattern = \"…\"`",
        )),
        _ => {}
    }
    if let Some(topics) = &args.topics {
        if topics.value.is_empty() {
            errors.push(syn::Error::new(
                topics.name.span(),
                "`topics` is empty: list at least one topic",
            ));
        }
        for topic in topics.value.iter().filter(|t| t.value().trim().is_empty()) {
            errors.push(syn::Error::new(
                topic.span(),
                "a topic name cannot be empty",
            ));
        }
        for (i, topic) in topics.value.iter().enumerate() {
            if topics.value[..i].iter().any(|t| t.value() == topic.value()) {
                errors.push(syn::Error::new(
                    topic.span(),
                    format!("topic `{}` is listed twice", topic.value()),
                ));
            }
        }
    }
    if let Some(pattern) = &args.topic_pattern {
        if pattern.value.value().trim().is_empty() {
            errors.push(syn::Error::new(
                pattern.value.span(),
                "`topic_pattern` cannot be empty",
            ));
        }
    }
    if let Some(partitions) = &args.partitions {
        if args.topic_pattern.is_some() {
            errors.push(syn::Error::new(
                partitions.name.span(),
                "`partitions` assigns partitions of the listed `topics`; it cannot be used with \
                 `topic_pattern`",
            ));
        }
        if partitions.value.is_empty() {
            errors.push(syn::Error::new(
                partitions.name.span(),
                "`partitions` is empty: list at least one partition",
            ));
        }
        for (i, (partition, span)) in partitions.value.iter().enumerate() {
            if partitions.value[..i].iter().any(|(p, _)| p == partition) {
                errors.push(syn::Error::new(
                    *span,
                    format!("partition {partition} is listed twice"),
                ));
            }
        }
        for (partition, span) in partitions.value.iter().filter(|(p, _)| *p < 0) {
            errors.push(syn::Error::new(
                *span,
                format!("partition {partition} does not exist: partitions are numbered from 0"),
            ));
        }
    }
    for (name, value) in [("id", &args.id), ("group_id", &args.group_id)] {
        if let Some(value) = value.as_ref().filter(|v| v.value().trim().is_empty()) {
            errors.push(syn::Error::new(
                value.span(),
                format!("`{name}` cannot be empty: remove it or give a name"),
            ));
        }
    }
    if let Some((Setting::Literal(0), span)) = &args.concurrency {
        errors.push(syn::Error::new(
            *span,
            "`concurrency = 0` would start no consumer: use 1 or more",
        ));
    }
    if let Some((Setting::Literal(0), span)) = &args.parallelism {
        errors.push(syn::Error::new(
            *span,
            "`parallelism = 0` would handle no record: use 1 (sequential) or more",
        ));
    }
    for (i, (key, _)) in args.properties.iter().enumerate() {
        if args.properties[..i].iter().any(|(k, _)| k == key) {
            errors.push(syn::Error::new(
                args.properties_span.unwrap_or_else(Span::call_site),
                format!("property `{key}` is set twice: keep one"),
            ));
        }
    }
    if let (true, Some(span)) = (args.batch, args.retry_topic_span) {
        errors.push(syn::Error::new(
            span,
            "retry topics forward single records: a batch listener cannot use `retry_topic` \
             (Spring's @RetryableTopic does not support batch listeners either); use a record \
             listener, or an error handler with a dead-letter recoverer",
        ));
    }
    if let Some(send_to) = &args.send_to {
        if args.batch {
            errors.push(syn::Error::new(
                send_to.name.span(),
                "`send_to` replies to one record with the handler's result; a batch listener \
                 cannot use it (send replies with a KafkaTemplate instead)",
            ));
        }
        if let Some(topic) = send_to
            .value
            .as_ref()
            .filter(|t| t.value().trim().is_empty())
        {
            errors.push(syn::Error::new(
                topic.span(),
                "the `send_to` topic cannot be empty: name a topic, or write a bare `send_to` to \
                 reply to the request's kafka_replyTopic header",
            ));
        }
    }
    if let Some(ack_mode) = &args.ack_mode {
        let written = ack_mode.value();
        if !written.contains("${") {
            let normalized = written.trim().to_ascii_uppercase().replace('-', "_");
            if !ACK_MODES.contains(&normalized.as_str()) {
                errors.push(syn::Error::new(
                    ack_mode.span(),
                    format!(
                        "`{written}` is not one of Spring's ack modes ({}){}",
                        ACK_MODES.join(", "),
                        did_you_mean(&normalized, ACK_MODES)
                    ),
                ));
            } else if args.batch && normalized == "RECORD" {
                errors.push(syn::Error::new(
                    ack_mode.span(),
                    "ack mode RECORD acknowledges single records; a batch listener uses BATCH, \
                     MANUAL or MANUAL_IMMEDIATE",
                ));
            }
        }
    }
    errors.finish(())
}

/// Checks between the attribute and the function: an `Acknowledgment` parameter is only ever
/// filled in the manual ack modes (Spring fails such a listener at start).
pub(crate) fn check_acknowledgment(
    args: &ListenerArgs,
    acknowledgment: Option<Span>,
) -> syn::Result<()> {
    if let (Some(send_to), Some(parameter)) = (&args.send_to, acknowledgment) {
        // The reply is sent after the function returns; an acknowledgment inside it could
        // commit the request before its reply exists.
        let mut error = syn::Error::new(
            parameter,
            "a `send_to` listener cannot take an acknowledgment: the container acknowledges the \
             record once the reply is sent, and acknowledging inside the function could commit \
             the request before its reply exists",
        );
        error.combine(syn::Error::new(
            send_to.name.span(),
            "remove the acknowledgment parameter, or drop `send_to` and send the reply with a \
             KafkaTemplate before acknowledging",
        ));
        return Err(error);
    }
    let (Some(ack_mode), Some(parameter)) = (&args.ack_mode, acknowledgment) else {
        return Ok(());
    };
    let written = ack_mode.value();
    let normalized = written.trim().to_ascii_uppercase().replace('-', "_");
    if written.contains("${") || normalized.starts_with("MANUAL") {
        return Ok(());
    }
    let mut error = syn::Error::new(
        parameter,
        format!(
            "an acknowledgment is only handed to listeners in MANUAL or MANUAL_IMMEDIATE ack \
             mode, but this listener sets `ack_mode = \"{written}\"`"
        ),
    );
    error.combine(syn::Error::new(
        ack_mode.span(),
        "set `ack_mode = \"MANUAL\"` or `\"MANUAL_IMMEDIATE\"`, or remove the acknowledgment",
    ));
    Err(error)
}
