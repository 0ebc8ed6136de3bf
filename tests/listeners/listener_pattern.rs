//! Topic pattern subscriptions (`topic_pattern`, Spring's `topicPattern`): every matching topic
//! is consumed, a matching topic created later is picked up on the next metadata refresh, and
//! topics that do not match in full are left alone.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_listener::{kafka_listener, App, RecordMeta, State};
use kafka_listener_suite::{eventually, unique_name, TestKafka};

#[derive(Default)]
struct Seen(Mutex<BTreeSet<(String, String)>>);

impl Seen {
    fn add(&self, topic: &str, value: String) {
        self.0.lock().unwrap().insert((topic.to_owned(), value));
    }

    fn topics(&self) -> BTreeSet<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(t, _)| t.clone())
            .collect()
    }
}

#[kafka_listener(
    id = "pattern-listener",
    topic_pattern = "${test.prefix}-(eu|us)-.*",
    group_id = "${test.group}"
)]
async fn regional_orders(value: String, meta: RecordMeta, seen: State<Seen>) {
    seen.add(&meta.topic, value);
}

#[tokio::test]
async fn topic_pattern_consumes_matching_topics_including_ones_created_later() {
    let kafka = TestKafka::start().await;
    let prefix = unique_name("pattern");
    let group = unique_name("pattern-group");
    let eu = format!("{prefix}-eu-orders");
    let us_later = format!("{prefix}-us-orders");
    let not_matching = format!("x-{prefix}-eu-orders");
    for topic in [&eu, &not_matching] {
        kafka.create_topic(topic, 1).await;
    }
    let template = kafka.template().await;
    for topic in [&eu, &not_matching] {
        template
            .send(topic, "k", "before start".to_owned())
            .await
            .unwrap();
    }
    let yaml = format!(
        "spring.kafka:\n  consumer:\n    auto-offset-reset: earliest\n    properties:\n      metadata.max.age.ms: 300\n  listener:\n    poll-timeout: 100ms\ntest:\n  prefix: {prefix}\n  group: {group}\n"
    );
    let seen = Arc::new(Seen::default());
    let app = App::from_yaml_str(&yaml)
        .unwrap()
        .bootstrap(kafka.bootstrap())
        .shared_state(Arc::clone(&seen))
        .listeners(["pattern-listener"])
        .start()
        .await
        .unwrap();
    eventually(
        "the matching topic consumed",
        Duration::from_secs(30),
        || async { seen.topics().contains(&eu) },
    )
    .await;

    kafka.create_topic(&us_later, 2).await;
    template
        .send(&us_later, "k", "after start".to_owned())
        .await
        .unwrap();
    eventually(
        "the topic created later consumed",
        Duration::from_secs(30),
        || async { seen.topics().contains(&us_later) },
    )
    .await;
    app.shutdown().await.unwrap();
    assert_eq!(
        seen.topics(),
        BTreeSet::from([eu.clone(), us_later.clone()]),
        "a topic that only contains the pattern is not subscribed"
    );
    assert_eq!(
        kafka
            .committed_offset(&group, &us_later, 0)
            .await
            .unwrap_or(0)
            + kafka
                .committed_offset(&group, &us_later, 1)
                .await
                .unwrap_or(0),
        1
    );
}
