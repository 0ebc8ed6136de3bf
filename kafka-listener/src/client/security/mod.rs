//! Security of every broker connection: `security.protocol`, TLS and SASL, in one
//! [`SecurityConfig`] that [`ConnectionConfig`](super::ConnectionConfig) carries, so our own
//! connections and rskafka's are secured alike and none can stay plaintext by accident.
//!
//! - `protocol`: [`SecurityProtocol`], [`SaslMechanism`].
//! - `tls`: [`TlsSettings`] (trust and key stores: PEM, PKCS12) → `rustls::ClientConfig`.
//! - `sasl`: [`SaslSettings`] and each mechanism's client exchange.
//! - `jaas`: `sasl.jaas.config` → [`JaasConfig`].
//! - `secret`: [`Secret`], whose `Debug` is `"***"`.
//! - `oauth`: OAUTHBEARER tokens from configuration ([`ClientCredentialsTokenProvider`],
//!   [`UnsecuredTokenProvider`]).

mod jaas;
mod oauth;
mod protocol;
mod sasl;
mod secret;
mod tls;

use std::fmt;
use std::sync::Arc;

pub use jaas::{JaasConfig, JaasError};
#[cfg(feature = "embedded")]
pub(crate) use oauth::jwt;
pub use oauth::{ClientCredentialsTokenProvider, OAuthError, UnsecuredTokenProvider};
pub use protocol::{SaslMechanism, SecurityProtocol};
pub use sasl::{OAuthBearerTokenProvider, SaslSettings, TokenError};
pub use secret::{is_sensitive_key, Secret};
pub(crate) use tls::server_name;
pub use tls::{Store, TlsError, TlsSettings};

/// The security of a connection: protocol, TLS client configuration (built once, shared by
/// every connection) and SASL credentials.
///
/// ```
/// use kafka_listener::client::{ConnectionConfig, SaslSettings, SecurityConfig, SecurityProtocol};
///
/// let security = SecurityConfig::sasl_plaintext(SaslSettings::scram_sha256("alice", "alice-secret"));
/// let config = ConnectionConfig::new(["127.0.0.1:9092"]).security(security);
/// assert_eq!(config.security_config().protocol(), SecurityProtocol::SaslPlaintext);
/// assert!(!format!("{config:?}").contains("alice-secret"));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecurityConfig {
    protocol: SecurityProtocol,
    tls: Option<Tls>,
    sasl: Option<SaslSettings>,
}

/// The settings and the client configuration built from them.
#[derive(Clone)]
struct Tls {
    settings: TlsSettings,
    client_config: Arc<rustls::ClientConfig>,
}

impl PartialEq for Tls {
    fn eq(&self, other: &Self) -> bool {
        self.settings == other.settings
    }
}

impl Eq for Tls {}

impl SecurityConfig {
    /// `PLAINTEXT`: neither TLS nor SASL.
    pub fn plaintext() -> Self {
        Self::default()
    }

    /// `SSL`: TLS with `tls`. Loads the stores now, so a bad file fails at start-up.
    pub fn ssl(tls: TlsSettings) -> Result<Self, TlsError> {
        Ok(Self {
            protocol: SecurityProtocol::Ssl,
            tls: Some(Tls::new(tls)?),
            sasl: None,
        })
    }

    /// `SASL_PLAINTEXT`: SASL without TLS.
    pub fn sasl_plaintext(sasl: SaslSettings) -> Self {
        Self {
            protocol: SecurityProtocol::SaslPlaintext,
            tls: None,
            sasl: Some(sasl),
        }
    }

    /// `SASL_SSL`: SASL over TLS.
    pub fn sasl_ssl(tls: TlsSettings, sasl: SaslSettings) -> Result<Self, TlsError> {
        Ok(Self {
            protocol: SecurityProtocol::SaslSsl,
            tls: Some(Tls::new(tls)?),
            sasl: Some(sasl),
        })
    }

    /// The protocol.
    pub fn protocol(&self) -> SecurityProtocol {
        self.protocol
    }

    /// The TLS settings (`SSL`, `SASL_SSL`).
    pub fn tls_settings(&self) -> Option<&TlsSettings> {
        self.tls.as_ref().map(|t| &t.settings)
    }

    /// The SASL settings (`SASL_*`).
    pub fn sasl(&self) -> Option<&SaslSettings> {
        self.sasl.as_ref()
    }

    /// The same configuration with the SASL settings replaced (e.g. an OAUTHBEARER token
    /// provider added in code); no effect for `PLAINTEXT` and `SSL`.
    pub fn with_sasl(mut self, sasl: SaslSettings) -> Self {
        if self.protocol.uses_sasl() {
            self.sasl = Some(sasl);
        }
        self
    }

    /// The rustls client configuration, when the protocol uses TLS.
    pub fn tls_client_config(&self) -> Option<Arc<rustls::ClientConfig>> {
        self.tls.as_ref().map(|t| Arc::clone(&t.client_config))
    }
}

impl Tls {
    fn new(settings: TlsSettings) -> Result<Self, TlsError> {
        let client_config = settings.client_config()?;
        Ok(Self {
            settings,
            client_config,
        })
    }
}

impl fmt::Debug for SecurityConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecurityConfig")
            .field("protocol", &self.protocol)
            .field("tls", &self.tls.as_ref().map(|t| &t.settings))
            .field("sasl", &self.sasl)
            .finish()
    }
}
