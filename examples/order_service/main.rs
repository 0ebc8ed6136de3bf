//! The order service sample: an axum HTTP API in front of two `#[kafka_listener]`s.
//!
//! ```sh
//! cargo run --example order_service                      # embedded broker, 127.0.0.1:8080
//! PORT=9000 cargo run --example order_service            # another port
//! KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 cargo run --example order_service   # real Kafka
//!
//! curl -s -XPOST localhost:8080/orders -H 'content-type: application/json' \
//!      -d '{"customer": "ada", "items": [{"sku": "tea", "qty": 2}, {"sku": "cup", "qty": 1}]}'
//! curl -s localhost:8080/orders/<id>
//! ```
//!
//! Configuration: `application.yml` beside this file (`ORDER_SERVICE_CONFIG` names another
//! file, as the container image does); every key can be overridden from the environment the
//! Spring Boot way, which is how deploy/docker-compose.yml configures the container.
//! Kafka: `KAFKA_BOOTSTRAP_SERVERS`, else `spring.kafka.bootstrap-servers` (or the seed's
//! `consumer.` / `producer.bootstrap-servers`, or `SPRING_KAFKA_BOOTSTRAP_SERVERS`), else an
//! in-process embedded broker. Ctrl-C or SIGTERM stops it gracefully.

// The service is a library so tests/order_service.rs can drive it; this binary uses the part
// of its API a deployment needs, the tests the rest (store inspection, overrides).
#[path = "lib.rs"]
#[allow(dead_code, unused_imports)]
mod order_service;

use order_service::{ServiceConfig, ServiceError};

/// Where `application.yml` is when `ORDER_SERVICE_CONFIG` does not say.
const DEFAULT_CONFIG: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/examples/order_service/application.yml"
);

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("order_service: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), ServiceError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,rskafka=error".into()),
        )
        .init();
    let path = std::env::var("ORDER_SERVICE_CONFIG").unwrap_or_else(|_| DEFAULT_CONFIG.into());
    let properties = kafka_listener::config::KafkaProperties::from_yaml_file(&path)?;
    let mut config = ServiceConfig::from_properties(properties)?;
    if let Some(servers) = std::env::var("KAFKA_BOOTSTRAP_SERVERS")
        .ok()
        .filter(|s| !s.trim().is_empty())
    {
        config = config.bootstrap(servers.trim());
    }

    let service = order_service::start(config).await?;
    println!(
        "order_service: listening on http://{} (Kafka: {}{}; config {path})",
        service.address(),
        service.bootstrap(),
        if service.is_embedded() {
            ", embedded"
        } else {
            ""
        },
    );

    stop_signal().await;
    tracing::info!("stopping: draining in-flight work units");
    service.shutdown().await
}

/// Ctrl-C, or SIGTERM (what `docker stop` sends).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM; stopping on Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
