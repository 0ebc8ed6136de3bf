//! OAUTHBEARER tokens from configuration: the OIDC client-credentials flow Kafka's
//! `OAuthBearerLoginCallbackHandler` runs ([`ClientCredentialsTokenProvider`]), and the unsigned
//! tokens of Kafka's unsecured login handler ([`UnsecuredTokenProvider`], for test clusters).
//!
//! - `http`: one HTTP/1.1 POST to the token endpoint.
//! - `jwt`: a token's `sub` and `exp` claims; unsigned tokens.

mod http;
pub(crate) mod jwt;

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::sasl::{OAuthBearerTokenProvider, TokenError};
use super::secret::Secret;
use super::tls::TlsSettings;

/// Kafka refreshes a token once 80 % of its lifetime has passed
/// (`sasl.login.refresh.window.factor`); so do we.
const REFRESH_WINDOW_FACTOR: f64 = 0.8;

/// Why no token could be had from the token endpoint. Messages name the endpoint and the client
/// id, never the secret.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// `sasl.oauthbearer.token.endpoint.url` is not an `http(s)://` URL.
    #[error("sasl.oauthbearer.token.endpoint.url: {0}")]
    InvalidUrl(String),
    /// The endpoint could not be reached or did not answer in time.
    #[error("token endpoint {url} unreachable: {reason}")]
    Unreachable {
        /// The token endpoint.
        url: String,
        /// The cause.
        reason: String,
    },
    /// The endpoint refused the request (e.g. 401 for a wrong client secret).
    #[error("token endpoint {url} answered HTTP {status} for client `{client_id}`: {body}")]
    Refused {
        /// The token endpoint.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The client id used.
        client_id: String,
        /// The start of the response body (the endpoint's error description).
        body: String,
    },
    /// A 2xx answer without a usable `access_token`.
    #[error("token endpoint {url} answered without an access_token: {reason}")]
    BadResponse {
        /// The token endpoint.
        url: String,
        /// What was wrong.
        reason: String,
    },
}

/// A token and when to fetch the next.
struct Cached {
    token: String,
    refresh_at: Instant,
}

/// OAUTHBEARER tokens from an OAuth 2 token endpoint with the client-credentials grant, as
/// Kafka's `OAuthBearerLoginCallbackHandler` gets them: a POST of
/// `grant_type=client_credentials[&scope=…]` with the client id and secret as HTTP Basic
/// credentials. A token is reused until 80 % of its lifetime (from its `exp` claim, else the
/// response's `expires_in`) has passed; concurrent connections share one request.
///
/// Configured from `sasl.oauthbearer.token.endpoint.url` and the JAAS line's `clientId`,
/// `clientSecret` and `scope`, or built in code:
///
/// ```
/// use kafka_listener::client::{ClientCredentialsTokenProvider, SaslSettings};
/// use std::sync::Arc;
///
/// let provider = ClientCredentialsTokenProvider::new(
///     "https://idp.example.com/oauth2/token",
///     "order-service",
///     "s3cr3t",
/// )
/// .unwrap()
/// .scope("kafka");
/// assert!(!format!("{provider:?}").contains("s3cr3t"));
/// let sasl = SaslSettings::oauthbearer(Arc::new(provider));
/// assert!(sasl.has_token_provider());
/// ```
pub struct ClientCredentialsTokenProvider {
    url: String,
    endpoint: http::Url,
    client_id: String,
    client_secret: Secret,
    scope: Option<String>,
    timeout: Duration,
    tls: TlsSettings,
    cache: tokio::sync::Mutex<Option<Cached>>,
}

impl std::fmt::Debug for ClientCredentialsTokenProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentialsTokenProvider")
            .field("url", &self.url)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("scope", &self.scope)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ClientCredentialsTokenProvider {
    /// How long one token request may take unless [`timeout`](Self::timeout) says otherwise.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

    /// A provider for the token endpoint at `url` (`http://` or `https://`; `https` trusts the
    /// system's CA certificates unless [`tls`](Self::tls) says otherwise).
    pub fn new(
        url: &str,
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
    ) -> Result<Self, OAuthError> {
        Ok(Self {
            url: url.trim().to_owned(),
            endpoint: http::Url::parse(url).map_err(OAuthError::InvalidUrl)?,
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            scope: None,
            timeout: Self::DEFAULT_TIMEOUT,
            tls: TlsSettings::new(),
            cache: tokio::sync::Mutex::new(None),
        })
    }

    /// The `scope` to ask for.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into()).filter(|s| !s.is_empty());
        self
    }

    /// How long one token request may take (connect, send, receive).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The trust store for an `https` endpoint (default: the system's CA certificates).
    pub fn tls(mut self, tls: TlsSettings) -> Self {
        self.tls = tls;
        self
    }

    /// The token endpoint's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Whether `other` asks the same endpoint for the same client's tokens, so one cache can
    /// serve both (Kafka's clients share one login per JAAS configuration, too).
    pub(crate) fn same_client(&self, other: &Self) -> bool {
        self.url == other.url
            && self.client_id == other.client_id
            && self.client_secret == other.client_secret
            && self.scope == other.scope
    }

    /// The cached token while it is fresh, else a new one from the endpoint.
    pub async fn fetch(&self) -> Result<String, OAuthError> {
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.as_ref().filter(|c| Instant::now() < c.refresh_at) {
            return Ok(cached.token.clone());
        }
        let (token, expires_in) = self.request().await?;
        let lifetime = jwt::claims(&token)
            .and_then(|c| c.expires_at)
            .and_then(|exp| exp.duration_since(SystemTime::now()).ok())
            .or(expires_in);
        *cache = lifetime.map(|lifetime| Cached {
            token: token.clone(),
            refresh_at: Instant::now() + lifetime.mul_f64(REFRESH_WINDOW_FACTOR),
        });
        tracing::debug!(url = %self.url, client_id = %self.client_id, ?lifetime, "OAUTHBEARER token fetched");
        Ok(token)
    }

    /// One token request: the token and the response's `expires_in`.
    async fn request(&self) -> Result<(String, Option<Duration>), OAuthError> {
        let unreachable = |reason: String| OAuthError::Unreachable {
            url: self.url.clone(),
            reason,
        };
        let tls = if self.endpoint.tls {
            Some(
                self.tls
                    .client_config()
                    .map_err(|e| unreachable(e.to_string()))?,
            )
        } else {
            None
        };
        let mut body = "grant_type=client_credentials".to_owned();
        if let Some(scope) = &self.scope {
            body.push_str("&scope=");
            body.push_str(&http::form_encode(scope));
        }
        let credentials = STANDARD.encode(format!(
            "{}:{}",
            self.client_id,
            self.client_secret.expose()
        ));
        let headers = [("Authorization", format!("Basic {credentials}"))];
        let response = http::post_form(&self.endpoint, &headers, &body, tls, self.timeout)
            .await
            .map_err(unreachable)?;
        let text = String::from_utf8_lossy(&response.body);
        if !(200..300).contains(&response.status) {
            return Err(OAuthError::Refused {
                url: self.url.clone(),
                status: response.status,
                client_id: self.client_id.clone(),
                body: text.chars().take(300).collect(),
            });
        }
        let bad = |reason: &str| OAuthError::BadResponse {
            url: self.url.clone(),
            reason: reason.to_owned(),
        };
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|_| bad("the body is not JSON"))?;
        let token = json
            .get("access_token")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| bad("no access_token field"))?;
        let expires_in = json
            .get("expires_in")
            .and_then(|e| e.as_f64().or_else(|| e.as_str()?.parse().ok()))
            .filter(|e| e.is_finite() && *e > 0.0)
            .map(Duration::from_secs_f64);
        Ok((token.to_owned(), expires_in))
    }
}

impl OAuthBearerTokenProvider for ClientCredentialsTokenProvider {
    fn token(&self) -> Pin<Box<dyn Future<Output = Result<String, TokenError>> + Send + '_>> {
        Box::pin(async move { self.fetch().await.map_err(TokenError::from) })
    }
}

/// Unsigned tokens (`alg: none`) for a fixed subject, as Kafka's default (unsecured) login
/// handler makes them from `unsecuredLoginStringClaim_sub`: for development clusters whose
/// brokers run Kafka's unsecured validator, never for production.
///
/// ```
/// use kafka_listener::client::{OAuthBearerTokenProvider, UnsecuredTokenProvider};
/// use std::time::Duration;
///
/// # tokio_test_block(async {
/// let token = UnsecuredTokenProvider::new("alice", Duration::from_secs(3600)).token().await.unwrap();
/// assert!(token.ends_with('.')); // no signature
/// # });
/// # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct UnsecuredTokenProvider {
    subject: String,
    lifetime: Duration,
}

impl UnsecuredTokenProvider {
    /// Tokens for `subject`, each valid for `lifetime` (Kafka's default: one hour).
    pub fn new(subject: impl Into<String>, lifetime: Duration) -> Self {
        Self {
            subject: subject.into(),
            lifetime,
        }
    }
}

impl OAuthBearerTokenProvider for UnsecuredTokenProvider {
    fn token(&self) -> Pin<Box<dyn Future<Output = Result<String, TokenError>> + Send + '_>> {
        Box::pin(async move { Ok(jwt::unsecured(&self.subject, self.lifetime)) })
    }
}
