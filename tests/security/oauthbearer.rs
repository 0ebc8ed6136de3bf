//! SASL OAUTHBEARER: tokens from an OIDC token endpoint named in the configuration (the
//! client-credentials flow of Kafka's `OAuthBearerLoginCallbackHandler`), and from a provider
//! registered on the App. The token endpoint is a real HTTP server started by each test on
//! 127.0.0.1, issuing unsigned JWTs (`alg: none`), which the embedded broker and Kafka's
//! unsecured validator (`kafka.sh start --security sasl_ssl --oauthbearer`) accept. On a real
//! cluster without OAUTHBEARER these tests say so and skip.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State as Shared;
use axum::http::{HeaderMap, StatusCode};
use kafka_listener::client::{
    BrokerConnection, ConnectionError, OAuthBearerTokenProvider, SaslMechanism, SaslSettings,
    SecurityProtocol, TokenError, UnsecuredTokenProvider,
};
use kafka_listener::embedded::{unsecured_token, EmbeddedKafka};
use kafka_listener::App;

use super::{round_trip_with, target, Target};

const CLIENT_ID: &str = "kafka-listener-tests";
const CLIENT_SECRET: &str = "s3cr3t";
/// `Basic base64("kafka-listener-tests:s3cr3t")`.
const EXPECTED_AUTHORIZATION: &str = "Basic a2Fma2EtbGlzdGVuZXItdGVzdHM6czNjcjN0";
const LOGIN_MODULE: &str = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule";
const LOGIN_HANDLER: &str =
    "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginCallbackHandler";

/// An OAuth 2 token endpoint for the client-credentials grant: checks the client's Basic
/// credentials, the grant type and the scope, and issues unsigned JWTs for `alice`.
struct TokenEndpoint {
    url: String,
    requests: Arc<AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TokenEndpoint {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[derive(Clone)]
struct Issuer {
    requests: Arc<AtomicUsize>,
    lifetime: Duration,
}

async fn issue(
    Shared(issuer): Shared<Issuer>,
    headers: HeaderMap,
    body: String,
) -> (StatusCode, String) {
    issuer.requests.fetch_add(1, Ordering::SeqCst);
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if authorization != EXPECTED_AUTHORIZATION {
        return (
            StatusCode::UNAUTHORIZED,
            r#"{"error":"invalid_client"}"#.to_owned(),
        );
    }
    let form: Vec<&str> = body.split('&').collect();
    if !form.contains(&"grant_type=client_credentials") || !form.contains(&"scope=kafka") {
        return (
            StatusCode::BAD_REQUEST,
            format!(r#"{{"error":"invalid_request","form":"{body}"}}"#),
        );
    }
    let token = unsecured_token("alice", issuer.lifetime);
    let response = serde_json::json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": issuer.lifetime.as_secs(),
    });
    (StatusCode::OK, response.to_string())
}

async fn token_endpoint(lifetime: Duration) -> TokenEndpoint {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/oauth2/token", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let router = axum::Router::new()
        .route("/oauth2/token", axum::routing::post(issue))
        .with_state(Issuer {
            requests: Arc::clone(&requests),
            lifetime,
        });
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    TokenEndpoint {
        url,
        requests,
        server,
    }
}

/// The client-credentials configuration a user writes for `endpoint`.
fn client_credentials(endpoint: &TokenEndpoint, secret: &str) -> Vec<(&'static str, String)> {
    vec![
        ("sasl.mechanism", "OAUTHBEARER".to_owned()),
        (
            "sasl.jaas.config",
            format!(
                r#"{LOGIN_MODULE} required clientId="{CLIENT_ID}" clientSecret="{secret}" scope="kafka";"#
            ),
        ),
        (
            "sasl.login.callback.handler.class",
            LOGIN_HANDLER.to_owned(),
        ),
        ("sasl.oauthbearer.token.endpoint.url", endpoint.url.clone()),
    ]
}

/// OAUTHBEARER with the token source left to code.
fn from_code() -> Vec<(&'static str, String)> {
    vec![
        ("sasl.mechanism", "OAUTHBEARER".to_owned()),
        ("sasl.jaas.config", format!("{LOGIN_MODULE} required;")),
    ]
}

/// The embedded broker or the real cluster, with `properties`; `None` (after saying why) on
/// a real cluster that does not enable OAUTHBEARER.
async fn oauth_target(properties: &[(&str, String)]) -> Option<Target> {
    let builder = EmbeddedKafka::builder()
        .tls()
        .sasl([SaslMechanism::OAuthBearer]);
    let target = target(builder, SecurityProtocol::SaslSsl, properties).await;
    if target.is_real() {
        let security = target
            .load("probe", "probe")
            .consumer_connection()
            .security_config()
            .clone()
            .with_sasl(SaslSettings::oauthbearer(Arc::new(
                UnsecuredTokenProvider::new("probe", Duration::from_secs(60)),
            )));
        let addr = target.bootstrap.split(',').next().unwrap().to_owned();
        let config = kafka_listener::client::ConnectionConfig::new([addr.as_str()])
            .request_timeout(Duration::from_secs(10))
            .security(security);
        if let Err(e) = BrokerConnection::connect(&addr, &config).await {
            if e.to_string().contains("does not enable OAUTHBEARER") {
                eprintln!("skipped: the real cluster does not enable OAUTHBEARER (start it with kafka.sh start --security sasl_ssl --oauthbearer): {e}");
                return None;
            }
            panic!("OAUTHBEARER probe failed: {e}");
        }
    }
    Some(target)
}

/// Counts its calls; issues unsigned tokens for `alice`.
struct CountingProvider {
    calls: Arc<AtomicUsize>,
    lifetime: Duration,
}

impl OAuthBearerTokenProvider for CountingProvider {
    fn token(&self) -> Pin<Box<dyn Future<Output = Result<String, TokenError>> + Send + '_>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move { Ok(unsecured_token("alice", self.lifetime)) })
    }
}

#[tokio::test]
async fn security_oauthbearer_client_credentials_from_configuration_reach_the_token_endpoint_and_round_trip(
) {
    let endpoint = token_endpoint(Duration::from_secs(300)).await;
    let Some(target) = oauth_target(&client_credentials(&endpoint, CLIENT_SECRET)).await else {
        return;
    };
    round_trip_with(&target, App::new).await;
    // Every connection (admin, group, fetch, producer) authenticated with one token: the
    // provider caches it and the configuration's clients share the provider.
    assert_eq!(endpoint.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn security_oauthbearer_provider_registered_on_the_app_authenticates_every_connection() {
    let Some(target) = oauth_target(&from_code()).await else {
        return;
    };
    let calls = Arc::new(AtomicUsize::new(0));
    let provider = CountingProvider {
        calls: Arc::clone(&calls),
        lifetime: Duration::from_secs(300),
    };
    round_trip_with(&target, |props| {
        App::new(props).oauthbearer_token_provider(provider)
    })
    .await;
    // At least the admin client, the group coordinator, the fetcher and the producer.
    let calls = calls.load(Ordering::SeqCst);
    assert!(calls >= 4, "the provider was asked {calls} times");
}

#[tokio::test]
async fn security_oauthbearer_without_a_token_source_fails_at_start_naming_both_ways_to_supply_one()
{
    let yaml = format!(
        "spring.kafka:\n  security.protocol: SASL_PLAINTEXT\n  properties:\n    sasl.mechanism: OAUTHBEARER\n    sasl.jaas.config: '{LOGIN_MODULE} required;'\n"
    );
    let props = kafka_listener::config::ConfigLoader::new()
        .env(Vec::<(String, String)>::new())
        .load_yaml_str(&yaml)
        .unwrap();
    let Err(err) = App::new(props)
        .listeners(["security-listener"])
        .start()
        .await
    else {
        panic!("no token source must be an error at start");
    };
    let message = err.to_string();
    assert!(
        message.contains("sasl.oauthbearer.token.endpoint.url"),
        "{message}"
    );
    assert!(
        message.contains("App::oauthbearer_token_provider"),
        "{message}"
    );
}

#[tokio::test]
async fn security_oauthbearer_refused_client_secret_is_an_authentication_error_naming_the_endpoint_not_the_secret(
) {
    let endpoint = token_endpoint(Duration::from_secs(300)).await;
    let Some(target) = oauth_target(&client_credentials(&endpoint, "not-the-secret")).await else {
        return;
    };
    let addr = target.bootstrap.split(',').next().unwrap().to_owned();
    let config = target
        .load("t", "g")
        .consumer_connection()
        .with_bootstrap_servers([addr.as_str()])
        .request_timeout(Duration::from_secs(5));
    let err = BrokerConnection::connect(&addr, &config).await.unwrap_err();
    assert!(
        matches!(err, ConnectionError::Authentication { .. }),
        "{err}"
    );
    let message = err.to_string();
    for part in ["OAUTHBEARER", &endpoint.url, "HTTP 401", CLIENT_ID] {
        assert!(message.contains(part), "{part} missing from: {message}");
    }
    assert!(!message.contains("not-the-secret"), "{message}");
    assert_eq!(endpoint.requests.load(Ordering::SeqCst), 1);
}

/// An unsigned JWT for `alice` that expired in 1970 (`{"sub":"alice","iat":1,"exp":2}`).
const EXPIRED_TOKEN: &str = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhbGljZSIsImlhdCI6MSwiZXhwIjoyfQ.";

struct ExpiredTokens;

impl OAuthBearerTokenProvider for ExpiredTokens {
    fn token(&self) -> Pin<Box<dyn Future<Output = Result<String, TokenError>> + Send + '_>> {
        Box::pin(async { Ok(EXPIRED_TOKEN.to_owned()) })
    }
}

#[tokio::test]
async fn security_oauthbearer_broker_refuses_an_expired_token() {
    let Some(target) = oauth_target(&from_code()).await else {
        return;
    };
    let addr = target.bootstrap.split(',').next().unwrap().to_owned();
    let props = target
        .load("t", "g")
        .with_oauthbearer_token_provider(Arc::new(ExpiredTokens));
    let config = props
        .consumer_connection()
        .with_bootstrap_servers([addr.as_str()])
        .request_timeout(Duration::from_secs(5));
    let err = BrokerConnection::connect(&addr, &config).await.unwrap_err();
    assert!(
        matches!(err, ConnectionError::Authentication { .. }),
        "{err}"
    );
}
