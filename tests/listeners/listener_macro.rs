//! `#[kafka_listener]` end to end, without a broker: real annotated functions are found in the
//! registry with the settings they declare, and their generated adapters are driven with built
//! record and batch contexts and a sink that records acknowledgments.

use bytes::Bytes;
use kafka_listener::ack::AckSink;
use kafka_listener::extract::{AppState, BatchContext, ExtractError, ListenerInfo, RecordContext};
use kafka_listener::registry::{self, HandlerError, ListenerDefaults, ListenerHandler, SpecValue};
use kafka_listener::{
    kafka_listener, Acknowledgment, Batch, BatchAcknowledgment, ConsumerRecord, Headers, Json, Key,
    RecordMeta, State, TimestampType,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
struct Order {
    id: u64,
    sku: String,
}

/// What the handlers saw, shared with the tests through app state.
#[derive(Default)]
struct Seen(Mutex<Vec<String>>);

impl Seen {
    fn push(&self, entry: String) {
        self.0.lock().unwrap().push(entry);
    }
}

#[derive(Debug)]
struct EmptySku(u64);

impl std::fmt::Display for EmptySku {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "order {} has no sku", self.0)
    }
}

impl std::error::Error for EmptySku {}

#[kafka_listener(
    id = "orders-listener",
    topics = ["orders", "orders-eu"],
    group_id = "billing",
    concurrency = 3,
    ack_mode = "MANUAL_IMMEDIATE",
    client_id_prefix = "billing-",
    properties("max.poll.records" = "10", "fetch.min.bytes" = 1),
)]
async fn on_order(
    order: Json<Order>,
    key: Key<String>,
    meta: RecordMeta,
    seen: State<Seen>,
    ack: Acknowledgment,
) -> Result<(), EmptySku> {
    if order.sku.is_empty() {
        return Err(EmptySku(order.id));
    }
    seen.push(format!(
        "order {} {} key={} at {}-{}@{}",
        order.id, order.sku, *key, meta.topic, meta.partition, meta.offset
    ));
    ack.acknowledge();
    Ok(())
}

#[kafka_listener(
    topics = "${app.topic}",
    group_id = "${app.group:fallback}",
    auto_startup = "${app.start}",
    concurrency = "${app.concurrency:2}"
)]
async fn on_change(
    value: Option<String>,
    key: Option<Key<String>>,
    headers: Headers,
    #[header("trace-id")] trace: Option<String>,
    seen: State<Seen>,
) {
    seen.push(format!(
        "change {value:?} key={:?} headers={} trace={trace:?}",
        key.map(Key::into_inner),
        headers.len()
    ));
}

#[kafka_listener(
    topic_pattern = "orders-.*",
    group_id = "stats",
    batch = true,
    ack_mode = "manual"
)]
async fn on_order_batch(orders: Vec<Json<Order>>, seen: State<Seen>, ack: BatchAcknowledgment) {
    let ids: Vec<u64> = orders.iter().map(|o| o.id).collect();
    seen.push(format!("batch {ids:?}"));
    ack.acknowledge();
}

#[kafka_listener(topics = "orders", group_id = "tolerant", batch)]
async fn on_tolerant_batch(orders: Batch<Json<Order>>, seen: State<Seen>) {
    let ok: Vec<u64> = orders.values().map(|o| o.id).collect();
    let bad: Vec<usize> = orders.failures().map(|(i, _)| i).collect();
    seen.push(format!("tolerant ok={ok:?} bad={bad:?}"));
}

/// Redelivers "later" payloads after a pause instead of acknowledging them.
#[kafka_listener(topics = "payments", group_id = "ledger", ack_mode = "MANUAL")]
async fn on_payment(payment: String, ack: Acknowledgment) {
    if payment == "later" {
        ack.nack(Duration::from_millis(250));
    } else {
        ack.acknowledge();
    }
}

/// Acknowledges the batch up to the first "stop" payload and redelivers from there.
#[kafka_listener(
    topics = "payments",
    group_id = "ledger-batch",
    batch,
    ack_mode = "MANUAL"
)]
async fn on_payment_batch(payments: Vec<String>, ack: BatchAcknowledgment) -> Result<(), String> {
    match payments.iter().position(|p| p == "stop") {
        Some(index) => ack
            .nack(index, Duration::from_secs(1))
            .map_err(|e| e.to_string()),
        None => {
            ack.acknowledge();
            Ok(())
        }
    }
}

mod audit {
    use super::*;

    #[kafka_listener(topics = "audit", partitions = [0, 2], auto_startup = false)]
    pub async fn on_audit(record: ConsumerRecord<String, Json<Order>>) -> Result<(), String> {
        match record.value {
            Some(_) => Ok(()),
            None => Err(format!("tombstone at offset {}", record.offset)),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum AckCall {
    Ack(String, i32, i64),
    Nack(String, i32, i64, Duration),
}

#[derive(Default)]
struct RecordingSink(Mutex<Vec<AckCall>>);

impl RecordingSink {
    fn calls(&self) -> Vec<AckCall> {
        self.0.lock().unwrap().clone()
    }
}

impl AckSink for RecordingSink {
    fn acknowledge(&self, topic: &str, partition: i32, offset: i64) {
        let call = AckCall::Ack(topic.into(), partition, offset);
        self.0.lock().unwrap().push(call);
    }
    fn nack(&self, topic: &str, partition: i32, offset: i64, sleep: Duration) {
        let call = AckCall::Nack(topic.into(), partition, offset, sleep);
        self.0.lock().unwrap().push(call);
    }
}

fn record(offset: i64, key: Option<&'static str>, value: Option<&'static str>) -> ConsumerRecord {
    ConsumerRecord {
        topic: "orders".into(),
        partition: 1,
        offset,
        timestamp: 1_700_000_000_000,
        timestamp_type: TimestampType::CreateTime,
        key: key.map(Bytes::from),
        value: value.map(Bytes::from),
        headers: Headers::new(),
    }
}

struct Harness {
    sink: Arc<RecordingSink>,
    seen: Arc<Seen>,
    state: AppState,
}

impl Harness {
    fn new() -> Self {
        let seen = Arc::new(Seen::default());
        let mut state = AppState::new();
        state.insert_arc(seen.clone());
        Self {
            sink: Arc::new(RecordingSink::default()),
            seen,
            state,
        }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.0.lock().unwrap().clone()
    }

    async fn deliver(&self, id: &str, record: ConsumerRecord) -> Result<(), HandlerError> {
        let spec = registry::find(id).unwrap_or_else(|| panic!("listener {id} is registered"));
        let ListenerHandler::Record(adapter) = spec.handler else {
            panic!("{id} is a record listener");
        };
        let ctx = RecordContext::new(record, self.sink.clone())
            .with_listener(ListenerInfo::new(spec.id(), spec.group_id))
            .with_state(self.state.clone());
        adapter(ctx).await
    }

    async fn deliver_batch(
        &self,
        id: &str,
        records: Vec<ConsumerRecord>,
    ) -> Result<(), HandlerError> {
        let spec = registry::find(id).unwrap_or_else(|| panic!("listener {id} is registered"));
        let ListenerHandler::Batch(adapter) = spec.handler else {
            panic!("{id} is a batch listener");
        };
        let ctx = BatchContext::new(records, self.sink.clone()).with_state(self.state.clone());
        adapter(ctx).await
    }
}

#[test]
fn every_annotated_function_is_registered_with_the_settings_it_declares() {
    // This module's listeners (the test binary holds the other modules' too).
    let ids: Vec<&str> = registry::all()
        .iter()
        .filter(|s| s.module_path.contains("listener_macro"))
        .map(|s| s.id())
        .collect();
    assert_eq!(
        ids,
        [
            "needs-unregistered-state",
            "on_audit",
            "on_change",
            "on_order_batch",
            "on_payment",
            "on_payment_batch",
            "on_tolerant_batch",
            "orders-listener"
        ]
    );

    let order = registry::find("orders-listener").unwrap();
    assert_eq!(order.fn_name, "on_order");
    assert_eq!(order.module_path, "listeners::listener_macro");
    assert!(order.file.ends_with("listener_macro.rs"), "{}", order.file);
    assert_eq!(order.topics, ["orders", "orders-eu"]);
    assert_eq!(order.topic_pattern, None);
    assert_eq!(order.group_id, Some("billing"));
    assert_eq!(order.concurrency, Some(SpecValue::Literal(3)));
    assert_eq!(order.ack_mode, Some("MANUAL_IMMEDIATE"));
    assert_eq!(order.client_id_prefix, Some("billing-"));
    assert_eq!(
        order.properties,
        [("max.poll.records", "10"), ("fetch.min.bytes", "1")]
    );
    assert!(order.takes_acknowledgment);
    assert!(!order.is_batch());

    let audit = registry::find("on_audit").unwrap();
    assert_eq!(audit.module_path, "listeners::listener_macro::audit");
    assert_eq!(audit.partitions, [0, 2]);
    assert!(!audit.uses_group_management());
    assert_eq!(audit.auto_startup, Some(SpecValue::Literal(false)));
    assert_eq!(audit.id, None);

    let batch = registry::find("on_order_batch").unwrap();
    assert!(batch.is_batch());
    assert_eq!(batch.topic_pattern, Some("orders-.*"));
    assert!(batch.topics.is_empty());
    assert!(registry::find("on_tolerant_batch").unwrap().is_batch());
}

#[test]
fn placeholders_are_kept_raw_for_the_runtime_to_resolve() {
    let change = registry::find("on_change").unwrap();
    assert_eq!(change.topics, ["${app.topic}"]);
    assert_eq!(change.group_id, Some("${app.group:fallback}"));
    assert_eq!(
        change.auto_startup,
        Some(SpecValue::Placeholder("${app.start}"))
    );
    assert_eq!(
        change.concurrency,
        Some(SpecValue::Placeholder("${app.concurrency:2}"))
    );
}

#[test]
fn the_registered_listeners_pass_start_up_validation() {
    let ours: Vec<_> = registry::all()
        .into_iter()
        .filter(|s| s.module_path.contains("listener_macro"))
        .collect();
    registry::validate(&ours, &ListenerDefaults::default()).unwrap();
}

#[test]
fn the_spec_points_at_the_functions_source_line() {
    let order = registry::find("orders-listener").unwrap();
    let source = std::fs::read_to_string(file!()).unwrap();
    let line = source.lines().nth(order.line as usize - 1).unwrap();
    assert!(
        line.contains("async fn on_order("),
        "line {}: {line}",
        order.line
    );
}

#[tokio::test]
async fn the_function_stays_callable_as_written() {
    let result = audit::on_audit(ConsumerRecord {
        topic: "audit".into(),
        partition: 0,
        offset: 9,
        timestamp: 0,
        timestamp_type: TimestampType::LogAppendTime,
        key: None,
        value: None,
        headers: Headers::new(),
    })
    .await;
    assert_eq!(result, Err("tombstone at offset 9".to_owned()));
}

#[tokio::test]
async fn the_adapter_extracts_every_argument_and_the_handler_acknowledges() {
    let h = Harness::new();
    h.deliver(
        "orders-listener",
        record(5, Some("k1"), Some(r#"{"id":1,"sku":"a"}"#)),
    )
    .await
    .unwrap();
    assert_eq!(h.seen(), ["order 1 a key=k1 at orders-1@5"]);
    assert_eq!(h.sink.calls(), [AckCall::Ack("orders".into(), 1, 5)]);
}

#[tokio::test]
async fn bad_json_is_an_error_value_with_the_raw_bytes() {
    let h = Harness::new();
    let err = h
        .deliver("orders-listener", record(6, Some("k1"), Some("{not json")))
        .await
        .unwrap_err();
    let HandlerError::Extract { argument, source } = &err else {
        panic!("expected an extraction error, got {err:?}");
    };
    assert_eq!(*argument, "order");
    let deser = source
        .as_deserialization()
        .expect("a deserialization error");
    assert_eq!(deser.raw, Bytes::from_static(b"{not json"));
    assert_eq!(
        (deser.topic.as_str(), deser.partition, deser.offset),
        ("orders", 1, 6)
    );
    assert!(!err.is_retryable());
    assert!(h.seen().is_empty(), "the handler must not run");
    assert!(h.sink.calls().is_empty(), "nothing is acknowledged");
}

#[tokio::test]
async fn a_tombstone_for_a_non_optional_payload_is_an_error_value() {
    let h = Harness::new();
    let err = h
        .deliver("orders-listener", record(7, Some("k1"), None))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.extract_error(),
            Some(ExtractError::NullValue { offset: 7, .. })
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn the_handlers_own_error_becomes_a_retryable_handler_error() {
    let h = Harness::new();
    let err = h
        .deliver(
            "orders-listener",
            record(8, Some("k1"), Some(r#"{"id":4,"sku":""}"#)),
        )
        .await
        .unwrap_err();
    let HandlerError::Failed { error_type, .. } = &err else {
        panic!("expected the handler's error, got {err:?}");
    };
    assert!(error_type.ends_with("EmptySku"), "{error_type}");
    assert_eq!(
        err.handler_error().unwrap().to_string(),
        "order 4 has no sku"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn optional_payloads_receive_tombstones_null_keys_and_absent_headers() {
    let h = Harness::new();
    h.deliver("on_change", record(1, None, None)).await.unwrap();
    let mut with_header = record(2, Some("k"), Some("v"));
    with_header.headers.push("trace-id", Some("t-1"));
    with_header.headers.push("trace-id", Some("t-2"));
    h.deliver("on_change", with_header).await.unwrap();
    assert_eq!(
        h.seen(),
        [
            "change None key=None headers=0 trace=None",
            "change Some(\"v\") key=Some(\"k\") headers=2 trace=Some(\"t-2\")"
        ]
    );
}

#[tokio::test]
async fn missing_state_is_an_error_value_naming_the_type() {
    let sink = Arc::new(RecordingSink::default());
    let spec = registry::find("on_change").unwrap();
    let ListenerHandler::Record(adapter) = spec.handler else {
        panic!("record listener")
    };
    let err = adapter(RecordContext::new(record(1, None, None), sink))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Seen"), "{err}");
}

#[tokio::test]
async fn a_batch_listener_gets_every_record_and_acknowledges_the_batch() {
    let h = Harness::new();
    let records = vec![
        record(10, None, Some(r#"{"id":1,"sku":"a"}"#)),
        record(11, None, Some(r#"{"id":2,"sku":"b"}"#)),
    ];
    h.deliver_batch("on_order_batch", records).await.unwrap();
    assert_eq!(h.seen(), ["batch [1, 2]"]);
    assert_eq!(
        h.sink.calls(),
        [
            AckCall::Ack("orders".into(), 1, 10),
            AckCall::Ack("orders".into(), 1, 11)
        ]
    );
}

#[tokio::test]
async fn a_bad_record_fails_a_vec_batch_with_its_index() {
    let h = Harness::new();
    let records = vec![
        record(10, None, Some(r#"{"id":1,"sku":"a"}"#)),
        record(11, None, Some("oops")),
    ];
    let err = h
        .deliver_batch("on_order_batch", records)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.extract_error(),
            Some(ExtractError::InBatch { index: 1, .. })
        ),
        "{err:?}"
    );
    assert_eq!(
        err.extract_error()
            .unwrap()
            .as_deserialization()
            .unwrap()
            .raw,
        "oops"
    );
    assert!(h.sink.calls().is_empty());
}

#[tokio::test]
async fn a_batch_of_results_lets_the_handler_skip_bad_records() {
    let h = Harness::new();
    let records = vec![
        record(10, None, Some(r#"{"id":1,"sku":"a"}"#)),
        record(11, None, Some("oops")),
        record(12, None, Some(r#"{"id":3,"sku":"c"}"#)),
    ];
    h.deliver_batch("on_tolerant_batch", records).await.unwrap();
    assert_eq!(h.seen(), ["tolerant ok=[1, 3] bad=[1]"]);
}

#[tokio::test]
async fn a_handler_can_reject_its_record_for_redelivery() {
    let h = Harness::new();
    h.deliver("on_payment", record(20, None, Some("now")))
        .await
        .unwrap();
    h.deliver("on_payment", record(21, None, Some("later")))
        .await
        .unwrap();
    assert_eq!(
        h.sink.calls(),
        [
            AckCall::Ack("orders".into(), 1, 20),
            AckCall::Nack("orders".into(), 1, 21, Duration::from_millis(250))
        ]
    );
}

#[tokio::test]
async fn a_batch_handler_can_acknowledge_part_of_its_batch_and_redeliver_the_rest() {
    let h = Harness::new();
    let records = vec![
        record(30, None, Some("a")),
        record(31, None, Some("b")),
        record(32, None, Some("stop")),
        record(33, None, Some("c")),
    ];
    h.deliver_batch("on_payment_batch", records).await.unwrap();
    assert_eq!(
        h.sink.calls(),
        [
            AckCall::Ack("orders".into(), 1, 30),
            AckCall::Ack("orders".into(), 1, 31),
            AckCall::Nack("orders".into(), 1, 32, Duration::from_secs(1))
        ]
    );
}

/// Never registered with the app in `worker_regression_a_listener_whose_state_is_missing_does_not_start`.
struct NeverRegistered;

#[kafka_listener(id = "needs-unregistered-state", topics = "unused", group_id = "g")]
async fn needs_unregistered_state(_value: String, _state: State<NeverRegistered>) {}

#[tokio::test]
async fn worker_regression_a_listener_whose_state_is_missing_does_not_start() {
    // Before: every record failed to extract, was logged, skipped and committed. Now the app
    // refuses to start, as Spring does for a missing bean — before it connects to anything.
    let error = kafka_listener::App::from_yaml_str("spring.kafka.consumer.group-id: g")
        .unwrap()
        .bootstrap("127.0.0.1:1")
        .listeners(["needs-unregistered-state"])
        .start()
        .await
        .expect_err("start-up refused");
    let message = error.to_string();
    assert!(
        matches!(error, kafka_listener::Error::MissingState { .. }),
        "{message}"
    );
    assert!(message.contains("needs_unregistered_state"), "{message}");
    assert!(
        message.contains("tests/listeners/listener_macro.rs:"),
        "{message}"
    );
    assert!(message.contains("NeverRegistered"), "{message}");
}

#[test]
fn the_macro_records_the_state_each_listener_takes() {
    let spec = registry::find("orders-listener").expect("registered");
    let required: Vec<&str> = (spec.required_state)()
        .iter()
        .map(|r| r.type_name)
        .collect();
    assert_eq!(required, [std::any::type_name::<Seen>()]);
    let spec = registry::find("needs-unregistered-state").expect("registered");
    assert_eq!((spec.required_state)().len(), 1);
}
