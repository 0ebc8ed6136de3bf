//! Start-up validation of the registered listeners: every problem found, each naming the
//! listener's function and source location and saying what to change.

use super::{ListenerLocation, ListenerSpec, SpecValue};
use std::collections::HashMap;
use std::fmt;

/// The canonical ack mode name for `value`, accepting Spring Boot's relaxed forms
/// (`manual_immediate`, `manual-immediate`, `MANUAL_IMMEDIATE`).
///
/// ```
/// use kafka_listener::registry::canonical_ack_mode;
/// assert_eq!(canonical_ack_mode("manual-immediate"), Some("MANUAL_IMMEDIATE"));
/// assert_eq!(canonical_ack_mode("count_time"), Some("COUNT_TIME"));
/// assert_eq!(canonical_ack_mode("MANUEL"), None);
/// ```
pub fn canonical_ack_mode(value: &str) -> Option<&'static str> {
    value
        .parse::<crate::vocabulary::AckMode>()
        .ok()
        .map(crate::vocabulary::AckMode::spring_name)
}

/// Settings that apply to every listener unless it overrides them, from the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenerDefaults {
    /// `spring.kafka.consumer.group-id`.
    pub group_id: Option<String>,
    /// `spring.kafka.listener.ack-mode`.
    pub ack_mode: Option<String>,
}

/// One problem with one listener's declaration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ListenerSpecError {
    /// Two listeners have the same id.
    #[error(
        "listeners {first} and {second} share the id `{id}`: give one of them a distinct \
         `id = \"…\"` in #[kafka_listener]"
    )]
    DuplicateId {
        /// The shared id.
        id: &'static str,
        /// The listener registered first.
        first: ListenerLocation,
        /// The other listener.
        second: ListenerLocation,
    },
    /// A group-managed listener has no group id.
    #[error(
        "listener {listener} subscribes through a consumer group but has no group id: set \
         `group_id = \"…\"` in #[kafka_listener] or spring.kafka.consumer.group-id"
    )]
    MissingGroupId {
        /// The listener.
        listener: ListenerLocation,
    },
    /// Neither topics nor a topic pattern.
    #[error("listener {listener} consumes nothing: set `topics = […]` or `topic_pattern = \"…\"`")]
    NoTopics {
        /// The listener.
        listener: ListenerLocation,
    },
    /// Both topics and a topic pattern.
    #[error("listener {listener} sets both `topics` and `topic_pattern`: keep one of them")]
    TopicsAndPattern {
        /// The listener.
        listener: ListenerLocation,
    },
    /// An empty topic name.
    #[error("listener {listener} lists an empty topic name: remove it or name the topic")]
    EmptyTopic {
        /// The listener.
        listener: ListenerLocation,
    },
    /// Manual partitions with a pattern subscription.
    #[error(
        "listener {listener} sets `partitions` with `topic_pattern`: manual assignment needs \
         `topics = […]`"
    )]
    PartitionsWithPattern {
        /// The listener.
        listener: ListenerLocation,
    },
    /// A negative partition number.
    #[error("listener {listener} assigns partition {partition}: partitions are numbered from 0")]
    NegativePartition {
        /// The listener.
        listener: ListenerLocation,
        /// The partition written.
        partition: i32,
    },
    /// `concurrency = 0`.
    #[error("listener {listener} has `concurrency = 0`: it needs at least one consumer")]
    ZeroConcurrency {
        /// The listener.
        listener: ListenerLocation,
    },
    /// An ack mode Spring does not have.
    #[error(
        "listener {listener} has `ack_mode = \"{value}\"`, which is not an ack mode{}: use one of \
         RECORD, BATCH, TIME, COUNT, COUNT_TIME, MANUAL, MANUAL_IMMEDIATE",
        suggestion.map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default()
    )]
    UnknownAckMode {
        /// The listener.
        listener: ListenerLocation,
        /// The value written.
        value: String,
        /// The closest ack mode, if one is close.
        suggestion: Option<&'static str>,
    },
    /// A record-only setting on a batch listener.
    #[error(
        "listener {listener} is a batch listener with ack mode RECORD, which acknowledges single \
         records: use BATCH, MANUAL or MANUAL_IMMEDIATE"
    )]
    RecordAckModeOnBatch {
        /// The listener.
        listener: ListenerLocation,
    },
    /// The handler takes an acknowledgment that its ack mode never honours.
    #[error(
        "listener {listener} takes an `Acknowledgment` but its ack mode is {ack_mode}: set \
         `ack_mode = \"MANUAL\"` or `\"MANUAL_IMMEDIATE\"` (or spring.kafka.listener.ack-mode)"
    )]
    AcknowledgmentWithoutManualAckMode {
        /// The listener.
        listener: ListenerLocation,
        /// The effective ack mode.
        ack_mode: &'static str,
    },
}

/// Every problem found in the listeners' declarations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors(pub Vec<ListenerSpecError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} invalid listener declaration(s):", self.0.len())?;
        for error in &self.0 {
            write!(f, "\n  - {error}")?;
        }
        Ok(())
    }
}

fn is_placeholder(value: &str) -> bool {
    value.contains("${")
}

/// Checks `specs` as a whole (ids unique) and one by one. Settings still holding a `${…}`
/// placeholder are checked once the runtime has resolved them, not here.
pub fn validate(
    specs: &[&ListenerSpec],
    defaults: &ListenerDefaults,
) -> Result<(), ValidationErrors> {
    let mut errors = Vec::new();
    let mut seen: HashMap<&str, &ListenerSpec> = HashMap::new();
    for spec in specs {
        // Every later duplicate is reported against the first listener with that id.
        let first = *seen.entry(spec.id()).or_insert(spec);
        if !std::ptr::eq(first, *spec) {
            errors.push(ListenerSpecError::DuplicateId {
                id: spec.id(),
                first: first.location(),
                second: spec.location(),
            });
        }
        check_one(spec, defaults, &mut errors);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors(errors))
    }
}

fn check_one(
    spec: &ListenerSpec,
    defaults: &ListenerDefaults,
    errors: &mut Vec<ListenerSpecError>,
) {
    let listener = spec.location();
    match (spec.topics.is_empty(), spec.topic_pattern) {
        (true, None) => errors.push(ListenerSpecError::NoTopics { listener }),
        (false, Some(_)) => errors.push(ListenerSpecError::TopicsAndPattern { listener }),
        _ => {}
    }
    if spec.topics.iter().any(|t| t.trim().is_empty()) {
        errors.push(ListenerSpecError::EmptyTopic { listener });
    }
    if !spec.partitions.is_empty() && spec.topic_pattern.is_some() {
        errors.push(ListenerSpecError::PartitionsWithPattern { listener });
    }
    if let Some(&partition) = spec.partitions.iter().find(|p| **p < 0) {
        errors.push(ListenerSpecError::NegativePartition {
            listener,
            partition,
        });
    }
    if spec.uses_group_management() && spec.group_id_or(defaults.group_id.as_deref()).is_none() {
        errors.push(ListenerSpecError::MissingGroupId { listener });
    }
    if spec.concurrency == Some(SpecValue::Literal(0)) {
        errors.push(ListenerSpecError::ZeroConcurrency { listener });
    }
    check_ack_mode(spec, defaults, errors);
}

fn check_ack_mode(
    spec: &ListenerSpec,
    defaults: &ListenerDefaults,
    errors: &mut Vec<ListenerSpecError>,
) {
    let listener = spec.location();
    let written = spec.ack_mode.or(defaults.ack_mode.as_deref());
    let ack_mode = match written {
        // Spring's default ack mode.
        None => "BATCH",
        Some(value) if is_placeholder(value) => return,
        Some(value) => match canonical_ack_mode(value) {
            Some(mode) => mode,
            None => {
                errors.push(ListenerSpecError::UnknownAckMode {
                    listener,
                    value: value.to_owned(),
                    suggestion: closest_ack_mode(value),
                });
                return;
            }
        },
    };
    if spec.is_batch() && ack_mode == "RECORD" {
        errors.push(ListenerSpecError::RecordAckModeOnBatch { listener });
    }
    if spec.takes_acknowledgment && !ack_mode.starts_with("MANUAL") {
        errors.push(ListenerSpecError::AcknowledgmentWithoutManualAckMode { listener, ack_mode });
    }
}

/// The ack mode within a small edit distance of `value`, for "did you mean".
fn closest_ack_mode(value: &str) -> Option<&'static str> {
    let normalized = value.trim().to_ascii_uppercase().replace('-', "_");
    crate::vocabulary::AckMode::CHOICES
        .into_iter()
        .map(|(mode, _)| (strsim::levenshtein(&normalized, mode), mode))
        .filter(|(distance, mode)| *distance <= mode.len() / 3 + 1)
        .min()
        .map(|(_, mode)| mode)
}
