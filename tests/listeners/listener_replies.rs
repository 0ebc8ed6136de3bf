//! Replies end to end: `#[kafka_listener(send_to = …)]` (Spring's `@SendTo`) and the
//! `ReplyingKafkaTemplate` (request/reply by correlation id).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_listener::error::{DeadLetterPublisher, ErrorHandler, FixedBackOff, Recoverer};
use kafka_listener::producer::ProducerRecord;
use kafka_listener::reply::{ReplyError, CORRELATION_ID, REPLY_PARTITION};
use kafka_listener::{
    kafka_listener, App, Headers, Json, Key, ReplyingKafkaTemplate, RunningApp, State,
};
use kafka_listener_suite::{eventually, unique_name, TestKafka};

/// How often the handlers ran.
#[derive(Default)]
struct Calls(AtomicU32);

impl Calls {
    fn hit(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn count(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

#[kafka_listener(
    id = "reply-upper",
    topics = "${test.requests}",
    group_id = "${test.group}",
    send_to = "${test.replies}"
)]
async fn upper(request: String, calls: State<Calls>) -> Result<String, String> {
    calls.hit();
    Ok(request.to_uppercase())
}

/// Replies where the request asks (`kafka_replyTopic`), as Spring's bare `@SendTo`.
#[kafka_listener(
    id = "reply-echo",
    topics = "${test.requests}",
    group_id = "${test.group}",
    send_to
)]
async fn echo(
    request: String,
    key: Key<String>,
) -> Result<Json<serde_json::Value>, std::convert::Infallible> {
    Ok(Json(serde_json::json!({ "echo": request, "key": *key })))
}

fn yaml(requests: &str, replies: &str, group: &str) -> String {
    format!(
        "spring.kafka:\n  consumer.auto-offset-reset: earliest\n  listener:\n    ack-mode: RECORD\n    poll-timeout: 100ms\ntest:\n  requests: {requests}\n  replies: {replies}\n  group: {group}\n"
    )
}

async fn start(
    kafka: &TestKafka,
    listener: &str,
    yaml: &str,
    calls: &Arc<Calls>,
    error_handler: Option<ErrorHandler>,
) -> RunningApp {
    let mut app = App::from_yaml_str(yaml)
        .unwrap()
        .bootstrap(kafka.bootstrap())
        .shared_state(Arc::clone(calls))
        .listeners([listener]);
    if let Some(handler) = error_handler {
        app = app.error_handler(handler);
    }
    app.start().await.unwrap()
}

async fn read_all(kafka: &TestKafka, topic: &str, partitions: i32) -> Vec<rskafka::record::Record> {
    let client = kafka.connection().rskafka_client().await.unwrap();
    let mut all = Vec::new();
    for p in 0..partitions {
        let partition = client
            .partition_client(
                topic,
                p,
                rskafka::client::partition::UnknownTopicHandling::Retry,
            )
            .await
            .unwrap();
        let (records, _) = partition.fetch_records(0, 1..1_000_000, 100).await.unwrap();
        all.extend(records.into_iter().map(|r| r.record));
    }
    all
}

#[tokio::test]
async fn reply_send_to_produces_the_result_with_the_request_key_and_correlation_id_before_the_ack()
{
    let kafka = TestKafka::start().await;
    let (requests, replies, group) = (
        unique_name("reply-requests"),
        unique_name("reply-replies"),
        unique_name("reply-group"),
    );
    kafka.create_topic(&requests, 2).await;
    kafka.create_topic(&replies, 3).await;
    let template = kafka.template().await;
    for (i, key) in ["k1", "k2", "k3"].iter().enumerate() {
        let mut headers = Headers::new();
        headers.push(CORRELATION_ID, Some(vec![i as u8; 16]));
        template
            .send_record(ProducerRecord {
                topic: requests.clone(),
                partition: Some(0),
                key: Some(Bytes::from(key.to_string())),
                value: Some(Bytes::from(format!("order {i}"))),
                headers,
                timestamp: None,
            })
            .await
            .unwrap();
    }
    let calls = Arc::new(Calls::default());
    let app = start(
        &kafka,
        "reply-upper",
        &yaml(&requests, &replies, &group),
        &calls,
        None,
    )
    .await;
    eventually(
        "the three requests are committed",
        Duration::from_secs(30),
        || async { kafka.committed_offset(&group, &requests, 0).await == Some(3) },
    )
    .await;
    // Committed means acknowledged, and a request is acknowledged only after its reply.
    let mut found = read_all(&kafka, &replies, 3).await;
    app.shutdown().await.unwrap();
    found.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(found.len(), 3, "one reply per request");
    for (i, reply) in found.iter().enumerate() {
        assert_eq!(reply.key.as_deref(), Some(format!("k{}", i + 1).as_bytes()));
        assert_eq!(
            reply.value.as_deref(),
            Some(format!("ORDER {i}").as_bytes())
        );
        assert_eq!(
            reply.headers.get(CORRELATION_ID).map(Vec::as_slice),
            Some(&[i as u8; 16][..]),
            "Spring copies kafka_correlationId into the reply"
        );
    }
    assert_eq!(calls.count(), 3);
}

#[tokio::test]
async fn reply_that_cannot_be_sent_is_a_handler_failure_for_the_error_handler() {
    let kafka = TestKafka::start().await;
    let (requests, replies, group) = (
        unique_name("reply-fail-requests"),
        unique_name("reply-fail-replies"),
        unique_name("reply-fail-group"),
    );
    kafka.create_topic(&requests, 1).await;
    kafka.create_topic(&replies, 1).await;
    kafka.create_topic(&format!("{requests}-dlt"), 1).await;
    let template = kafka.template().await;
    // The reply partition the request asks for does not exist, so every reply fails.
    let mut headers = Headers::new();
    headers.push(REPLY_PARTITION, Some(7i32.to_be_bytes().to_vec()));
    template
        .send_record(ProducerRecord {
            topic: requests.clone(),
            key: Some(Bytes::from_static(b"k")),
            value: Some(Bytes::from_static(b"doomed")),
            headers,
            ..ProducerRecord::default()
        })
        .await
        .unwrap();
    let calls = Arc::new(Calls::default());
    let app = start(
        &kafka,
        "reply-upper",
        &yaml(&requests, &replies, &group),
        &calls,
        Some(ErrorHandler::new(
            FixedBackOff::new(Duration::ZERO, 2),
            Recoverer::DeadLetter(DeadLetterPublisher::new(template.clone())),
        )),
    )
    .await;
    eventually(
        "the request is recovered and committed",
        Duration::from_secs(30),
        || async { kafka.committed_offset(&group, &requests, 0).await == Some(1) },
    )
    .await;
    app.shutdown().await.unwrap();
    assert_eq!(calls.count(), 3, "delivered once and retried twice");
    assert!(
        read_all(&kafka, &replies, 1).await.is_empty(),
        "no reply was written"
    );
    let dead = read_all(&kafka, &format!("{requests}-dlt"), 1).await;
    assert_eq!(dead.len(), 1);
    let message =
        String::from_utf8_lossy(&dead[0].headers["kafka_dlt-exception-message"]).into_owned();
    assert!(message.contains("partition 7 does not exist"), "{message}");
}

#[tokio::test]
async fn reply_replying_template_gets_each_reply_by_correlation_id() {
    let kafka = TestKafka::start().await;
    let (requests, replies, group) = (
        unique_name("rr-requests"),
        unique_name("rr-replies"),
        unique_name("rr-group"),
    );
    kafka.create_topic(&requests, 3).await;
    kafka.create_topic(&replies, 2).await;
    let calls = Arc::new(Calls::default());
    let app = start(
        &kafka,
        "reply-echo",
        &yaml(&requests, "unused", &group),
        &calls,
        None,
    )
    .await;
    let requester = ReplyingKafkaTemplate::start(
        kafka.template().await,
        kafka.connection().clone(),
        replies.clone(),
    )
    .await
    .unwrap()
    .with_default_reply_timeout(Duration::from_secs(30));

    let asks = (0..20).map(|i| {
        let requester = requester.clone();
        let requests = requests.clone();
        tokio::spawn(async move {
            requester
                .send_and_receive(&requests, format!("key-{i}"), format!("hello {i}"))
                .await
        })
    });
    let asks: Vec<_> = asks.collect();
    for (i, ask) in asks.into_iter().enumerate() {
        let reply = ask.await.unwrap().unwrap();
        assert_eq!(reply.topic, replies);
        assert_eq!(reply.key.as_deref(), Some(format!("key-{i}").as_bytes()));
        let body: serde_json::Value =
            serde_json::from_slice(reply.value.as_deref().unwrap()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({ "echo": format!("hello {i}"), "key": format!("key-{i}") })
        );
        assert_eq!(
            reply.headers.last_value(CORRELATION_ID).map(|c| c.len()),
            Some(16)
        );
    }
    requester.shutdown().await;
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn reply_replying_template_answers_through_an_explicit_send_to_topic() {
    let kafka = TestKafka::start().await;
    let (requests, replies, group) = (
        unique_name("rr-explicit-requests"),
        unique_name("rr-explicit-replies"),
        unique_name("rr-explicit-group"),
    );
    kafka.create_topic(&requests, 1).await;
    kafka.create_topic(&replies, 1).await;
    let calls = Arc::new(Calls::default());
    let app = start(
        &kafka,
        "reply-upper",
        &yaml(&requests, &replies, &group),
        &calls,
        None,
    )
    .await;
    let requester = ReplyingKafkaTemplate::start(
        kafka.template().await,
        kafka.connection().clone(),
        replies.clone(),
    )
    .await
    .unwrap()
    .with_default_reply_timeout(Duration::from_secs(30));
    let reply = requester
        .send_and_receive(&requests, "k", "quiet")
        .await
        .unwrap();
    assert_eq!(reply.value.as_deref(), Some(&b"QUIET"[..]));
    requester.shutdown().await;
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn reply_replying_template_times_out_when_nobody_answers() {
    let kafka = TestKafka::start().await;
    let (requests, replies) = (unique_name("rr-silent"), unique_name("rr-silent-replies"));
    kafka.create_topic(&requests, 1).await;
    kafka.create_topic(&replies, 1).await;
    let requester = ReplyingKafkaTemplate::start(
        kafka.template().await,
        kafka.connection().clone(),
        replies.clone(),
    )
    .await
    .unwrap();
    let started = Instant::now();
    let err = requester
        .send_and_receive_record(
            ProducerRecord {
                topic: requests.clone(),
                value: Some(Bytes::from_static(b"anyone?")),
                ..ProducerRecord::default()
            },
            Duration::from_millis(500),
        )
        .await
        .unwrap_err();
    let waited = started.elapsed();
    assert!(matches!(err, ReplyError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains(&replies), "{err}");
    assert!(
        waited >= Duration::from_millis(500) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    // The request itself went out, with Spring's request headers.
    let sent = read_all(&kafka, &requests, 1).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].headers.get("kafka_replyTopic").map(Vec::as_slice),
        Some(replies.as_bytes())
    );
    assert_eq!(sent[0].headers.get(CORRELATION_ID).map(Vec::len), Some(16));
    requester.shutdown().await;
}
