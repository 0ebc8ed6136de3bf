//! [`RetryTopicConfig`]: Spring's `RetryTopicConfigurationBuilder`, and the attribute form the
//! macro fills ([`RetryTopicSpec`]).

use std::time::Duration;

/// How retry topics are told apart (Spring's `TopicSuffixingStrategy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TopicSuffixing {
    /// `-retry-1000`, `-retry-2000`: the delay in ms (`@RetryableTopic`'s default).
    #[default]
    Delay,
    /// `-retry-0`, `-retry-1`: the index (Spring Boot's `spring.kafka.retry.topic.*` choice).
    Index,
}

/// Non-blocking retries through retry topics (Spring's `@RetryableTopic`): a failed record is
/// republished to the next retry topic with a due time, handled there once the time has come,
/// and after the last attempt published to the dead-letter topic.
///
/// The defaults are `@RetryableTopic`'s: 3 attempts (the first on the main topic included),
/// 1 s fixed delay, suffixes `-retry` and `-dlt`, topics named by delay, equal delays sharing
/// one topic, topics created at start-up with the main topic's partition count.
///
/// ```
/// use kafka_listener::error::{RetryTopicConfig, TopicSuffixing};
/// use std::time::Duration;
///
/// let config = RetryTopicConfig::default()
///     .attempts(4)
///     .exponential(Duration::from_secs(1), 2.0, Duration::from_secs(10))
///     .suffixing(TopicSuffixing::Index);
/// assert_eq!(config.delays(), [Duration::from_secs(1), Duration::from_secs(2), Duration::from_secs(4)]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryTopicConfig {
    /// Deliveries in all, the main topic's included (at least 1).
    pub attempts: u32,
    /// The first delay.
    pub delay: Duration,
    /// Growth per retry; 1.0 keeps the delay fixed.
    pub multiplier: f64,
    /// The longest delay.
    pub max_delay: Duration,
    /// Random spread of each delay (Spring Boot's `backoff.jitter`), drawn once per topic.
    pub jitter: Duration,
    /// Publish to a dead-letter topic after the last attempt (else log and skip).
    pub dlt: bool,
    /// Suffix of the retry topics (`-retry`).
    pub retry_topic_suffix: String,
    /// Suffix of the dead-letter topic (`-dlt`).
    pub dlt_suffix: String,
    /// How retry topics are told apart.
    pub suffixing: TopicSuffixing,
    /// Equal delays at the end of the chain share one topic (Spring's `SINGLE_TOPIC`, default).
    pub reuse_single_topic: bool,
    /// Create the retry and dead-letter topics at start-up, with the main topic's partitions.
    pub auto_create_topics: bool,
}

impl Default for RetryTopicConfig {
    fn default() -> Self {
        Self {
            attempts: 3,
            delay: Duration::from_secs(1),
            multiplier: 1.0,
            max_delay: Duration::MAX,
            jitter: Duration::ZERO,
            dlt: true,
            retry_topic_suffix: "-retry".into(),
            dlt_suffix: "-dlt".into(),
            suffixing: TopicSuffixing::Delay,
            reuse_single_topic: true,
            auto_create_topics: true,
        }
    }
}

impl RetryTopicConfig {
    /// Deliveries in all, the first on the main topic included.
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// The same delay before every retry.
    pub fn fixed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self.multiplier = 1.0;
        self
    }

    /// `initial`, growing by `multiplier` per retry up to `max_delay`.
    pub fn exponential(mut self, initial: Duration, multiplier: f64, max_delay: Duration) -> Self {
        self.delay = initial;
        self.multiplier = multiplier;
        self.max_delay = max_delay;
        self
    }

    /// Spreads each delay randomly by up to `jitter` (never below the first delay nor above
    /// the longest).
    pub fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// With `false`, records whose attempts are exhausted are logged and skipped.
    pub fn dlt(mut self, dlt: bool) -> Self {
        self.dlt = dlt;
        self
    }

    /// How retry topics are told apart.
    pub fn suffixing(mut self, suffixing: TopicSuffixing) -> Self {
        self.suffixing = suffixing;
        self
    }

    /// Whether equal delays at the end share one topic (default `true`).
    pub fn reuse_single_topic(mut self, reuse: bool) -> Self {
        self.reuse_single_topic = reuse;
        self
    }

    /// The retry and dead-letter topics' suffixes.
    pub fn suffixes(mut self, retry: impl Into<String>, dlt: impl Into<String>) -> Self {
        self.retry_topic_suffix = retry.into();
        self.dlt_suffix = dlt.into();
        self
    }

    /// Whether to create the topics at start-up (default `true`).
    pub fn auto_create_topics(mut self, create: bool) -> Self {
        self.auto_create_topics = create;
        self
    }

    /// The delay before each retry, `attempts - 1` of them, as Spring's
    /// `BackOffValuesGenerator` computes them once at start-up.
    pub fn delays(&self) -> Vec<Duration> {
        let multiplier = if self.multiplier.is_finite() && self.multiplier > 1.0 {
            self.multiplier
        } else {
            1.0
        };
        let max = self.max_delay.max(self.delay);
        let mut current = self.delay;
        (1..self.attempts)
            .map(|_| {
                let this = current.min(max);
                current = Duration::try_from_secs_f64(current.as_secs_f64() * multiplier)
                    .unwrap_or(Duration::MAX)
                    .min(max);
                self.with_jitter(this, max)
            })
            .collect()
    }

    fn with_jitter(&self, delay: Duration, max: Duration) -> Duration {
        if self.jitter.is_zero() {
            return delay;
        }
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u64(delay.as_nanos() as u64);
        // A uniform draw in [-1, 1] from the process's random hasher keys.
        let unit = (hasher.finish() as f64 / u64::MAX as f64) * 2.0 - 1.0;
        let spread = self.jitter.as_secs_f64() * unit;
        let jittered = (delay.as_secs_f64() + spread).max(self.delay.as_secs_f64());
        Duration::from_secs_f64(jittered).min(max)
    }
}

/// `#[kafka_listener(retry_topic(...))]` as written: what the macro fills in; unset fields take
/// `@RetryableTopic`'s defaults. Durations are Spring duration strings (`"1s"`, `"500ms"`,
/// `"PT2S"`), checked at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RetryTopicSpec {
    /// `attempts` (default 3).
    pub attempts: Option<u32>,
    /// `delay` (default `"1s"`).
    pub delay: Option<&'static str>,
    /// `multiplier` (default 1.0).
    pub multiplier: Option<f64>,
    /// `max_delay` (default none).
    pub max_delay: Option<&'static str>,
    /// `dlt` (default `true`).
    pub dlt: Option<bool>,
}

/// A `retry_topic(...)` setting that cannot be used, named for the start-up error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("retry_topic({setting} = {value:?}): {reason}")]
pub struct RetryTopicSpecError {
    /// The attribute's setting.
    pub setting: &'static str,
    /// The value as written.
    pub value: String,
    /// What is expected instead.
    pub reason: String,
}

impl RetryTopicSpec {
    /// The configuration this attribute declares.
    ///
    /// ```
    /// use kafka_listener::error::RetryTopicSpec;
    /// use std::time::Duration;
    ///
    /// let spec = RetryTopicSpec { attempts: Some(4), delay: Some("1s"), multiplier: Some(2.0),
    ///     max_delay: Some("10s"), dlt: Some(true) };
    /// let config = spec.to_config().unwrap();
    /// assert_eq!(config.delays().last(), Some(&Duration::from_secs(4)));
    /// let bad = RetryTopicSpec { delay: Some("soon"), ..Default::default() };
    /// assert!(bad.to_config().unwrap_err().to_string().contains("delay"));
    /// ```
    pub fn to_config(&self) -> Result<RetryTopicConfig, RetryTopicSpecError> {
        self.to_config_resolving(|text| Ok(text.to_owned()))
    }

    /// Like [`to_config`](Self::to_config), with the durations' `${…}` placeholders resolved
    /// by `resolve` first (the app resolves them against the configuration).
    ///
    /// ```
    /// use kafka_listener::error::RetryTopicSpec;
    /// use std::time::Duration;
    ///
    /// let spec = RetryTopicSpec { delay: Some("${orders.retry-delay:250ms}"), ..Default::default() };
    /// let config = spec
    ///     .to_config_resolving(|text| Ok(text.replace("${orders.retry-delay:250ms}", "250ms")))
    ///     .unwrap();
    /// assert_eq!(config.delay, Duration::from_millis(250));
    /// ```
    pub fn to_config_resolving(
        &self,
        resolve: impl Fn(&str) -> Result<String, String>,
    ) -> Result<RetryTopicConfig, RetryTopicSpecError> {
        let duration = |setting: &'static str, written: &str| {
            let text = resolve(written).map_err(|reason| RetryTopicSpecError {
                setting,
                value: written.to_owned(),
                reason,
            })?;
            crate::config::parse_duration(&text).ok_or_else(|| RetryTopicSpecError {
                setting,
                value: text.clone(),
                reason: format!("expected {}", crate::config::DURATION_FORMS),
            })
        };
        let mut config = RetryTopicConfig::default();
        if let Some(attempts) = self.attempts {
            if attempts == 0 {
                return Err(RetryTopicSpecError {
                    setting: "attempts",
                    value: "0".into(),
                    reason: "expected at least 1 (the first delivery counts)".into(),
                });
            }
            config.attempts = attempts;
        }
        if let Some(delay) = self.delay {
            config.delay = duration("delay", delay)?;
        }
        if let Some(multiplier) = self.multiplier {
            if !multiplier.is_finite() || multiplier < 1.0 {
                return Err(RetryTopicSpecError {
                    setting: "multiplier",
                    value: multiplier.to_string(),
                    reason: "expected a number of at least 1.0".into(),
                });
            }
            config.multiplier = multiplier;
        }
        if let Some(max_delay) = self.max_delay {
            config.max_delay = duration("max_delay", max_delay)?;
        }
        if let Some(dlt) = self.dlt {
            config.dlt = dlt;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_delays_repeat_and_exponential_ones_are_capped() {
        let s = Duration::from_secs;
        assert_eq!(RetryTopicConfig::default().delays(), [s(1), s(1)]);
        let exp = RetryTopicConfig::default()
            .attempts(6)
            .exponential(s(1), 3.0, s(10));
        assert_eq!(exp.delays(), [s(1), s(3), s(9), s(10), s(10)]);
        assert!(RetryTopicConfig::default().attempts(1).delays().is_empty());
    }

    #[test]
    fn jitter_stays_between_the_first_and_the_longest_delay() {
        let s = Duration::from_secs;
        let config = RetryTopicConfig::default()
            .attempts(20)
            .exponential(s(1), 2.0, s(8))
            .jitter(s(3));
        for delay in config.delays() {
            assert!(delay >= s(1) && delay <= s(8), "{delay:?}");
        }
    }

    #[test]
    fn spec_errors_name_the_setting_and_the_expected_form() {
        let spec = RetryTopicSpec {
            max_delay: Some("10 parsecs"),
            ..Default::default()
        };
        let error = spec.to_config().unwrap_err();
        assert_eq!(error.setting, "max_delay");
        assert!(error.to_string().contains("500ms"), "{error}");
        let zero = RetryTopicSpec {
            attempts: Some(0),
            ..Default::default()
        };
        assert_eq!(zero.to_config().unwrap_err().setting, "attempts");
        let shrinking = RetryTopicSpec {
            multiplier: Some(0.5),
            ..Default::default()
        };
        assert_eq!(shrinking.to_config().unwrap_err().setting, "multiplier");
    }
}
