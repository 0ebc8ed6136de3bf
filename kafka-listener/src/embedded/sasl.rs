//! The embedded broker's side of SASL: SaslHandshake and SaslAuthenticate before any other
//! request but ApiVersions (others close the connection, as Kafka does). PLAIN is checked by
//! hand; SCRAM-SHA-256/512 run on rsasl's server with keys derived from the test's users.

use std::collections::BTreeMap;
use std::sync::Arc;

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
}

impl std::fmt::Debug for SaslServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslServerConfig")
            .field("mechanisms", &self.mechanisms)
            .field("users", &self.users.keys().collect::<Vec<_>>())
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
    pub(crate) fn new(mechanisms: Vec<SaslMechanism>, users: BTreeMap<String, String>) -> Self {
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
}

impl SaslConnection {
    pub(crate) fn new(config: SaslServerConfig) -> Self {
        Self {
            config,
            mechanism: None,
            scram: None,
            authenticated: false,
        }
    }

    pub(crate) fn intercept(&mut self, frame: &[u8]) -> Intercept {
        if frame.len() < 4 {
            return Intercept::PassThrough;
        }
        let api = ApiKey::try_from(i16::from_be_bytes([frame[0], frame[1]]));
        match api {
            Ok(ApiKey::SaslHandshake) if !self.authenticated => self.handshake(frame),
            Ok(ApiKey::SaslAuthenticate) if !self.authenticated => self.authenticate(frame),
            Ok(ApiKey::ApiVersions) => Intercept::PassThrough,
            _ if self.authenticated => Intercept::PassThrough,
            Ok(api) => Intercept::Refuse(api),
            Err(_) => Intercept::PassThrough,
        }
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
                self.authenticated = true;
            }
            SaslMechanism::ScramSha256 | SaslMechanism::ScramSha512 => {
                let Some(session) = self.scram.as_mut() else {
                    return fail(ILLEGAL_SASL_STATE, "no SCRAM session");
                };
                match session.step(Some(&request.auth_bytes), &mut out) {
                    Ok(state) if state.is_finished() => self.authenticated = true,
                    Ok(_) => {}
                    Err(_) => return fail(SASL_AUTHENTICATION_FAILED, &invalid),
                }
            }
            SaslMechanism::OAuthBearer => {
                return fail(
                    SASL_AUTHENTICATION_FAILED,
                    "OAUTHBEARER is not enabled on the embedded broker",
                )
            }
        }
        let response = SaslAuthenticateResponse::default()
            .with_auth_bytes(Bytes::from(out))
            .with_session_lifetime_ms(0);
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
