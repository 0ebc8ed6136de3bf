//! The words Spring Kafka users write for the container's choices — ack modes, where to start
//! without a committed offset, how a partition's records may overtake each other — defined
//! once, and shared by the configuration binder, the listener attributes, the group client
//! and the container.

use std::fmt;
use std::str::FromStr;

/// `spring.kafka.listener.ack-mode` / `ack_mode = "…"`: when the container commits offsets
/// (Spring Kafka's `ContainerProperties.AckMode`).
///
/// ```
/// use kafka_listener::config::{AckMode, KafkaProperties};
///
/// let props = KafkaProperties::from_yaml_str("spring.kafka.listener.ack-mode: manual_immediate").unwrap();
/// assert_eq!(props.listener.ack_mode, AckMode::ManualImmediate);
/// assert!(props.listener.ack_mode.is_manual());
/// assert_eq!(props.listener.ack_mode.spring_name(), "MANUAL_IMMEDIATE");
/// assert_eq!("count-time".parse(), Ok(AckMode::CountTime));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AckMode {
    /// Commit after each record's handler returns.
    Record,
    /// Commit after all records of one poll are handled (Spring's default).
    #[default]
    Batch,
    /// Like `Batch`, but only once `ack-time` has passed since the last commit.
    Time,
    /// Like `Batch`, but only once `ack-count` records were handled since the last commit.
    Count,
    /// `Time` or `Count`, whichever holds first.
    CountTime,
    /// `acknowledge()`d offsets are queued and committed after the poll's records.
    Manual,
    /// `acknowledge()` commits at once.
    ManualImmediate,
}

impl AckMode {
    /// Every mode with its Spring spelling, in Spring's order.
    pub const CHOICES: [(&'static str, AckMode); 7] = [
        ("RECORD", AckMode::Record),
        ("BATCH", AckMode::Batch),
        ("TIME", AckMode::Time),
        ("COUNT", AckMode::Count),
        ("COUNT_TIME", AckMode::CountTime),
        ("MANUAL", AckMode::Manual),
        ("MANUAL_IMMEDIATE", AckMode::ManualImmediate),
    ];

    /// Spring's spelling, e.g. `MANUAL_IMMEDIATE`.
    pub fn spring_name(self) -> &'static str {
        Self::CHOICES
            .iter()
            .find(|(_, mode)| *mode == self)
            .map(|(name, _)| *name)
            .expect("every mode is in CHOICES")
    }

    /// Whether the handler acknowledges (`MANUAL`, `MANUAL_IMMEDIATE`).
    pub fn is_manual(self) -> bool {
        matches!(self, AckMode::Manual | AckMode::ManualImmediate)
    }

    /// The Spring spellings, comma-separated, for error messages.
    pub fn names() -> String {
        Self::CHOICES.map(|(name, _)| name).join(", ")
    }
}

impl fmt::Display for AckMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.spring_name())
    }
}

/// Not one of Spring's seven ack modes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an ack mode: expected one of RECORD, BATCH, TIME, COUNT, COUNT_TIME, MANUAL, MANUAL_IMMEDIATE")]
pub struct InvalidAckMode(pub String);

impl FromStr for AckMode {
    type Err = InvalidAckMode;

    /// Spring Boot's relaxed forms: `manual_immediate`, `manual-immediate`, `MANUAL_IMMEDIATE`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let normalized = text.trim().to_ascii_uppercase().replace('-', "_");
        Self::CHOICES
            .iter()
            .find(|(name, _)| *name == normalized)
            .map(|&(_, mode)| mode)
            .ok_or_else(|| InvalidAckMode(text.to_owned()))
    }
}

/// `auto.offset.reset` / `spring.kafka.consumer.auto-offset-reset`: where to start when the
/// group has no committed offset for a partition, or the position is out of range.
///
/// ```
/// use kafka_listener::group::AutoOffsetReset;
///
/// assert_eq!("Earliest".parse(), Ok(AutoOffsetReset::Earliest));
/// assert!("oldest".parse::<AutoOffsetReset>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutoOffsetReset {
    /// The log start: the oldest available record.
    Earliest,
    /// The log end: only records produced from now on (Kafka's default).
    #[default]
    Latest,
    /// No reset: a partition without a committed offset is an error naming it, and an
    /// out-of-range position pauses the partition.
    None,
}

impl AutoOffsetReset {
    /// Every choice with its spelling.
    pub const CHOICES: [(&'static str, AutoOffsetReset); 3] = [
        ("earliest", AutoOffsetReset::Earliest),
        ("latest", AutoOffsetReset::Latest),
        ("none", AutoOffsetReset::None),
    ];
}

/// An `auto.offset.reset` value other than earliest / latest / none.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid auto.offset.reset `{0}`: use earliest, latest or none")]
pub struct InvalidOffsetReset(pub String);

impl FromStr for AutoOffsetReset {
    type Err = InvalidOffsetReset;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let normalized = s.trim().to_ascii_lowercase();
        Self::CHOICES
            .iter()
            .find(|(name, _)| *name == normalized)
            .map(|&(_, reset)| reset)
            .ok_or_else(|| InvalidOffsetReset(s.to_owned()))
    }
}

/// `kafka-listener.parallelism.ordering` / `ordering = "…"`: how records of one partition may
/// overtake each other when handled in parallel.
///
/// ```
/// use kafka_listener::container::DispatchOrdering;
///
/// assert_eq!("KEY".parse(), Ok(DispatchOrdering::Key));
/// assert!("keys".parse::<DispatchOrdering>().unwrap_err().contains("key, partition, unordered"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DispatchOrdering {
    /// Records with the same key are handled strictly in offset order; others run concurrently.
    #[default]
    Key,
    /// One record at a time, in offset order (the classic container).
    Partition,
    /// Any record may run as soon as there is room in the window.
    Unordered,
}

impl DispatchOrdering {
    /// The names accepted in configuration and in the `ordering` attribute.
    pub const CHOICES: [&'static str; 3] = ["key", "partition", "unordered"];
}

impl FromStr for DispatchOrdering {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "key" => Ok(Self::Key),
            "partition" => Ok(Self::Partition),
            "unordered" => Ok(Self::Unordered),
            other => Err(format!(
                "`{other}` is not an ordering: expected one of {}",
                Self::CHOICES.join(", ")
            )),
        }
    }
}
