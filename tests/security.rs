//! TLS and SASL end to end: a `#[kafka_listener]` run by the App consumes what a KafkaTemplate
//! produces over each secured protocol and mechanism, and every failure is a clear error within
//! the request timeout.
//!
//! By default each test starts an embedded broker secured the way it needs (users
//! alice/alice-secret and bob/bob-secret, as `deploy/local/kafka.sh start --security …` creates).
//! With `KAFKA_BOOTSTRAP_SERVERS` and `SPRING_CONFIG_ADDITIONAL_LOCATION` (the
//! client-security.yml that script prints) set, every test whose security protocol the cluster
//! speaks runs against the real cluster instead, with the same code: its TLS settings from that
//! file, the test's own mechanism and credentials as environment overrides. A test the cluster
//! cannot serve (another protocol, mutual TLS, a certificate from another CA) says so on stderr
//! and runs on its embedded broker.
//!
//! - `oauthbearer`: OAUTHBEARER from a token endpoint in the configuration and from a provider
//!   registered on the App.
//! - `reauthentication`: listeners keep consuming across SASL session expiries (KIP-368).

#[path = "security/oauthbearer.rs"]
mod oauthbearer;
#[path = "security/reauthentication.rs"]
mod reauthentication;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kafka_listener::client::{
    BrokerConnection, ConnectionConfig, ConnectionError, SaslMechanism, SaslSettings,
    SecurityConfig, SecurityProtocol, Store, TlsSettings,
};
use kafka_listener::config::{ConfigLoader, KafkaProperties};
use kafka_listener::embedded::EmbeddedKafka;
use kafka_listener::producer::{KafkaTemplate, ProducerSettings};
use kafka_listener::{kafka_listener, App, RecordMeta, State};
use kafka_listener_suite::{eventually, real_kafka_bootstrap, unique_name};

const WAIT: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Seen(Mutex<BTreeMap<String, Vec<String>>>);

#[kafka_listener(
    id = "security-listener",
    topics = "${security.topic}",
    group_id = "${security.group}"
)]
async fn secured_listener(value: String, meta: RecordMeta, seen: State<Seen>) {
    seen.0
         .0
        .lock()
        .unwrap()
        .entry(meta.topic.clone())
        .or_default()
        .push(value);
}

fn jaas(mechanism: SaslMechanism, user: &str, password: &str) -> String {
    let module = match mechanism {
        SaslMechanism::Plain => "org.apache.kafka.common.security.plain.PlainLoginModule",
        _ => "org.apache.kafka.common.security.scram.ScramLoginModule",
    };
    format!(r#"{module} required username="{user}" password="{password}";"#)
}

/// `sasl.mechanism` and `sasl.jaas.config` for alice with `mechanism`.
fn sasl_properties(mechanism: Option<SaslMechanism>) -> Vec<(&'static str, String)> {
    mechanism
        .map(|mechanism| {
            vec![
                ("sasl.mechanism", mechanism.to_string()),
                ("sasl.jaas.config", jaas(mechanism, "alice", "alice-secret")),
            ]
        })
        .unwrap_or_default()
}

/// The YAML a user would write for this broker, with the CA (and client certificate) inline
/// and `properties` under `spring.kafka.properties`.
fn security_yaml(kafka: &EmbeddedKafka, properties: &[(&str, String)]) -> String {
    let mut yaml = format!(
        "spring.kafka:\n  security.protocol: {}\n",
        kafka.security_protocol()
    );
    let indent = |pem: &str| {
        pem.lines()
            .map(|l| format!("      {l}\n"))
            .collect::<String>()
    };
    if let Some(certs) = kafka.certificates() {
        yaml.push_str(&format!(
            "  ssl:\n    trust-store-certificates: |\n{}",
            indent(certs.ca_pem())
        ));
        yaml.push_str(&format!(
            "    key-store-certificate-chain: |\n{}",
            indent(certs.client_chain_pem())
        ));
        yaml.push_str(&format!(
            "    key-store-key: |\n{}",
            indent(certs.client_key_pem())
        ));
    }
    if !properties.is_empty() {
        yaml.push_str("  properties:\n");
        for (key, value) in properties {
            yaml.push_str(&format!("    {key}: '{}'\n", value.replace('\'', "''")));
        }
    }
    yaml
}

/// The variable naming the secured cluster's client file (`kafka.sh` prints it).
const ADDITIONAL_LOCATION: &str = "SPRING_CONFIG_ADDITIONAL_LOCATION";

/// The real cluster's client settings, loaded through the project's config loader from
/// [`ADDITIONAL_LOCATION`], when `KAFKA_BOOTSTRAP_SERVERS` names a cluster.
fn real_cluster_security() -> Option<(String, SecurityConfig)> {
    let bootstrap = real_kafka_bootstrap()?;
    std::env::var(ADDITIONAL_LOCATION).ok()?;
    let props = ConfigLoader::new()
        .load_yaml_str("{}")
        .expect("the secured cluster's client file loads");
    Some((
        bootstrap,
        props.consumer_connection().security_config().clone(),
    ))
}

/// The process environment without [`ADDITIONAL_LOCATION`]: a test on its own embedded broker
/// must not pick up the real cluster's settings.
fn env_for_embedded() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(k, _)| k != ADDITIONAL_LOCATION)
        .collect()
}

/// Where one round trip runs, and the configuration loader that reaches it.
struct Target {
    bootstrap: String,
    loader: ConfigLoader,
    /// The security part of the YAML (empty on the real cluster: its file supplies it).
    yaml: String,
    _embedded: Option<EmbeddedKafka>,
}

/// The real cluster when it speaks `protocol` — with the SASL `properties` given through
/// environment overrides on top of its client file (the cluster enables PLAIN, both SCRAMs and,
/// with `--oauthbearer`, OAUTHBEARER) — else an embedded broker from `builder`, secured alike.
async fn target(
    builder: kafka_listener::embedded::EmbeddedKafkaBuilder,
    protocol: SecurityProtocol,
    properties: &[(&str, String)],
) -> Target {
    if let Some((bootstrap, security)) = real_cluster_security() {
        if security.protocol() == protocol && security.sasl().is_some() != properties.is_empty() {
            let mut env: Vec<(String, String)> = std::env::vars().collect();
            for (key, value) in properties {
                let name = format!("SPRING_KAFKA_PROPERTIES_{}", key.replace('.', "_"));
                env.push((name.to_uppercase(), value.clone()));
            }
            return Target {
                bootstrap,
                loader: ConfigLoader::new().env(env),
                yaml: String::new(),
                _embedded: None,
            };
        }
        eprintln!(
            "runs on an embedded broker: the real cluster speaks {}, this test needs {protocol}",
            security.protocol()
        );
    }
    let kafka = builder.start().await;
    Target {
        bootstrap: kafka.bootstrap(),
        loader: ConfigLoader::new().env(env_for_embedded()),
        yaml: security_yaml(&kafka, properties),
        _embedded: Some(kafka),
    }
}

impl Target {
    fn is_real(&self) -> bool {
        self._embedded.is_none()
    }

    /// The configuration for a test on `topic` and `group`, security included.
    fn load(&self, topic: &str, group: &str) -> KafkaProperties {
        let yaml = format!(
            "{}spring.kafka.consumer.auto-offset-reset: earliest\nspring.kafka.listener.poll-timeout: 200ms\nsecurity:\n  topic: {topic}\n  group: {group}\n",
            self.yaml
        );
        self.loader.load_yaml_str(&yaml).unwrap()
    }
}

/// A listener on a new topic, fed three records by a template built from the same
/// configuration: every connection secured as `props` says.
async fn round_trip_with(target: &Target, app: impl FnOnce(KafkaProperties) -> App) {
    let bootstrap = target.bootstrap.clone();
    let topic = unique_name("security");
    let group = unique_name("security-group");
    let app = app(target.load(&topic, &group));
    let connection = app
        .properties()
        .producer_connection()
        .with_bootstrap_servers([bootstrap.as_str()]);
    let admin = connection
        .rskafka_client()
        .await
        .expect("secured admin client");
    admin
        .controller_client()
        .unwrap()
        .create_topic(&topic, 1, 1, 10_000)
        .await
        .unwrap();
    let seen = Arc::new(Seen::default());
    let app = app
        .bootstrap(bootstrap.clone())
        .shared_state(Arc::clone(&seen))
        .listeners(["security-listener"])
        .start()
        .await
        .expect("the secured App starts");
    let template = KafkaTemplate::connect(connection, ProducerSettings::default())
        .await
        .expect("secured template");
    for n in 0..3 {
        template.send(&topic, "k", format!("v{n}")).await.unwrap();
    }
    eventually("the listener saw all three records", WAIT, || async {
        seen.0.lock().unwrap().get(&topic).map_or(0, Vec::len) == 3
    })
    .await;
    app.shutdown().await.unwrap();
}

async fn round_trip(
    builder: kafka_listener::embedded::EmbeddedKafkaBuilder,
    protocol: SecurityProtocol,
    mechanism: Option<SaslMechanism>,
) {
    let target = target(builder, protocol, &sasl_properties(mechanism)).await;
    round_trip_with(&target, |props| {
        let security = props.consumer_connection().security_config().clone();
        assert_eq!(security.protocol(), protocol);
        assert_eq!(security.sasl().map(|s| s.mechanism()), mechanism);
        App::new(props)
    })
    .await;
}

#[tokio::test]
async fn security_plain_over_sasl_plaintext_round_trips() {
    round_trip(
        EmbeddedKafka::builder().sasl([SaslMechanism::Plain]),
        SecurityProtocol::SaslPlaintext,
        Some(SaslMechanism::Plain),
    )
    .await;
}

#[tokio::test]
async fn security_scram_sha256_over_sasl_plaintext_round_trips() {
    round_trip(
        EmbeddedKafka::builder().sasl([SaslMechanism::ScramSha256]),
        SecurityProtocol::SaslPlaintext,
        Some(SaslMechanism::ScramSha256),
    )
    .await;
}

#[tokio::test]
async fn security_scram_sha512_over_sasl_plaintext_round_trips() {
    round_trip(
        EmbeddedKafka::builder().sasl([SaslMechanism::ScramSha512]),
        SecurityProtocol::SaslPlaintext,
        Some(SaslMechanism::ScramSha512),
    )
    .await;
}

#[tokio::test]
async fn security_plain_over_sasl_ssl_round_trips() {
    round_trip(
        EmbeddedKafka::builder().tls().sasl([SaslMechanism::Plain]),
        SecurityProtocol::SaslSsl,
        Some(SaslMechanism::Plain),
    )
    .await;
}

#[tokio::test]
async fn security_scram_sha256_over_sasl_ssl_round_trips() {
    round_trip(
        EmbeddedKafka::builder()
            .tls()
            .sasl([SaslMechanism::ScramSha256]),
        SecurityProtocol::SaslSsl,
        Some(SaslMechanism::ScramSha256),
    )
    .await;
}

#[tokio::test]
async fn security_scram_sha512_over_sasl_ssl_round_trips() {
    round_trip(
        EmbeddedKafka::builder()
            .tls()
            .sasl([SaslMechanism::ScramSha512]),
        SecurityProtocol::SaslSsl,
        Some(SaslMechanism::ScramSha512),
    )
    .await;
}

#[tokio::test]
async fn security_tls_only_round_trips() {
    round_trip(EmbeddedKafka::builder().tls(), SecurityProtocol::Ssl, None).await;
}

#[tokio::test]
async fn security_mutual_tls_round_trips_and_refuses_a_client_without_a_certificate() {
    let kafka = EmbeddedKafka::builder().mutual_tls().start().await;
    let ca_only = SecurityConfig::ssl(
        TlsSettings::new().trust_store(Store::pem(kafka.certificates().unwrap().ca_pem())),
    )
    .unwrap();
    let config = ConnectionConfig::new([kafka.bootstrap()])
        .request_timeout(Duration::from_secs(5))
        .security(ca_only);
    assert!(BrokerConnection::connect(&kafka.bootstrap(), &config)
        .await
        .is_err());
    drop(kafka);
    round_trip(
        EmbeddedKafka::builder().mutual_tls(),
        SecurityProtocol::Ssl,
        None,
    )
    .await;
}

fn timed_config(kafka_bootstrap: &str, security: SecurityConfig) -> ConnectionConfig {
    ConnectionConfig::new([kafka_bootstrap])
        .request_timeout(Duration::from_secs(3))
        .security(security)
}

#[tokio::test]
async fn security_wrong_password_is_authentication_failed_naming_broker_mechanism_and_user() {
    let wrong = SaslSettings::scram_sha256("alice", "not-her-password");
    // On a real SASL cluster (which enables SCRAM-SHA-256 too) with its TLS settings, else on
    // an embedded broker.
    let (bootstrap, security, _kafka) = match real_cluster_security() {
        Some((bootstrap, real)) if real.sasl().is_some() => {
            let bootstrap = bootstrap.split(',').next().unwrap().to_owned();
            (bootstrap, real.with_sasl(wrong), None)
        }
        _ => {
            let kafka = EmbeddedKafka::builder()
                .sasl([SaslMechanism::ScramSha256])
                .start()
                .await;
            let security = kafka.client_security(Some(wrong));
            (kafka.bootstrap(), security, Some(kafka))
        }
    };
    let started = Instant::now();
    let err = BrokerConnection::connect(&bootstrap, &timed_config(&bootstrap, security))
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        matches!(err, ConnectionError::Authentication { .. }),
        "{err}"
    );
    let message = err.to_string();
    for part in [
        "authentication failed",
        &bootstrap,
        "SCRAM-SHA-256",
        "alice",
    ] {
        assert!(message.contains(part), "{part} missing from: {message}");
    }
    assert!(!message.contains("not-her-password"), "{message}");
}

#[tokio::test]
async fn security_unknown_ca_is_a_tls_error_within_the_timeout() {
    let kafka = EmbeddedKafka::builder().tls().start().await;
    let other = EmbeddedKafka::builder().tls().start().await;
    let wrong_ca = SecurityConfig::ssl(
        TlsSettings::new().trust_store(Store::pem(other.certificates().unwrap().ca_pem())),
    )
    .unwrap();
    let started = Instant::now();
    let err = BrokerConnection::connect(
        &kafka.bootstrap(),
        &timed_config(&kafka.bootstrap(), wrong_ca),
    )
    .await
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(matches!(err, ConnectionError::Tls { .. }), "{err}");
    assert!(err.to_string().contains(&kafka.bootstrap()), "{err}");
    // Both test CAs share a name, so rustls reports BadSignature rather than UnknownIssuer.
    assert!(
        err.to_string().contains("invalid peer certificate"),
        "{err}"
    );
}

#[tokio::test]
async fn security_tls_client_on_a_plaintext_port_is_an_error_not_a_hang() {
    let plain = EmbeddedKafka::start().await;
    let tls = EmbeddedKafka::builder().tls().start().await;
    let started = Instant::now();
    let err = BrokerConnection::connect(
        &plain.bootstrap(),
        &timed_config(&plain.bootstrap(), tls.client_security(None)),
    )
    .await
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(matches!(err, ConnectionError::Tls { .. }), "{err}");
}

#[tokio::test]
async fn security_plaintext_client_on_a_tls_port_is_an_error_not_a_hang() {
    let tls = EmbeddedKafka::builder().tls().start().await;
    let started = Instant::now();
    let err = BrokerConnection::connect(
        &tls.bootstrap(),
        &timed_config(&tls.bootstrap(), SecurityConfig::plaintext()),
    )
    .await
    .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(4));
    assert!(err.to_string().contains(&tls.bootstrap()), "{err}");
}

#[tokio::test]
async fn security_sasl_broker_refuses_requests_before_authentication() {
    let kafka = EmbeddedKafka::builder()
        .sasl([SaslMechanism::Plain])
        .start()
        .await;
    let err = BrokerConnection::connect(
        &kafka.bootstrap(),
        &timed_config(&kafka.bootstrap(), SecurityConfig::plaintext()),
    )
    .await;
    // ApiVersions is allowed; anything else before SaslAuthenticate closes the connection.
    let conn = err.expect("ApiVersions is answered before authentication");
    let metadata = conn
        .send(kafka_protocol::messages::MetadataRequest::default())
        .await;
    assert!(metadata.is_err());
}

#[test]
fn security_unsupported_mechanism_is_a_config_error_listing_the_supported_ones() {
    let err = ConfigLoader::new()
        .env(Vec::<(String, String)>::new())
        .load_yaml_str("spring.kafka:\n  security.protocol: SASL_SSL\n  properties:\n    sasl.mechanism: AWS_MSK_IAM\n    sasl.jaas.config: software.amazon.msk.auth.iam.IAMLoginModule required;\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("spring.kafka.properties.sasl.mechanism"),
        "{err}"
    );
    assert!(
        err.contains("PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER"),
        "{err}"
    );
}

#[test]
fn security_debug_output_of_configuration_and_connections_is_redacted() {
    let props = ConfigLoader::new()
        .env([("SPRING_KAFKA_PROPERTIES_SASL_JAAS_CONFIG", jaas(SaslMechanism::Plain, "alice", "alice-secret"))])
        .load_yaml_str("spring.kafka:\n  security.protocol: SASL_PLAINTEXT\n  properties.sasl.mechanism: PLAIN\n")
        .unwrap();
    for text in [
        format!("{props:?}"),
        format!("{:?}", props.consumer_connection()),
    ] {
        assert!(!text.contains("alice-secret"), "{text}");
        assert!(text.contains("***"), "{text}");
    }
}

#[test]
fn security_sasl_keys_with_plaintext_are_a_warning_naming_the_keys() {
    let props = ConfigLoader::new()
        .env(Vec::<(String, String)>::new())
        .load_yaml_str("spring.kafka.properties:\n  sasl.mechanism: PLAIN\n")
        .unwrap();
    let warning = props
        .warnings()
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        warning.contains("spring.kafka.properties.sasl.mechanism"),
        "{warning}"
    );
    assert!(warning.contains("PLAINTEXT"), "{warning}");
}
