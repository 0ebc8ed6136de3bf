//! The topics of one main topic's retry chain, named as Spring Kafka's
//! `DestinationTopicPropertiesFactory` names them.

use std::time::Duration;

use super::config::{RetryTopicConfig, TopicSuffixing};

/// One stage after the main topic: a retry topic or the dead-letter topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryStage {
    /// The topic's name (`orders-retry-0`, `orders-retry-1000`, `orders-retry`, `orders-dlt`).
    pub topic: String,
    /// The topic's suffix after the main topic's name (`-retry-0`, `-dlt`).
    pub suffix: String,
    /// How long a record waits here before it is handled again (zero for the DLT).
    pub delay: Duration,
    /// The last retry topic of equal delays, reused until the attempts run out (Spring's
    /// `REUSABLE_RETRY_TOPIC`).
    pub reusable: bool,
    /// `true` for the dead-letter topic.
    pub is_dlt: bool,
}

/// The main topic followed by its retry topics and, unless disabled, its dead-letter topic.
///
/// ```
/// use kafka_listener::error::{RetryChain, RetryTopicConfig};
/// use std::time::Duration;
///
/// // @RetryableTopic's defaults: 3 attempts, 1 s fixed: one reused `-retry` topic.
/// let chain = RetryChain::new("orders", &RetryTopicConfig::default());
/// let names: Vec<_> = chain.stages().iter().map(|s| s.topic.as_str()).collect();
/// assert_eq!(names, ["orders-retry", "orders-dlt"]);
///
/// // Growing delays: a topic per delay, named by it.
/// let config = RetryTopicConfig::default()
///     .attempts(4)
///     .exponential(Duration::from_secs(1), 2.0, Duration::from_secs(10));
/// let chain = RetryChain::new("orders", &config);
/// let names: Vec<_> = chain.stages().iter().map(|s| s.topic.as_str()).collect();
/// assert_eq!(names, ["orders-retry-1000", "orders-retry-2000", "orders-retry-4000", "orders-dlt"]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryChain {
    main_topic: String,
    stages: Vec<RetryStage>,
    max_attempts: u32,
}

impl RetryChain {
    /// The chain of `main_topic` under `config`.
    pub fn new(main_topic: &str, config: &RetryTopicConfig) -> Self {
        let delays = config.delays();
        let retry = &config.retry_topic_suffix;
        let reuse = config.reuse_single_topic;
        let same_as_last = |d: Duration| delays.iter().filter(|&&x| x == d).count();
        // Spring: equal delays at the end of the list share one (reusable) topic.
        let reused_attempts = match delays.last() {
            Some(&last) if reuse && delays.len() > 1 => same_as_last(last) - 1,
            _ => 0,
        };
        let topic_count = delays.len() - reused_attempts;
        let fixed = config.suffixing == TopicSuffixing::Index
            || (delays.len() > 1 && delays.iter().all(|&d| d == delays[0]));
        let mut stages = Vec::with_capacity(topic_count + 1);
        for (index, &delay) in delays.iter().take(topic_count).enumerate() {
            let suffix = if reuse && topic_count == 1 {
                retry.clone()
            } else if fixed {
                format!("{retry}-{index}")
            } else {
                let by_delay = format!("{retry}-{}", delay.as_millis());
                let first = delays.iter().position(|&d| d == delay).unwrap_or(index);
                if !reuse && same_as_last(delay) > 1 {
                    format!("{by_delay}-{}", index - first)
                } else {
                    by_delay
                }
            };
            stages.push(RetryStage {
                topic: format!("{main_topic}{suffix}"),
                suffix,
                delay,
                reusable: reuse && same_as_last(delay) > 1,
                is_dlt: false,
            });
        }
        if config.dlt {
            stages.push(RetryStage {
                topic: format!("{main_topic}{}", config.dlt_suffix),
                suffix: config.dlt_suffix.clone(),
                delay: Duration::ZERO,
                reusable: false,
                is_dlt: true,
            });
        }
        Self {
            main_topic: main_topic.to_owned(),
            stages,
            max_attempts: delays.len() as u32 + 1,
        }
    }

    /// The main topic.
    pub fn main_topic(&self) -> &str {
        &self.main_topic
    }

    /// The stages after the main topic, in order.
    pub fn stages(&self) -> &[RetryStage] {
        &self.stages
    }

    /// The retry topics (the stages without the DLT).
    pub fn retry_stages(&self) -> impl Iterator<Item = &RetryStage> {
        self.stages.iter().filter(|s| !s.is_dlt)
    }

    /// The dead-letter stage, if the chain has one.
    pub fn dlt(&self) -> Option<&RetryStage> {
        self.stages.iter().find(|s| s.is_dlt)
    }

    /// Deliveries in all, the first one on the main topic included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// Where a record that failed on `topic` goes, as Spring's `DefaultDestinationTopicResolver`
    /// decides: `attempts` is the record's `retry_topic-attempts` (1 on the main topic). `None`
    /// means no stage is left and there is no DLT: log and skip.
    pub fn next_stage(&self, topic: &str, attempts: u32, retryable: bool) -> Option<&RetryStage> {
        let position = if topic == self.main_topic {
            None
        } else {
            self.stages.iter().position(|s| s.topic == topic)
        };
        if retryable && attempts < self.max_attempts {
            match position {
                Some(i) if self.stages[i].reusable => return Some(&self.stages[i]),
                Some(i) => {
                    if let Some(next) = self.stages.get(i + 1).filter(|s| !s.is_dlt) {
                        return Some(next);
                    }
                }
                None => {
                    if let Some(first) = self.stages.first().filter(|s| !s.is_dlt) {
                        return Some(first);
                    }
                }
            }
        }
        self.dlt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(config: &RetryTopicConfig) -> Vec<String> {
        RetryChain::new("t", config)
            .stages()
            .iter()
            .map(|s| s.suffix.clone())
            .collect()
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn suffixes_follow_springs_defaults() {
        let base = RetryTopicConfig::default();
        // Fixed delays share one reusable topic.
        assert_eq!(names(&base), ["-retry", "-dlt"]);
        assert_eq!(names(&base.clone().attempts(2)), ["-retry", "-dlt"]);
        assert_eq!(names(&base.clone().attempts(5)), ["-retry", "-dlt"]);
        // Exponential: by delay; the capped tail shares the last topic.
        let exp = base
            .clone()
            .attempts(5)
            .exponential(ms(1000), 2.0, ms(3000));
        assert_eq!(
            names(&exp),
            ["-retry-1000", "-retry-2000", "-retry-3000", "-dlt"]
        );
        let chain = RetryChain::new("t", &exp);
        assert!(chain.stages()[2].reusable && !chain.stages()[1].reusable);
        // Spring Boot's choice: index values.
        let boot = exp.clone().suffixing(TopicSuffixing::Index);
        assert_eq!(names(&boot), ["-retry-0", "-retry-1", "-retry-2", "-dlt"]);
    }

    #[test]
    fn multiple_topics_for_equal_delays_number_the_repeats() {
        let config = RetryTopicConfig::default()
            .attempts(4)
            .exponential(ms(1000), 2.0, ms(2000))
            .reuse_single_topic(false);
        assert_eq!(
            names(&config),
            ["-retry-1000", "-retry-2000-0", "-retry-2000-1", "-dlt"]
        );
        let fixed = RetryTopicConfig::default()
            .attempts(3)
            .reuse_single_topic(false);
        assert_eq!(names(&fixed), ["-retry-0", "-retry-1", "-dlt"]);
    }

    #[test]
    fn next_stage_walks_the_chain_then_the_dlt() {
        let config = RetryTopicConfig::default()
            .attempts(3)
            .exponential(ms(100), 2.0, ms(1000))
            .suffixing(TopicSuffixing::Index);
        let chain = RetryChain::new("t", &config);
        let next = |topic: &str, attempts, retryable| {
            chain
                .next_stage(topic, attempts, retryable)
                .map(|s| s.topic.clone())
        };
        assert_eq!(next("t", 1, true).as_deref(), Some("t-retry-0"));
        assert_eq!(next("t-retry-0", 2, true).as_deref(), Some("t-retry-1"));
        assert_eq!(next("t-retry-1", 3, true).as_deref(), Some("t-dlt"));
        assert_eq!(next("t", 1, false).as_deref(), Some("t-dlt"), "fatal");
        let no_dlt = RetryChain::new("t", &config.clone().dlt(false));
        assert_eq!(no_dlt.next_stage("t-retry-1", 3, true), None);
    }

    #[test]
    fn a_reusable_topic_keeps_the_record_until_the_attempts_run_out() {
        let chain = RetryChain::new("t", &RetryTopicConfig::default().attempts(4));
        let next = |attempts| chain.next_stage("t-retry", attempts, true).unwrap();
        assert_eq!(next(2).topic, "t-retry");
        assert_eq!(next(3).topic, "t-retry");
        assert_eq!(next(4).topic, "t-dlt");
    }
}
