//! `kafka-listener.error-handler.*` (every listener) and
//! `kafka-listener.listeners.<id>.error-handler.*` (one listener, key by key over the app-wide
//! ones): this crate's own keys for Spring's `DefaultErrorHandler`, which Spring Boot configures
//! only in code.
//!
//! ```yaml
//! kafka-listener:
//!   error-handler:
//!     back-off:
//!       type: exponential        # fixed | exponential
//!       initial-interval: 500ms
//!       multiplier: 2
//!       max-interval: 10s
//!       max-elapsed-time: 1m
//!       max-attempts: 5          # retries after the first delivery
//!     recoverer: dead-letter     # log | dead-letter
//!     dead-letter:
//!       topic-suffix: -dlt
//!   listeners:
//!     order-listener:
//!       error-handler:
//!         back-off:
//!           type: fixed
//!           interval: 1s
//!           max-attempts: 2
//! ```

use std::time::Duration;

use super::binder::Binder;
use super::error::ConfigError;
use super::kafka_properties::KafkaProperties;
use super::warning::ConfigWarning;

/// The app-wide section.
pub const APP_WIDE_PREFIX: &str = "kafka-listener.error-handler";

/// The section of listener `id`.
pub fn listener_prefix(id: &str) -> String {
    format!("kafka-listener.listeners.{id}.error-handler")
}

/// How long to wait between deliveries of a failed record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BackOffProperties {
    /// `type: fixed`: `interval` (default 0) apart, `max-attempts` retries (default 9).
    Fixed {
        /// `interval`.
        interval: Duration,
        /// `max-attempts`: retries after the first delivery.
        max_attempts: u64,
    },
    /// `type: exponential`: Spring's `ExponentialBackOff` defaults (2 s, × 1.5, at most 30 s,
    /// no elapsed-time or attempt limit).
    Exponential {
        /// `initial-interval`.
        initial_interval: Duration,
        /// `multiplier` (at least 1).
        multiplier: f64,
        /// `max-interval`.
        max_interval: Duration,
        /// `max-elapsed-time`.
        max_elapsed_time: Duration,
        /// `max-attempts`.
        max_attempts: u64,
    },
}

/// What runs once the retries are exhausted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecovererKind {
    /// `log`: log and skip (Spring's default).
    #[default]
    Log,
    /// `dead-letter`: publish to the dead-letter topic.
    DeadLetter,
}

/// One listener's error handler as configured; `None` fields keep the defaults.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ErrorHandlerProperties {
    /// `back-off.*`.
    pub back_off: Option<BackOffProperties>,
    /// `recoverer`.
    pub recoverer: RecovererKind,
    /// `dead-letter.topic-suffix` (Spring 4's `-dlt` when absent).
    pub dead_letter_topic_suffix: Option<String>,
}

const BACK_OFF_TYPES: &[(&str, bool)] = &[("fixed", false), ("exponential", true)];
const RECOVERERS: &[(&str, RecovererKind)] = &[
    ("log", RecovererKind::Log),
    ("dead-letter", RecovererKind::DeadLetter),
];

/// Reads each key from the listener's section first, then from the app-wide one.
struct Sections<'b, 'a> {
    binder: &'b mut Binder<'a>,
    prefixes: Vec<String>,
    /// A key was found in any section.
    found: bool,
    /// A key was found in the first (the listener's own) section.
    found_first: bool,
}

impl Sections<'_, '_> {
    fn get<T>(
        &mut self,
        suffix: &str,
        read: impl Fn(&mut Binder<'_>, &str) -> Result<Option<T>, ConfigError>,
    ) -> Result<Option<T>, ConfigError> {
        for (i, prefix) in self.prefixes.iter().enumerate() {
            if let Some(value) = read(self.binder, &format!("{prefix}.{suffix}"))? {
                self.found = true;
                self.found_first |= i == 0;
                return Ok(Some(value));
            }
        }
        Ok(None)
    }
}

/// The settings read from the listener's section over the app-wide one; `None` unless the
/// first section (the listener's, or the app-wide one for `listener: None`) has a key.
fn bind(
    binder: &mut Binder<'_>,
    listener: Option<&str>,
) -> Result<Option<ErrorHandlerProperties>, ConfigError> {
    let mut prefixes: Vec<String> = listener.map(listener_prefix).into_iter().collect();
    prefixes.push(APP_WIDE_PREFIX.to_owned());
    let mut sections = Sections {
        binder,
        prefixes,
        found: false,
        found_first: false,
    };
    let exponential = sections
        .get("back-off.type", |b, k| b.choice(k, BACK_OFF_TYPES))?
        .map(|l| l.value);
    let non_negative = "a whole number of at least 0";
    let max_attempts = sections.get("back-off.max-attempts", |b, k| {
        b.number::<u64>(k, non_negative)
    })?;
    let interval = sections.get("back-off.interval", |b, k| b.duration(k))?;
    let initial_interval = sections.get("back-off.initial-interval", |b, k| b.duration(k))?;
    let multiplier = sections.get("back-off.multiplier", |b, k| {
        Ok(b.parsed(k, "a number of at least 1.0", |s| {
            s.parse::<f64>().ok().filter(|m| m.is_finite() && *m >= 1.0)
        })?
        .map(|l| l.value))
    })?;
    let max_interval = sections.get("back-off.max-interval", |b, k| b.duration(k))?;
    let max_elapsed_time = sections.get("back-off.max-elapsed-time", |b, k| b.duration(k))?;
    let back_off = match exponential {
        Some(true) => Some(BackOffProperties::Exponential {
            initial_interval: initial_interval.unwrap_or(Duration::from_secs(2)),
            multiplier: multiplier.unwrap_or(1.5),
            max_interval: max_interval.unwrap_or(Duration::from_secs(30)),
            max_elapsed_time: max_elapsed_time.unwrap_or(Duration::MAX),
            max_attempts: max_attempts.unwrap_or(u64::MAX),
        }),
        Some(false) => Some(BackOffProperties::Fixed {
            interval: interval.unwrap_or(Duration::ZERO),
            max_attempts: max_attempts.unwrap_or(9),
        }),
        // Without a type, a fixed back-off's own keys still mean one.
        None if interval.is_some() || max_attempts.is_some() => Some(BackOffProperties::Fixed {
            interval: interval.unwrap_or(Duration::ZERO),
            max_attempts: max_attempts.unwrap_or(9),
        }),
        None => None,
    };
    let recoverer = sections
        .get("recoverer", |b, k| b.choice(k, RECOVERERS))?
        .map(|l| l.value)
        .unwrap_or_default();
    let dead_letter_topic_suffix = sections
        .get("dead-letter.topic-suffix", |b, k| b.string(k))?
        .map(|l| l.value);
    if !sections.found_first {
        return Ok(None);
    }
    Ok(Some(ErrorHandlerProperties {
        back_off,
        recoverer,
        dead_letter_topic_suffix,
    }))
}

/// What the configuration says of error handlers.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConfiguredErrorHandlers {
    /// `kafka-listener.error-handler.*`, if any key is set.
    pub app_wide: Option<ErrorHandlerProperties>,
    /// Per listener id given: `Some` when its own section has a key (merged over the app-wide
    /// keys).
    pub per_listener: Vec<Option<ErrorHandlerProperties>>,
    /// Every key under `kafka-listener` that nothing read: a typo, or an unknown listener id.
    pub warnings: Vec<ConfigWarning>,
}

/// Binds the app-wide section and the sections of `listener_ids`.
pub(crate) fn bind_error_handlers(
    properties: &KafkaProperties,
    listener_ids: &[&str],
) -> Result<ConfiguredErrorHandlers, ConfigError> {
    let mut binder = Binder::new(properties.environment());
    let app_wide = bind(&mut binder, None)?;
    let per_listener = listener_ids
        .iter()
        .map(|id| bind(&mut binder, Some(id)))
        .collect::<Result<_, _>>()?;
    // `kafka-listener.parallelism.*` is bound (and checked) with the rest of KafkaProperties.
    binder.map("kafka-listener.parallelism")?;
    let warnings = binder.unknown_file_keys("kafka-listener");
    Ok(ConfiguredErrorHandlers {
        app_wide,
        per_listener,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(
        yaml: &str,
        ids: &[&str],
    ) -> Result<(Vec<Option<ErrorHandlerProperties>>, Vec<ConfigWarning>), ConfigError> {
        let properties = KafkaProperties::from_yaml_str(yaml).unwrap();
        let configured = bind_error_handlers(&properties, ids)?;
        // Each listener's effective settings: its own section, else the app-wide one.
        let effective = configured
            .per_listener
            .iter()
            .map(|own| own.clone().or_else(|| configured.app_wide.clone()))
            .collect();
        Ok((effective, configured.warnings))
    }

    #[test]
    fn listener_keys_override_app_wide_keys_one_by_one() {
        let yaml = "kafka-listener:\n  error-handler:\n    back-off:\n      type: fixed\n      interval: 1s\n      max-attempts: 4\n    recoverer: dead-letter\n  listeners:\n    orders:\n      error-handler:\n        back-off.max-attempts: 1\n";
        let (handlers, warnings) = bound(yaml, &["orders", "refunds"]).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let orders = handlers[0].clone().unwrap();
        assert_eq!(
            orders.back_off,
            Some(BackOffProperties::Fixed {
                interval: Duration::from_secs(1),
                max_attempts: 1
            })
        );
        assert_eq!(orders.recoverer, RecovererKind::DeadLetter);
        let refunds = handlers[1].clone().unwrap();
        assert_eq!(
            refunds.back_off,
            Some(BackOffProperties::Fixed {
                interval: Duration::from_secs(1),
                max_attempts: 4
            })
        );
        let (none, _) = bound("spring.kafka.consumer.group-id: g", &["orders"]).unwrap();
        assert_eq!(none, [None]);
    }

    #[test]
    fn exponential_takes_springs_defaults_for_missing_keys() {
        let yaml = "kafka-listener.error-handler.back-off:\n  type: EXPONENTIAL\n  multiplier: 3\n";
        let (handlers, _) = bound(yaml, &["x"]).unwrap();
        assert_eq!(
            handlers[0].clone().unwrap().back_off,
            Some(BackOffProperties::Exponential {
                initial_interval: Duration::from_secs(2),
                multiplier: 3.0,
                max_interval: Duration::from_secs(30),
                max_elapsed_time: Duration::MAX,
                max_attempts: u64::MAX,
            })
        );
    }

    #[test]
    fn a_bad_value_names_its_yaml_path_its_line_and_the_expected_values() {
        let yaml = "kafka-listener:\n  listeners:\n    orders:\n      error-handler:\n        back-off:\n          type: fixd\n";
        let error = bound(yaml, &["orders"]).unwrap_err().to_string();
        assert!(
            error.contains("kafka-listener.listeners.orders.error-handler.back-off.type"),
            "{error}"
        );
        assert!(error.contains(":6:"), "line of the value: {error}");
        assert!(
            error.contains("fixed") && error.contains("exponential"),
            "{error}"
        );
        let yaml = "kafka-listener.error-handler.back-off.interval: soon\n";
        let error = bound(yaml, &[]).unwrap_err().to_string();
        assert!(
            error.contains("kafka-listener.error-handler.back-off.interval"),
            "{error}"
        );
        assert!(error.contains("500ms"), "{error}");
        let yaml = "kafka-listener.error-handler.back-off.multiplier: 0.5\n";
        assert!(bound(yaml, &[])
            .unwrap_err()
            .to_string()
            .contains("at least 1.0"));
    }

    #[test]
    fn typos_and_unknown_listener_ids_are_warned_about() {
        let yaml = "kafka-listener:\n  error-handler:\n    recoverr: log\n  listeners:\n    ordrs:\n      error-handler.recoverer: log\n";
        let (_, warnings) = bound(yaml, &["orders"]).unwrap();
        let keys: Vec<_> = warnings.iter().map(|w| w.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "kafka-listener.error-handler.recoverr",
                "kafka-listener.listeners.ordrs.error-handler.recoverer"
            ]
        );
        assert_eq!(
            warnings[0].suggestion.as_deref(),
            Some("kafka-listener.error-handler.recoverer")
        );
    }
}
