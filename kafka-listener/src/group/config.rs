//! [`GroupConfig`]: the consumer-group settings, named and defaulted as kafka-clients names and
//! defaults them, so the `spring.kafka.consumer.*` layer can map onto it one key at a time.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A `partition.assignment.strategy` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssignorKind {
    /// `org.apache.kafka.clients.consumer.RangeAssignor`: per topic, consecutive ranges.
    Range,
    /// `org.apache.kafka.clients.consumer.RoundRobinAssignor`: all partitions dealt in turn.
    RoundRobin,
    /// `org.apache.kafka.clients.consumer.CooperativeStickyAssignor`: balanced, sticky and
    /// incremental — only moved partitions are revoked.
    CooperativeSticky,
}

impl AssignorKind {
    /// Every assignor, in the order error messages list them.
    pub const ALL: [AssignorKind; 3] = [Self::Range, Self::RoundRobin, Self::CooperativeSticky];

    /// The protocol name sent in JoinGroup, identical to Java's `name()`.
    pub fn protocol_name(self) -> &'static str {
        match self {
            Self::Range => "range",
            Self::RoundRobin => "roundrobin",
            Self::CooperativeSticky => "cooperative-sticky",
        }
    }

    /// The Java class implementing it.
    pub fn java_class(self) -> &'static str {
        match self {
            Self::Range => "org.apache.kafka.clients.consumer.RangeAssignor",
            Self::RoundRobin => "org.apache.kafka.clients.consumer.RoundRobinAssignor",
            Self::CooperativeSticky => {
                "org.apache.kafka.clients.consumer.CooperativeStickyAssignor"
            }
        }
    }

    /// `true` for assignors that support the cooperative (incremental) rebalance protocol.
    pub fn is_cooperative(self) -> bool {
        matches!(self, Self::CooperativeSticky)
    }
}

impl fmt::Display for AssignorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.protocol_name())
    }
}

/// An assignor name that is neither a known short name nor a known Java class name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown partition.assignment.strategy `{name}`: use one of {accepted}")]
pub struct UnknownAssignor {
    /// The name given.
    pub name: String,
    /// The accepted names, comma-separated.
    pub accepted: String,
}

impl FromStr for AssignorKind {
    type Err = UnknownAssignor;

    /// Accepts short names (`range`, `roundrobin`, `cooperative-sticky`) and Java class names,
    /// ignoring surrounding whitespace.
    ///
    /// ```
    /// use kafka_listener::group::AssignorKind;
    /// assert_eq!("range".parse::<AssignorKind>().unwrap(), AssignorKind::Range);
    /// assert_eq!(
    ///     "org.apache.kafka.clients.consumer.CooperativeStickyAssignor".parse::<AssignorKind>().unwrap(),
    ///     AssignorKind::CooperativeSticky,
    /// );
    /// let err = "sticky".parse::<AssignorKind>().unwrap_err();
    /// assert!(err.to_string().contains("roundrobin"));
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        Self::ALL
            .into_iter()
            .find(|kind| {
                name == kind.protocol_name()
                    || name == kind.java_class()
                    || (name.eq_ignore_ascii_case(kind.protocol_name()))
            })
            .ok_or_else(|| UnknownAssignor {
                name: name.to_owned(),
                accepted: Self::ALL
                    .iter()
                    .flat_map(|k| [k.protocol_name(), k.java_class()])
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

pub use crate::vocabulary::{AutoOffsetReset, InvalidOffsetReset};

/// Consumer-group settings, with kafka-clients' defaults.
///
/// ```
/// use kafka_listener::group::{AssignorKind, GroupConfig};
/// use std::time::Duration;
///
/// let config = GroupConfig::new("order-service")
///     .session_timeout(Duration::from_secs(10))
///     .assignment_strategy(["cooperative-sticky"])
///     .unwrap();
/// assert_eq!(config.heartbeat_interval, Duration::from_secs(3));
/// assert_eq!(config.assignors, [AssignorKind::CooperativeSticky]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConfig {
    /// `group.id`.
    pub group_id: String,
    /// `session.timeout.ms` (45 s): the coordinator evicts a member silent for this long.
    pub session_timeout: Duration,
    /// `heartbeat.interval.ms` (3 s).
    pub heartbeat_interval: Duration,
    /// `max.poll.interval.ms` (300 s): the longest the owner may go without calling into the
    /// member; also the rebalance timeout sent in JoinGroup, as Java does.
    pub max_poll_interval: Duration,
    /// `partition.assignment.strategy` in preference order (Java's default: range,
    /// cooperative-sticky). The cooperative protocol is used only when every entry supports it.
    pub assignors: Vec<AssignorKind>,
    /// `group.instance.id`: makes the member static — a restart within the session timeout
    /// gets its partitions back with no rebalance, and close() does not leave the group.
    pub group_instance_id: Option<String>,
    /// `auto.offset.reset` (latest).
    pub auto_offset_reset: AutoOffsetReset,
    /// `client.rack`, sent in the subscription.
    pub client_rack: Option<String>,
    /// `metadata.max.age.ms` (5 min): how often the member re-reads its topics' partition
    /// counts; a change (partitions added, a subscribed topic created) triggers a rebalance,
    /// as in Java, so new partitions get consumed.
    pub metadata_max_age: Duration,
}

impl GroupConfig {
    /// Settings for `group_id` with kafka-clients' defaults.
    pub fn new(group_id: impl Into<String>) -> Self {
        Self {
            group_id: group_id.into(),
            session_timeout: Duration::from_secs(45),
            heartbeat_interval: Duration::from_secs(3),
            max_poll_interval: Duration::from_secs(300),
            assignors: vec![AssignorKind::Range, AssignorKind::CooperativeSticky],
            group_instance_id: None,
            auto_offset_reset: AutoOffsetReset::Latest,
            client_rack: None,
            metadata_max_age: Duration::from_secs(300),
        }
    }

    /// Sets `session.timeout.ms`.
    pub fn session_timeout(mut self, timeout: Duration) -> Self {
        self.session_timeout = timeout;
        self
    }

    /// Sets `heartbeat.interval.ms`.
    pub fn heartbeat_interval(mut self, interval: Duration) -> Self {
        self.heartbeat_interval = interval;
        self
    }

    /// Sets `max.poll.interval.ms` (and with it the rebalance timeout).
    pub fn max_poll_interval(mut self, interval: Duration) -> Self {
        self.max_poll_interval = interval;
        self
    }

    /// Sets `partition.assignment.strategy` from short or Java class names.
    pub fn assignment_strategy<I, S>(mut self, names: I) -> Result<Self, UnknownAssignor>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.assignors = names
            .into_iter()
            .map(|n| n.as_ref().parse())
            .collect::<Result<_, _>>()?;
        Ok(self)
    }

    /// Sets `group.instance.id` (static membership).
    pub fn group_instance_id(mut self, id: impl Into<String>) -> Self {
        self.group_instance_id = Some(id.into());
        self
    }

    /// Sets `auto.offset.reset`.
    pub fn auto_offset_reset(mut self, reset: AutoOffsetReset) -> Self {
        self.auto_offset_reset = reset;
        self
    }

    /// Sets `metadata.max.age.ms`.
    pub fn metadata_max_age(mut self, age: Duration) -> Self {
        self.metadata_max_age = age;
        self
    }

    /// Sets `client.rack`.
    pub fn client_rack(mut self, rack: impl Into<String>) -> Self {
        self.client_rack = Some(rack.into());
        self
    }

    /// `true` when the cooperative rebalance protocol applies: every configured assignor
    /// supports it (Java's rule, so a mixed list stays eager).
    pub fn is_cooperative(&self) -> bool {
        !self.assignors.is_empty() && self.assignors.iter().all(|a| a.is_cooperative())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_kafka_clients() {
        let config = GroupConfig::new("g");
        assert_eq!(config.session_timeout, Duration::from_secs(45));
        assert_eq!(config.max_poll_interval, Duration::from_secs(300));
        assert_eq!(
            config.assignors,
            [AssignorKind::Range, AssignorKind::CooperativeSticky]
        );
        assert!(!config.is_cooperative());
        assert_eq!(config.auto_offset_reset, AutoOffsetReset::Latest);
    }

    #[test]
    fn assignor_names_accept_short_and_java_class_names() {
        for kind in AssignorKind::ALL {
            assert_eq!(kind.protocol_name().parse::<AssignorKind>().unwrap(), kind);
            assert_eq!(kind.java_class().parse::<AssignorKind>().unwrap(), kind);
        }
        assert_eq!(
            " RoundRobin ".parse::<AssignorKind>().unwrap(),
            AssignorKind::RoundRobin
        );
    }

    #[test]
    fn unknown_assignor_lists_every_accepted_name() {
        let err = GroupConfig::new("g")
            .assignment_strategy(["range", "org.example.MyAssignor"])
            .unwrap_err();
        let message = err.to_string();
        assert!(message.contains("org.example.MyAssignor"), "{message}");
        for kind in AssignorKind::ALL {
            assert!(message.contains(kind.protocol_name()), "{message}");
            assert!(message.contains(kind.java_class()), "{message}");
        }
    }

    #[test]
    fn offset_reset_parses_case_insensitively_and_rejects_others() {
        assert_eq!(
            "EARLIEST".parse::<AutoOffsetReset>().unwrap(),
            AutoOffsetReset::Earliest
        );
        assert_eq!(
            "none".parse::<AutoOffsetReset>().unwrap(),
            AutoOffsetReset::None
        );
        assert!("smallest".parse::<AutoOffsetReset>().is_err());
    }
}
