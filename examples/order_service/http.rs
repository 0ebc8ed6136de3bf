//! The HTTP API: `POST /orders` hands an order to Kafka, `GET /orders/{id}` reports progress.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bytes::Bytes;
use kafka_listener::producer::KafkaTemplate;
use serde_json::json;

use super::model::{NewOrder, OrderPlaced};
use super::store::OrderStore;

/// What the handlers share.
#[derive(Debug)]
pub(crate) struct Api {
    pub(crate) template: KafkaTemplate,
    pub(crate) orders_topic: String,
    pub(crate) store: Arc<OrderStore>,
}

/// The routes of the service.
pub(crate) fn router(api: Arc<Api>) -> Router {
    Router::new()
        .route("/orders", post(place_order))
        .route("/orders/{id}", get(order_status))
        .with_state(api)
}

fn error(status: StatusCode, message: impl std::fmt::Display) -> Response {
    (status, Json(json!({ "error": message.to_string() }))).into_response()
}

/// Validates the order, registers it as pending and produces it to `orders` keyed by its new
/// id; answers 202 once the cluster has it.
async fn place_order(State(api): State<Arc<Api>>, body: Bytes) -> Response {
    let order = match NewOrder::parse(&body) {
        Ok(order) => order,
        Err(invalid) => {
            tracing::debug!(%invalid, "order refused");
            return error(StatusCode::BAD_REQUEST, invalid);
        }
    };
    let placed = OrderPlaced {
        id: uuid::Uuid::new_v4().to_string(),
        customer: order.customer,
        items: order.items,
    };
    // Registered before producing, so a GET right after the 202 finds the order pending.
    api.store.register(&placed.id, placed.items.len());
    let sent = api
        .template
        .send(
            &api.orders_topic,
            placed.id.as_str(),
            kafka_listener::Json(&placed),
        )
        .await;
    match sent {
        Ok(result) => {
            tracing::info!(
                order = %placed.id,
                items = placed.items.len(),
                partition = result.partition,
                offset = result.offset,
                "order accepted"
            );
            let location = format!("/orders/{}", placed.id);
            (
                StatusCode::ACCEPTED,
                [(header::LOCATION, location)],
                Json(json!({ "id": placed.id })),
            )
                .into_response()
        }
        Err(e) => {
            api.store.forget(&placed.id);
            tracing::error!(order = %placed.id, error = %e, "order not handed to Kafka");
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("the order could not be queued, try again: {e}"),
            )
        }
    }
}

/// The order's progress, or 404.
async fn order_status(State(api): State<Arc<Api>>, Path(id): Path<String>) -> Response {
    match api.store.status(&id) {
        Some(status) => Json(status).into_response(),
        None => error(StatusCode::NOT_FOUND, format!("no order with id {id}")),
    }
}
