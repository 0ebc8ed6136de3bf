//! Each listener's error handler, from code or configuration: a listener's own handler
//! (`App::listener_error_handler`, else its `kafka-listener.listeners.<id>.error-handler.*`
//! keys over the app-wide ones), else the app-wide one (`App::error_handler`, else
//! `kafka-listener.error-handler.*`), else Spring's default. Code wins over configuration at the
//! same level; the more specific level wins over the app-wide one.

use std::collections::HashMap;

use crate::config::{
    BackOffProperties, ConfiguredErrorHandlers, ErrorHandlerProperties, RecovererKind,
};
use crate::error::{
    default_dead_letter_destination, DeadLetterDestination, DeadLetterPublisher, ErrorHandler,
    ExponentialBackOff, FixedBackOff, Recoverer,
};
use crate::producer::KafkaTemplate;

/// What the app was given for error handling.
pub(super) struct ErrorHandlerSources<'a> {
    /// `App::error_handler`.
    pub app_wide: Option<&'a ErrorHandler>,
    /// `App::listener_error_handler`.
    pub per_listener: &'a HashMap<String, ErrorHandler>,
    /// The configuration's sections, bound for `ids` in that order.
    pub configured: &'a ConfiguredErrorHandlers,
    /// The listener ids `configured.per_listener` follows.
    pub ids: &'a [&'a str],
}

/// Which source decides a listener's handler.
pub(super) enum Chosen<'a> {
    /// Given in code.
    Code(&'a ErrorHandler),
    /// From the configuration (a dead-letter recoverer needs a producer).
    Configured(&'a ErrorHandlerProperties),
    /// Spring's default: 10 deliveries, then log.
    Default,
}

impl ErrorHandlerSources<'_> {
    pub(super) fn choose(&self, id: &str) -> Chosen<'_> {
        if let Some(handler) = self.per_listener.get(id) {
            return Chosen::Code(handler);
        }
        let own = self
            .ids
            .iter()
            .position(|known| *known == id)
            .and_then(|i| self.configured.per_listener[i].as_ref());
        if let Some(configured) = own {
            return Chosen::Configured(configured);
        }
        if let Some(handler) = self.app_wide {
            return Chosen::Code(handler);
        }
        match &self.configured.app_wide {
            Some(configured) => Chosen::Configured(configured),
            None => Chosen::Default,
        }
    }
}

/// The handler `configured` describes; `template` publishes its dead letters.
pub(super) fn from_properties(
    configured: &ErrorHandlerProperties,
    template: Option<KafkaTemplate>,
) -> ErrorHandler {
    let recoverer = match (configured.recoverer, template) {
        (RecovererKind::DeadLetter, Some(template)) => {
            let publisher = DeadLetterPublisher::new(template);
            Recoverer::DeadLetter(match configured.dead_letter_topic_suffix.clone() {
                Some(suffix) => {
                    publisher.with_destination_resolver(move |record, _| DeadLetterDestination {
                        topic: format!("{}{suffix}", record.topic),
                        ..default_dead_letter_destination(record)
                    })
                }
                None => publisher,
            })
        }
        _ => Recoverer::LogAndSkip,
    };
    match configured.back_off {
        None => ErrorHandler::new(FixedBackOff::default(), recoverer),
        Some(BackOffProperties::Fixed {
            interval,
            max_attempts,
        }) => ErrorHandler::new(FixedBackOff::new(interval, max_attempts), recoverer),
        Some(BackOffProperties::Exponential {
            initial_interval,
            multiplier,
            max_interval,
            max_elapsed_time,
            max_attempts,
        }) => ErrorHandler::new(
            ExponentialBackOff::new(initial_interval, multiplier, max_interval, max_elapsed_time)
                .with_max_attempts(max_attempts),
            recoverer,
        ),
    }
}
