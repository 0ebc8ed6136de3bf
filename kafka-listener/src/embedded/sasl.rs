//! The embedded broker's side of SASL: SaslHandshake and SaslAuthenticate before any other
//! request but ApiVersions (others close the connection, as Kafka does). PLAIN is checked by
//! hand; SCRAM-SHA-256/512 run on rsasl's server with keys derived from the test's users;
//! OAUTHBEARER accepts unsigned JWTs like Kafka's unsecured validator (`oauthbearer`).
//!
//! With a session lifetime (Kafka's `connections.max.reauth.ms`, KIP-368) SaslAuthenticate
//! answers with it, and a request arriving after the session expired closes the connection,
//! as Kafka does; a client may re-authenticate in place before that (SaslHandshake again).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, RequestHeader, ResponseKind, SaslAuthenticateRequest, SaslAuthenticateResponse,
    SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Decodable, StrBytes};
use rsasl::callback::{Context, Request, SessionCallback, SessionData};
use rsasl::mechanisms::scram::properties::ScramStoredPassword;
use rsasl::prelude::{Mechname, SASLConfig, SASLServer, SessionError};
use rsasl::property::AuthId;
use rsasl::validate::NoValidation;
use sha2::digest::Digest;

use super::oauthbearer;
use super::wire;
use crate::client::SaslMechanism;

const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
const ILLEGAL_SASL_STATE: i16 = 34;
const SASL_AUTHENTICATION_FAILED: i16 = 58;
const SCRAM_ITERATIONS: u32 = 4096;

/// The users and mechanisms of a SASL-secured embedded broker.
#[derive(Clone)]
pub(crate) struct SaslServerConfig {
    mechanisms: Vec<SaslMechanism>,
    users: Arc<BTreeMap<String, String>>,
    scram: Arc<ScramKeys>,
    session_lifetime: Option<Duration>,
}

impl std::fmt::Debug for SaslServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslServerConfig")
            .field("mechanisms", &self.mechanisms)
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("session_lifetime", &self.session_lifetime)
            .finish()
    }
}

struct StoredKeys {
    salt: Vec<u8>,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

/// (mechanism name, user) → SCRAM keys.
struct ScramKeys(BTreeMap<(&'static str, String), StoredKeys>);

fn derive<D>(password: &str, salt: &[u8]) -> StoredKeys
where
    D: Digest
        + sha2::digest::core_api::BlockSizeUser
        + sha2::digest::FixedOutputReset
        + Clone
        + Sync,
{
    use rsasl::mechanisms::scram::tools::{derive_keys, hash_password};
    let mut salted = sha2::digest::Output::<D>::default();
    hash_password::<D>(password.as_bytes(), SCRAM_ITERATIONS, salt, &mut salted);
    let (client_key, server_key) = derive_keys::<D>(salted.as_slice());
    StoredKeys {
        salt: salt.to_vec(),
        stored_key: D::digest(client_key).to_vec(),
        server_key: server_key.to_vec(),
    }
}

impl SaslServerConfig {
    pub(crate) fn new(
        mechanisms: Vec<SaslMechanism>,
        users: BTreeMap<String, String>,
        session_lifetime: Option<Duration>,
    ) -> Self {
        let mut keys = BTreeMap::new();
        for (user, password) in &users {
            let salt = format!("embedded-salt-{user}").into_bytes();
            if mechanisms.contains(&SaslMechanism::ScramSha256) {
                keys.insert(
                    ("SCRAM-SHA-256", user.clone()),
                    derive::<sha2::Sha256>(password, &salt),
                );
            }
            if mechanisms.contains(&SaslMechanism::ScramSha512) {
                keys.insert(
                    ("SCRAM-SHA-512", user.clone()),
                    derive::<sha2::Sha512>(password, &salt),
                );
            }
        }
        Self {
            mechanisms,
            users: Arc::new(users),
            scram: Arc::new(ScramKeys(keys)),
            session_lifetime,
        }
    }
}

struct ScramCallback(Arc<ScramKeys>);

impl SessionCallback for ScramCallback {
    fn callback(
        &self,
        session_data: &SessionData,
        context: &Context,
        request: &mut Request,
    ) -> Result<(), SessionError> {
        let mechanism = session_data.mechanism().mechanism.as_str();
        if let Some(user) = context.get_ref::<AuthId>() {
            let key = (mechanism, user.to_owned());
            if let Some((_, keys)) = self
                .0
                 .0
                .iter()
                .find(|((m, u), _)| *m == key.0 && *u == key.1)
            {
                request.satisfy::<ScramStoredPassword>(&ScramStoredPassword::new(
                    SCRAM_ITERATIONS,
                    &keys.salt,
                    &keys.stored_key,
                    &keys.server_key,
                ))?;
            }
        }
        Ok(())
    }
}

/// What the connection does with a frame.
pub(crate) enum Intercept {
    /// Not a SASL matter: decode and handle it as usual.
    PassThrough,
    /// Write this response and read on.
    Respond(BytesMut),
    /// Write this response, then close (a failed authentication).
    RespondAndClose(BytesMut),
    /// Close without answering (a request before authentication).
    Refuse(ApiKey),
}

/// One connection's authentication state.
pub(crate) struct SaslConnection {
    config: SaslServerConfig,
    mechanism: Option<SaslMechanism>,
    scram: Option<rsasl::prelude::Session<NoValidation>>,
    authenticated: bool,
    /// A SaslHandshake arrived on an authenticated connection: the next SaslAuthenticate
    /// renews the session.
    reauthenticating: bool,
    /// OAUTHBEARER refused the token and sent its challenge; the client's `%x01` ends it.
    oauth_refused: bool,
    /// When the session ends (none without a session lifetime).
    expires_at: Option<Instant>,
}

impl SaslConnection {
    pub(crate) fn new(config: SaslServerConfig) -> Self {
        Self {
            config,
            mechanism: None,
            scram: None,
            authenticated: false,
            reauthenticating: false,
            oauth_refused: false,
            expires_at: None,
        }
    }

    pub(crate) fn intercept(&mut self, frame: &[u8]) -> Intercept {
        if frame.len() < 4 {
            return Intercept::PassThrough;
        }
        let api = ApiKey::try_from(i16::from_be_bytes([frame[0], frame[1]]));
        let in_exchange = !self.authenticated || self.reauthenticating;
        match api {
            Ok(ApiKey::SaslHandshake) => {
                self.reauthenticating = self.authenticated;
                self.handshake(frame)
            }
            Ok(ApiKey::SaslAuthenticate) if in_exchange => self.authenticate(frame),
            Ok(ApiKey::ApiVersions) => Intercept::PassThrough,
            Ok(api) if self.authenticated && self.expired() => {
                tracing::debug!(?api, "SASL session expired; closing the connection");
                Intercept::Refuse(api)
            }
            _ if self.authenticated => Intercept::PassThrough,
            Ok(api) => Intercept::Refuse(api),
            Err(_) => Intercept::PassThrough,
        }
    }

    fn expired(&self) -> bool {
        self.expires_at.is_some_and(|at| Instant::now() >= at)
    }

    fn handshake(&mut self, frame: &[u8]) -> Intercept {
        let Some((header, mut body)) = header(frame) else {
            return Intercept::Refuse(ApiKey::SaslHandshake);
        };
        let version = header.request_api_version;
        let Ok(request) = SaslHandshakeRequest::decode(&mut body, version) else {
            return Intercept::Refuse(ApiKey::SaslHandshake);
        };
        let offered: Vec<StrBytes> = self
            .config
            .mechanisms
            .iter()
            .map(|m| StrBytes::from_static_str(m.kafka_name()))
            .collect();
        let wanted = SaslMechanism::from_kafka_name(request.mechanism.as_str())
            .filter(|m| self.config.mechanisms.contains(m));
        let error_code = match wanted {
            Some(mechanism) => {
                self.mechanism = Some(mechanism);
                self.oauth_refused = false;
                if mechanism.is_scram() {
                    let config = SASLConfig::builder()
                        .with_defaults()
                        .with_callback(ScramCallback(Arc::clone(&self.config.scram)))
                        .expect("SCRAM server configuration");
                    let name = Mechname::parse(mechanism.kafka_name().as_bytes())
                        .expect("a valid mechanism name");
                    self.scram = SASLServer::<NoValidation>::new(config)
                        .start_suggested(name)
                        .ok();
                }
                0
            }
            None => UNSUPPORTED_SASL_MECHANISM,
        };
        let response = SaslHandshakeResponse::default()
            .with_error_code(error_code)
            .with_mechanisms(offered);
        respond(&header, ResponseKind::SaslHandshake(response))
    }

    fn authenticate(&mut self, frame: &[u8]) -> Intercept {
        let Some((header, mut body)) = header(frame) else {
            return Intercept::Refuse(ApiKey::SaslAuthenticate);
        };
        let Ok(request) = SaslAuthenticateRequest::decode(&mut body, header.request_api_version)
        else {
            return Intercept::Refuse(ApiKey::SaslAuthenticate);
        };
        let fail = |code: i16, message: &str| {
            let response = SaslAuthenticateResponse::default()
                .with_error_code(code)
                .with_error_message(Some(StrBytes::from_string(message.to_owned())));
            match respond(&header, ResponseKind::SaslAuthenticate(response)) {
                Intercept::Respond(out) => Intercept::RespondAndClose(out),
                other => other,
            }
        };
        let Some(mechanism) = self.mechanism else {
            return fail(ILLEGAL_SASL_STATE, "SaslAuthenticate before SaslHandshake");
        };
        let invalid = format!(
            "Authentication failed during authentication due to invalid credentials with SASL mechanism {mechanism}"
        );
        let mut out = Vec::new();
        let mut token_remaining = None;
        let mut completed = false;
        match mechanism {
            SaslMechanism::Plain => {
                let parts: Vec<&[u8]> = request.auth_bytes.split(|b| *b == 0).collect();
                let ok = parts.len() == 3
                    && std::str::from_utf8(parts[1])
                        .ok()
                        .and_then(|u| self.config.users.get(u))
                        .is_some_and(|p| p.as_bytes() == parts[2]);
                if !ok {
                    return fail(
                        SASL_AUTHENTICATION_FAILED,
                        "Authentication failed: Invalid username or password",
                    );
                }
                completed = true;
            }
            SaslMechanism::ScramSha256 | SaslMechanism::ScramSha512 => {
                let Some(session) = self.scram.as_mut() else {
                    return fail(ILLEGAL_SASL_STATE, "no SCRAM session");
                };
                match session.step(Some(&request.auth_bytes), &mut out) {
                    Ok(state) if state.is_finished() => completed = true,
                    Ok(_) => {}
                    Err(_) => return fail(SASL_AUTHENTICATION_FAILED, &invalid),
                }
            }
            SaslMechanism::OAuthBearer if self.oauth_refused => {
                return fail(
                    SASL_AUTHENTICATION_FAILED,
                    "Authentication failed: invalid OAUTHBEARER token",
                )
            }
            SaslMechanism::OAuthBearer => match oauthbearer::validate(&request.auth_bytes) {
                Ok(accepted) => {
                    tracing::debug!(principal = %accepted.principal, "OAUTHBEARER authenticated");
                    token_remaining = Some(accepted.remaining);
                    completed = true;
                }
                Err(reason) => {
                    tracing::debug!(%reason, "OAUTHBEARER token refused");
                    self.oauth_refused = true;
                    out = oauthbearer::INVALID_TOKEN_CHALLENGE.to_vec();
                }
            },
        }
        let mut lifetime_ms = 0;
        if completed {
            self.authenticated = true;
            // Kafka's session ends at connections.max.reauth.ms, or earlier when the token
            // expires first; without a maximum there is no session limit at all.
            if let Some(max) = self.config.session_lifetime {
                let lifetime = token_remaining.map_or(max, |t| t.min(max));
                self.expires_at = Some(Instant::now() + lifetime);
                lifetime_ms = i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX);
            }
            self.reauthenticating = false;
        }
        let response = SaslAuthenticateResponse::default()
            .with_auth_bytes(Bytes::from(out))
            .with_session_lifetime_ms(lifetime_ms);
        respond(&header, ResponseKind::SaslAuthenticate(response))
    }
}

fn header(frame: &[u8]) -> Option<(RequestHeader, Bytes)> {
    let mut bytes = Bytes::copy_from_slice(frame);
    let mut peek = &frame[..4];
    let api = ApiKey::try_from(peek.get_i16()).ok()?;
    let version = peek.get_i16();
    let header = RequestHeader::decode(&mut bytes, api.request_header_version(version)).ok()?;
    Some((header, bytes))
}

fn respond(header: &RequestHeader, response: ResponseKind) -> Intercept {
    let api = ApiKey::try_from(header.request_api_key).expect("checked");
    match wire::encode_response(
        api,
        header.request_api_version,
        header.correlation_id,
        &response,
    ) {
        Ok(out) => Intercept::Respond(out),
        Err(_) => Intercept::Refuse(api),
    }
}
