//! The order_service sample driven end to end over real HTTP on 127.0.0.1: orders go through
//! the API, the `orders` topic, the split listener, the `order-items` topic and the parallel
//! work-unit listener into the store, and back out through `GET /orders/{id}`.
//!
//! Embedded broker by default, the cluster in `KAFKA_BOOTSTRAP_SERVERS` when set. Every test
//! names its own topics and groups through the sample's `application.yml` keys (in their
//! environment form), so tests share a cluster safely.

// The sample's library, exactly as its main.rs includes it.
#[path = "../../examples/order_service/lib.rs"]
#[allow(dead_code, unused_imports)]
mod sample;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{header, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use kafka_listener::config::ConfigLoader;
use kafka_listener::Json;
use kafka_listener_suite::{eventually, unique_name, TestKafka};
use sample::{KafkaTarget, OrderLine, OrderStore, RunningService, ServiceConfig, WorkUnit};
use serde_json::{json, Value};

const APPLICATION_YML: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/order_service/application.yml"
);

/// Long enough for a real cluster's group joins and rebalances.
const WAIT: Duration = Duration::from_secs(90);

/// One test's topics and groups.
struct Names {
    orders: String,
    items: String,
    split_group: String,
    items_group: String,
    /// Units of one partition in flight at once (`order-service.items.parallelism`).
    items_parallelism: u32,
}

impl Names {
    fn unique() -> Self {
        Self {
            orders: unique_name("orders"),
            items: unique_name("order-items"),
            split_group: unique_name("order-service-split"),
            items_group: unique_name("order-service-items"),
            items_parallelism: 32,
        }
    }

    /// The environment form of the sample's `order-service.*` keys, as a deployment sets them.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("ORDER_SERVICE_TOPICS_ORDERS", self.orders.clone()),
            ("ORDER_SERVICE_TOPICS_ORDER_ITEMS", self.items.clone()),
            ("ORDER_SERVICE_GROUPS_SPLIT", self.split_group.clone()),
            ("ORDER_SERVICE_GROUPS_ITEMS", self.items_group.clone()),
            (
                "ORDER_SERVICE_ITEMS_PARALLELISM",
                self.items_parallelism.to_string(),
            ),
        ]
    }
}

/// The sample's own application.yml with this test's names, pointed at the test's broker, on a
/// free port.
fn config(
    kafka: &TestKafka,
    names: &Names,
    store: &Arc<OrderStore>,
    work_time: Duration,
) -> ServiceConfig {
    let properties = ConfigLoader::new()
        .env(names.env())
        .load_yaml_file(APPLICATION_YML)
        .expect("the sample's application.yml loads");
    ServiceConfig::from_properties(properties)
        .expect("the sample's settings are valid")
        .bootstrap(kafka.bootstrap())
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .store(Arc::clone(store))
        .work_time(work_time)
}

async fn start(
    kafka: &TestKafka,
    names: &Names,
    store: &Arc<OrderStore>,
    work_time: Duration,
) -> RunningService {
    sample::start(config(kafka, names, store, work_time))
        .await
        .expect("the order service starts")
}

/// One HTTP/1.1 request on its own connection; the status and the JSON body.
async fn call(address: SocketAddr, method: Method, path: &str, body: &str) -> (StatusCode, Value) {
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .unwrap_or_else(|e| panic!("connect to {address}: {e}"));
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("HTTP handshake");
    tokio::spawn(connection);
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::HOST, address.to_string())
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("a valid request");
    let response = sender.send_request(request).await.expect("HTTP response");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("response body")
        .to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
        panic!(
            "{path}: {status} body is not JSON ({e}): {:?}",
            String::from_utf8_lossy(&bytes)
        )
    });
    (status, json)
}

/// Places an order with `items` items; its id.
async fn place_order(address: SocketAddr, customer: &str, items: usize) -> String {
    let lines: Vec<Value> = (0..items)
        .map(|n| json!({"sku": format!("sku-{n}"), "qty": n + 1}))
        .collect();
    let body = json!({"customer": customer, "items": lines}).to_string();
    let (status, reply) = call(address, Method::POST, "/orders", &body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "POST /orders: {reply}");
    reply["id"]
        .as_str()
        .unwrap_or_else(|| panic!("202 without an id: {reply}"))
        .to_owned()
}

async fn order_status(address: SocketAddr, id: &str) -> Value {
    let (status, reply) = call(address, Method::GET, &format!("/orders/{id}"), "").await;
    assert_eq!(status, StatusCode::OK, "GET /orders/{id}: {reply}");
    reply
}

async fn wait_until_completed(address: SocketAddr, id: &str) {
    eventually(&format!("order {id} completed"), WAIT, || async {
        order_status(address, id).await["status"] == "completed"
    })
    .await;
}

#[tokio::test]
async fn order_service_completes_one_order_and_reports_its_progress() {
    let kafka = TestKafka::start().await;
    let names = Names::unique();
    let store = Arc::new(OrderStore::new());
    let service = start(&kafka, &names, &store, Duration::from_millis(20)).await;
    let address = service.address();

    let id = place_order(address, "ada", 3).await;
    let first = order_status(address, &id).await;
    assert_eq!(first["id"], id.as_str());
    assert_eq!(first["items_total"], 3);
    assert!(
        first["status"] == "pending" || first["status"] == "completed",
        "{first}"
    );

    wait_until_completed(address, &id).await;
    assert_eq!(
        order_status(address, &id).await,
        json!({"id": id, "status": "completed", "items_total": 3, "items_done": 3})
    );
    assert_eq!(store.done_units(&id), vec![0, 1, 2]);
    service.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn order_service_completes_100_concurrent_orders_processing_units_in_parallel() {
    let kafka = TestKafka::start().await;
    let names = Names::unique();
    let store = Arc::new(OrderStore::new());
    let service = start(&kafka, &names, &store, Duration::from_millis(30)).await;
    let address = service.address();

    let mut posts = tokio::task::JoinSet::new();
    for n in 0..100usize {
        let items = n % 4 + 1;
        posts.spawn(async move {
            let id = place_order(address, &format!("customer-{n}"), items).await;
            (id, items)
        });
    }
    let orders: Vec<(String, usize)> = posts.join_all().await;
    let ids: BTreeSet<&str> = orders.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids.len(), 100, "every order got its own id");
    let units: usize = orders.iter().map(|(_, items)| items).sum();

    eventually(&format!("{units} work units done"), WAIT, || async {
        store.units_done() == units
    })
    .await;
    for (id, items) in &orders {
        assert_eq!(
            order_status(address, id).await,
            json!({"id": id, "status": "completed", "items_total": items, "items_done": items})
        );
    }
    assert!(
        service.peak_parallel_units() > 1,
        "units ran one at a time (peak {})",
        service.peak_parallel_units()
    );
    service.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn order_service_rejects_malformed_orders_with_400_and_a_json_error() {
    let kafka = TestKafka::start().await;
    let names = Names::unique();
    let store = Arc::new(OrderStore::new());
    let service = start(&kafka, &names, &store, Duration::from_millis(10)).await;
    let address = service.address();

    let bad_bodies = [
        (
            "not JSON",
            "{\"customer\": \"ada\", \"items\": [",
            "not a valid order",
        ),
        (
            "no items field",
            r#"{"customer": "ada"}"#,
            "missing field `items`",
        ),
        (
            "no customer field",
            r#"{"items": [{"sku": "a", "qty": 1}]}"#,
            "missing field `customer`",
        ),
        (
            "empty items",
            r#"{"customer": "ada", "items": []}"#,
            "at least one item",
        ),
        (
            "zero quantity",
            r#"{"customer": "ada", "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 0}]}"#,
            "items[1].qty must be at least 1, got 0",
        ),
        (
            "negative quantity",
            r#"{"customer": "ada", "items": [{"sku": "a", "qty": -2}]}"#,
            "items[0].qty must be at least 1, got -2",
        ),
        (
            "quantity as text",
            r#"{"customer": "ada", "items": [{"sku": "a", "qty": "two"}]}"#,
            "invalid type",
        ),
        (
            "missing sku",
            r#"{"customer": "ada", "items": [{"qty": 1}]}"#,
            "missing field `sku`",
        ),
        (
            "blank customer",
            r#"{"customer": " ", "items": [{"sku": "a", "qty": 1}]}"#,
            "customer must not be empty",
        ),
        ("empty body", "", "not a valid order"),
    ];
    for (what, body, expected) in bad_bodies {
        let (status, reply) = call(address, Method::POST, "/orders", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {reply}");
        let message = reply["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{what}: no error message in {reply}"));
        assert!(
            message.contains(expected),
            "{what}: {message:?} should say {expected:?}"
        );
    }
    assert_eq!(store.order_count(), 0, "no refused order was recorded");

    // The service still takes a good order afterwards.
    let id = place_order(address, "ada", 1).await;
    wait_until_completed(address, &id).await;
    service.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn order_service_answers_404_with_a_json_error_for_an_unknown_id() {
    let kafka = TestKafka::start().await;
    let names = Names::unique();
    let store = Arc::new(OrderStore::new());
    let service = start(&kafka, &names, &store, Duration::from_millis(10)).await;
    let address = service.address();

    let unknown = "6b1f2a40-0000-4000-8000-000000000000";
    let (status, reply) = call(address, Method::GET, &format!("/orders/{unknown}"), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{reply}");
    assert!(
        reply["error"].as_str().is_some_and(|m| m.contains(unknown)),
        "{reply}"
    );

    let known = place_order(address, "ada", 1).await;
    assert_eq!(order_status(address, &known).await["id"], known.as_str());
    service.shutdown().await.expect("clean shutdown");
}

#[tokio::test]
async fn order_service_restart_mid_way_loses_no_unit() {
    let kafka = TestKafka::start().await;
    // One unit per partition at a time, so that stopping mid-way leaves units to do.
    let names = Names {
        items_parallelism: 1,
        ..Names::unique()
    };
    // The database both instances share.
    let store = Arc::new(OrderStore::new());
    let work_time = Duration::from_millis(150);
    let first = start(&kafka, &names, &store, work_time).await;

    let mut ids = Vec::new();
    for n in 0..24 {
        ids.push(place_order(first.address(), &format!("customer-{n}"), 3).await);
    }
    let units = ids.len() * 3;
    eventually("the first instance to finish some units", WAIT, || async {
        store.units_done() >= 6
    })
    .await;
    // Stop while units are in flight: the split may be done, the processing is not.
    first
        .shutdown()
        .await
        .expect("first instance stops cleanly");
    let done_by_first = store.units_done();
    assert!(
        done_by_first < units,
        "the first instance finished all {units} units before it was stopped; the test stops \
         it too late to show a restart"
    );

    let second = start(&kafka, &names, &store, work_time).await;
    eventually(
        &format!("all {units} units done after the restart"),
        WAIT,
        || async { store.units_done() == units },
    )
    .await;
    for id in &ids {
        assert_eq!(store.done_units(id), vec![0, 1, 2], "order {id}");
        assert_eq!(
            order_status(second.address(), id).await,
            json!({"id": id, "status": "completed", "items_total": 3, "items_done": 3})
        );
    }
    second
        .shutdown()
        .await
        .expect("second instance stops cleanly");
}

#[tokio::test]
async fn order_service_counts_a_redelivered_work_unit_once() {
    let kafka = TestKafka::start().await;
    let names = Names::unique();
    let store = Arc::new(OrderStore::new());
    let service = start(&kafka, &names, &store, Duration::from_millis(10)).await;
    let address = service.address();
    let id = place_order(address, "ada", 2).await;
    wait_until_completed(address, &id).await;

    // What a restart after processing but before the commit delivers: the same unit again.
    let template = kafka.template().await;
    let again = WorkUnit {
        order_id: id.clone(),
        index: 1,
        items_total: 2,
        line: OrderLine {
            sku: "sku-1".into(),
            qty: 2,
        },
    };
    template
        .send(&names.items, id.as_str(), Json(&again))
        .await
        .expect("produce the duplicate unit");
    eventually("the duplicate unit to be seen", WAIT, || async {
        store.redeliveries() == 1
    })
    .await;
    assert_eq!(
        order_status(address, &id).await,
        json!({"id": id, "status": "completed", "items_total": 2, "items_done": 2})
    );
    service.shutdown().await.expect("clean shutdown");
}

#[test]
fn order_service_uses_the_embedded_broker_unless_kafka_is_configured() {
    let target = |env: Vec<(&str, &str)>| {
        let properties = ConfigLoader::new()
            .env(env)
            .load_yaml_file(APPLICATION_YML)
            .expect("the sample's application.yml loads");
        ServiceConfig::from_properties(properties)
            .expect("valid settings")
            .kafka()
            .expect("a Kafka target")
    };
    assert_eq!(target(vec![]), KafkaTarget::Embedded);
    assert_eq!(
        target(vec![("SPRING_KAFKA_BOOTSTRAP_SERVERS", "k:9092")]),
        KafkaTarget::Configured
    );
    // The seed's per-client keys count too.
    assert_eq!(
        target(vec![("SPRING_KAFKA_PRODUCER_BOOTSTRAP_SERVERS", "k:9092")]),
        KafkaTarget::Configured
    );

    let properties = ConfigLoader::new()
        .env(Vec::<(String, String)>::new())
        .load_yaml_file(APPLICATION_YML)
        .unwrap();
    let explicit = ServiceConfig::from_properties(properties)
        .unwrap()
        .bootstrap("127.0.0.1:9092");
    assert_eq!(
        explicit.kafka().unwrap(),
        KafkaTarget::Servers("127.0.0.1:9092".into())
    );
}

#[test]
fn order_service_listens_on_port_from_the_port_variable_and_refuses_a_bad_one() {
    let load = |env: Vec<(&str, &str)>| {
        let properties = ConfigLoader::new()
            .env(env)
            .load_yaml_file(APPLICATION_YML)
            .expect("the sample's application.yml loads");
        ServiceConfig::from_properties(properties)
    };
    assert_eq!(
        load(vec![]).unwrap().address(),
        "127.0.0.1:8080".parse().unwrap()
    );
    assert_eq!(
        load(vec![("PORT", "9000")]).unwrap().address(),
        "127.0.0.1:9000".parse().unwrap()
    );
    let error = load(vec![("PORT", "eighty")]).unwrap_err().to_string();
    assert!(
        error.contains("server.port") && error.contains("eighty"),
        "{error}"
    );
}
