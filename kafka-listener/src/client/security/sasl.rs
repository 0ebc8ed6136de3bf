//! SASL settings and the client side of each mechanism's exchange: PLAIN and OAUTHBEARER by hand
//! (one message each), SCRAM-SHA-256/512 through `rsasl`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::protocol::SaslMechanism;
use super::secret::Secret;

/// The error a token provider returns.
pub type TokenError = Box<dyn std::error::Error + Send + Sync>;

/// Supplies OAUTHBEARER tokens (RFC 6750 bearer tokens). Called once per authentication; cache
/// tokens and fetch a new one only when the old is close to expiring.
///
/// ```
/// use kafka_listener::client::{OAuthBearerTokenProvider, TokenError};
/// use std::{future::Future, pin::Pin};
///
/// struct Fixed(String);
/// impl OAuthBearerTokenProvider for Fixed {
///     fn token(&self) -> Pin<Box<dyn Future<Output = Result<String, TokenError>> + Send + '_>> {
///         Box::pin(async move { Ok(self.0.clone()) })
///     }
/// }
/// ```
pub trait OAuthBearerTokenProvider: Send + Sync + 'static {
    /// A token valid long enough to authenticate.
    fn token(&self) -> Pin<Box<dyn Future<Output = Result<String, TokenError>> + Send + '_>>;
}

/// How a SASL connection authenticates: the mechanism and its credentials.
///
/// ```
/// use kafka_listener::client::{SaslMechanism, SaslSettings};
///
/// let sasl = SaslSettings::new(SaslMechanism::ScramSha512, "alice", "alice-secret");
/// assert_eq!(sasl.mechanism(), SaslMechanism::ScramSha512);
/// assert_eq!(sasl.username(), "alice");
/// assert!(!format!("{sasl:?}").contains("alice-secret"));
/// ```
#[derive(Clone)]
pub struct SaslSettings {
    mechanism: SaslMechanism,
    username: String,
    password: Secret,
    token_provider: Option<Arc<dyn OAuthBearerTokenProvider>>,
}

impl SaslSettings {
    /// User name and password for PLAIN or SCRAM. For OAUTHBEARER use
    /// [`oauthbearer`](Self::oauthbearer).
    pub fn new(
        mechanism: SaslMechanism,
        username: impl Into<String>,
        password: impl Into<Secret>,
    ) -> Self {
        Self {
            mechanism,
            username: username.into(),
            password: password.into(),
            token_provider: None,
        }
    }

    /// `PLAIN`.
    pub fn plain(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self::new(SaslMechanism::Plain, username, password)
    }

    /// `SCRAM-SHA-256`.
    pub fn scram_sha256(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self::new(SaslMechanism::ScramSha256, username, password)
    }

    /// `SCRAM-SHA-512`.
    pub fn scram_sha512(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Self::new(SaslMechanism::ScramSha512, username, password)
    }

    /// `OAUTHBEARER` with tokens from `provider`.
    pub fn oauthbearer(provider: Arc<dyn OAuthBearerTokenProvider>) -> Self {
        Self {
            mechanism: SaslMechanism::OAuthBearer,
            username: String::new(),
            password: Secret::default(),
            token_provider: Some(provider),
        }
    }

    /// The same settings with a token provider (for OAUTHBEARER configured in YAML, whose
    /// provider is registered in code).
    pub fn with_token_provider(mut self, provider: Arc<dyn OAuthBearerTokenProvider>) -> Self {
        self.token_provider = Some(provider);
        self
    }

    /// The mechanism.
    pub fn mechanism(&self) -> SaslMechanism {
        self.mechanism
    }

    /// The user name (empty for OAUTHBEARER).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// Whether an OAUTHBEARER token provider is set.
    pub fn has_token_provider(&self) -> bool {
        self.token_provider.is_some()
    }

    /// rskafka's form of the same settings.
    pub(crate) fn rskafka_config(&self) -> rskafka::client::SaslConfig {
        use rskafka::client::{Credentials, OauthBearerCredentials, SaslConfig};
        let credentials =
            || Credentials::new(self.username.clone(), self.password.expose().to_owned());
        match self.mechanism {
            SaslMechanism::Plain => SaslConfig::Plain(credentials()),
            SaslMechanism::ScramSha256 => SaslConfig::ScramSha256(credentials()),
            SaslMechanism::ScramSha512 => SaslConfig::ScramSha512(credentials()),
            SaslMechanism::OAuthBearer => {
                let provider = self.token_provider.clone();
                SaslConfig::Oauthbearer(OauthBearerCredentials {
                    callback: Arc::new(move || {
                        let provider = provider.clone();
                        Box::pin(async move {
                            match provider {
                                Some(provider) => provider.token().await,
                                None => Err(missing_provider().into()),
                            }
                        })
                    }),
                    authz_id: None,
                    bearer_kvs: Vec::new(),
                })
            }
        }
    }

    /// Starts the client side of one authentication.
    pub(crate) async fn start(&self) -> Result<Authenticator, String> {
        let state = match self.mechanism {
            SaslMechanism::Plain => {
                State::Single(Some(plain_message(&self.username, self.password.expose())))
            }
            SaslMechanism::OAuthBearer => {
                let provider = self.token_provider.as_ref().ok_or_else(missing_provider)?;
                let token = provider
                    .token()
                    .await
                    .map_err(|e| format!("the OAUTHBEARER token provider failed: {e}"))?;
                State::OAuth {
                    first: Some(oauthbearer_message(&token)),
                }
            }
            SaslMechanism::ScramSha256 | SaslMechanism::ScramSha512 => {
                let config = rsasl::prelude::SASLConfig::with_credentials(
                    None,
                    self.username.clone(),
                    self.password.expose().to_owned(),
                )
                .map_err(|e| e.to_string())?;
                let name = rsasl::prelude::Mechname::parse(self.mechanism.kafka_name().as_bytes())
                    .map_err(|e| e.to_string())?;
                let session = rsasl::prelude::SASLClient::new(config)
                    .start_suggested(&[name])
                    .map_err(|e| e.to_string())?;
                State::Scram(Box::new(session))
            }
        };
        Ok(Authenticator { state })
    }
}

fn missing_provider() -> String {
    "OAUTHBEARER needs a token provider: register one with App::oauthbearer_token_provider or SaslSettings::oauthbearer".to_owned()
}

impl PartialEq for SaslSettings {
    fn eq(&self, other: &Self) -> bool {
        self.mechanism == other.mechanism
            && self.username == other.username
            && self.password == other.password
            && match (&self.token_provider, &other.token_provider) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            }
    }
}

impl Eq for SaslSettings {}

impl fmt::Debug for SaslSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslSettings")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("token_provider", &self.token_provider.is_some())
            .finish()
    }
}

/// `[authzid] NUL authcid NUL password` (RFC 4616), with an empty authorization id as Kafka's
/// clients send it.
pub(crate) fn plain_message(username: &str, password: &str) -> Vec<u8> {
    let mut message = Vec::with_capacity(username.len() + password.len() + 2);
    message.push(0);
    message.extend_from_slice(username.as_bytes());
    message.push(0);
    message.extend_from_slice(password.as_bytes());
    message
}

/// The OAUTHBEARER client's first message (RFC 7628 §3.1), as Kafka's client writes it.
pub(crate) fn oauthbearer_message(token: &str) -> Vec<u8> {
    format!("n,,\x01auth=Bearer {token}\x01\x01").into_bytes()
}

enum State {
    Single(Option<Vec<u8>>),
    OAuth { first: Option<Vec<u8>> },
    Scram(Box<rsasl::prelude::Session>),
}

/// One step's outcome: a message to send (or none), and whether the exchange ends after it.
pub(crate) struct Step {
    pub send: Option<Vec<u8>>,
    pub finished: bool,
}

/// The client side of one SASL exchange.
pub(crate) struct Authenticator {
    state: State,
}

impl Authenticator {
    /// Feeds the server's last message (none at the start) and returns what to send next.
    pub(crate) fn step(&mut self, received: Option<&[u8]>) -> Result<Step, String> {
        match &mut self.state {
            State::Single(message) => Ok(Step {
                send: message.take(),
                finished: true,
            }),
            State::OAuth { first } => match first.take() {
                Some(message) => Ok(Step {
                    send: Some(message),
                    finished: false,
                }),
                // A non-empty answer is the server's error JSON; RFC 7628 wants a lone %x01
                // back, after which the server fails the exchange.
                None if received.is_some_and(|r| !r.is_empty()) => Ok(Step {
                    send: Some(vec![0x01]),
                    finished: true,
                }),
                None => Ok(Step {
                    send: None,
                    finished: true,
                }),
            },
            State::Scram(session) => {
                let mut out = Vec::new();
                let state = session
                    .step(received, &mut out)
                    .map_err(|e| e.to_string())?;
                Ok(Step {
                    send: state.has_sent_message().then_some(out),
                    finished: state.is_finished(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_message_is_nul_user_nul_password() {
        assert_eq!(
            plain_message("alice", "alice-secret"),
            b"\0alice\0alice-secret"
        );
    }

    #[test]
    fn the_oauthbearer_message_carries_the_token_in_a_gs2_frame() {
        assert_eq!(
            oauthbearer_message("abc.def"),
            b"n,,\x01auth=Bearer abc.def\x01\x01"
        );
    }

    #[tokio::test]
    async fn scram_sha256_client_messages_follow_rfc_7677() {
        // RFC 7677 §3's exchange cannot be replayed exactly (the client nonce is random), so
        // check the shape of the first message and that a wrong server signature is refused.
        let mut auth = SaslSettings::scram_sha256("user", "pencil")
            .start()
            .await
            .unwrap();
        let first = auth.step(None).unwrap();
        let first = String::from_utf8(first.send.unwrap()).unwrap();
        assert!(first.starts_with("n,,n=user,r="), "{first}");
        let client_nonce = first.trim_start_matches("n,,n=user,r=");
        let server_first = format!(
            "r={client_nonce}%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
        );
        let second = auth.step(Some(server_first.as_bytes())).unwrap();
        let second = String::from_utf8(second.send.unwrap()).unwrap();
        assert!(second.starts_with("c=biws,r="), "{second}");
        assert!(second.contains(",p="), "{second}");
        assert!(auth
            .step(Some(b"v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="))
            .is_err());
    }
}
