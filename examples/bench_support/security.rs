//! The security the bench's own rskafka clients (preload, raw loop, paced producer, commit
//! check) connect with: read from the `KAFKA_*` variables of the `client.env` that
//! `deploy/local/kafka.sh start --security …` writes (bench/run.sh exports them), and built by
//! hand into a [`SecurityConfig`], as a hand-written rskafka consumer would. Our listener does
//! not come through here: `App` reads the same cluster's `client-security.yml` through
//! `SPRING_CONFIG_ADDITIONAL_LOCATION`, as a Spring Boot service would.

use std::time::Duration;

use kafka_listener::client::{
    ConnectionConfig, SaslMechanism, SaslSettings, SecurityConfig, SecurityProtocol, Store,
    TlsSettings,
};

/// Connection settings for `bootstrap` (comma-separated) with a 30 s request timeout and the
/// security [`from_env`] finds.
pub fn connection(bootstrap: &str) -> ConnectionConfig {
    let security = from_env().unwrap_or_else(|e| super::fail(format!("security settings: {e}")));
    ConnectionConfig::new(bootstrap.split(','))
        .request_timeout(Duration::from_secs(30))
        .security(security)
}

fn var(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("{name} is not set"))
}

fn sasl() -> Result<SaslSettings, String> {
    let name = var("KAFKA_SASL_MECHANISM")?;
    let mechanism = SaslMechanism::from_kafka_name(&name)
        .ok_or_else(|| format!("KAFKA_SASL_MECHANISM {name:?} is not a SASL mechanism"))?;
    Ok(SaslSettings::new(
        mechanism,
        var("KAFKA_SASL_USERNAME")?,
        var("KAFKA_SASL_PASSWORD")?,
    ))
}

fn tls() -> TlsSettings {
    match std::env::var("KAFKA_SSL_CAFILE") {
        Ok(ca) => TlsSettings::new().trust_store(Store::file(ca, None)),
        Err(_) => TlsSettings::new(),
    }
}

/// `KAFKA_SECURITY_PROTOCOL` (PLAINTEXT when unset) with `KAFKA_SASL_{MECHANISM,USERNAME,
/// PASSWORD}` and `KAFKA_SSL_CAFILE` as it needs them.
pub fn from_env() -> Result<SecurityConfig, String> {
    let name = std::env::var("KAFKA_SECURITY_PROTOCOL").unwrap_or_else(|_| "PLAINTEXT".into());
    let protocol = SecurityProtocol::from_kafka_name(&name)
        .ok_or_else(|| format!("KAFKA_SECURITY_PROTOCOL {name:?} is not a security protocol"))?;
    let tls_error = |e: kafka_listener::client::TlsError| e.to_string();
    Ok(match protocol {
        SecurityProtocol::Plaintext => SecurityConfig::plaintext(),
        SecurityProtocol::SaslPlaintext => SecurityConfig::sasl_plaintext(sasl()?),
        SecurityProtocol::Ssl => SecurityConfig::ssl(tls()).map_err(tls_error)?,
        SecurityProtocol::SaslSsl => SecurityConfig::sasl_ssl(tls(), sasl()?).map_err(tls_error)?,
    })
}
