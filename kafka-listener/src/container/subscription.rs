//! What a group member subscribes to: a list of topics, or a pattern matched against the
//! cluster's topics on every metadata refresh (Spring's `topicPattern`, Java's
//! `subscribe(Pattern)`).

use std::time::Duration;

/// Kafka's internal topics, which a pattern never matches (Java's `exclude.internal.topics`).
const INTERNAL_TOPICS: &[&str] = &[
    "__consumer_offsets",
    "__transaction_state",
    "__share_group_state",
];

/// A topic pattern and how often the cluster's topics are matched against it again.
///
/// ```
/// use kafka_listener::container::TopicPattern;
/// use std::time::Duration;
///
/// let pattern = TopicPattern::new("orders-.*", Duration::from_secs(30)).unwrap();
/// assert!(pattern.matches("orders-eu"));
/// assert!(!pattern.matches("returns-orders-eu"), "the whole name must match, as in Java");
/// assert!(TopicPattern::new("orders-(", Duration::from_secs(30)).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct TopicPattern {
    regex: regex::Regex,
    refresh: Duration,
}

impl TopicPattern {
    /// Compiles `pattern`, which must match a whole topic name (Java's `Matcher.matches`).
    pub fn new(pattern: &str, refresh: Duration) -> Result<Self, regex::Error> {
        Ok(Self {
            regex: regex::Regex::new(&format!("^(?:{pattern})$"))?,
            refresh,
        })
    }

    /// `true` when `topic` is subscribed by this pattern.
    pub fn matches(&self, topic: &str) -> bool {
        !INTERNAL_TOPICS.contains(&topic) && self.regex.is_match(topic)
    }

    /// How often the topics are matched again (`metadata.max.age.ms`).
    pub fn refresh(&self) -> Duration {
        self.refresh
    }

    /// The cluster's topics that match, sorted.
    pub(crate) async fn matching_topics(
        &self,
        client: &rskafka::client::Client,
    ) -> Result<Vec<String>, rskafka::client::error::Error> {
        let mut topics: Vec<String> = client
            .list_topics()
            .await?
            .into_iter()
            .map(|topic| topic.name)
            .filter(|name| self.matches(name))
            .collect();
        topics.sort();
        Ok(topics)
    }
}

/// What a listener's group members subscribe to.
#[derive(Debug, Clone)]
pub enum Subscription {
    /// These topics.
    Topics(Vec<String>),
    /// Every topic the pattern matches, re-evaluated on each refresh.
    Pattern(TopicPattern),
}
