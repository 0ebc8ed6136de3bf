//! One TCP connection to one broker speaking the Kafka wire protocol through `kafka-protocol`.
//!
//! rskafka owns produce and fetch; everything it lacks (group coordination, offset commits, the
//! admin calls tests need) goes through a [`BrokerConnection`]. Requests are pipelined: any
//! number of tasks may call [`BrokerConnection::send`] at once, a reader task matches responses to
//! requests by correlation id. The connection negotiates API versions once (ApiVersions) and
//! picks, for each request, the highest version both sides support.
//!
//! Security is part of opening: TLS under the frames when the [`ConnectionConfig`]'s security
//! protocol says so, SASL (SaslHandshake, SaslAuthenticate) right after ApiVersions. Callers see
//! an authenticated connection or an error, never the steps.
//!
//! Every response passes the [length guard](crate::wire) before kafka-protocol decodes it: a
//! length or count larger than the bytes after it (which the codec would try to allocate, and
//! abort the process on) is a [`ConnectionError::Decode`] and closes the connection. Requests
//! of APIs the guard has no response layout for are not sent.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, RequestHeader, SaslAuthenticateRequest,
    SaslHandshakeRequest,
};
use kafka_protocol::protocol::{Encodable, Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, oneshot};

use super::security::{SaslMechanism, SaslSettings};
use super::transport::{self, BoxedStream, TransportError};
use super::ConnectionConfig;
use crate::wire;

/// Responses larger than this close the connection: a corrupt length prefix must not make us
/// allocate gigabytes.
const MAX_RESPONSE_BYTES: usize = 256 * 1024 * 1024;

/// Error code UNSUPPORTED_VERSION, with which a broker answers an ApiVersions version it lacks.
const UNSUPPORTED_VERSION: i16 = 35;

/// What went wrong on a [`BrokerConnection`].
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The TCP connection could not be opened.
    #[error("cannot connect to broker {addr}: {source}")]
    Connect {
        /// The broker address.
        addr: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The TLS handshake failed or timed out.
    #[error("TLS handshake with broker {addr} failed: {reason}")]
    Tls {
        /// The broker address.
        addr: String,
        /// The cause, e.g. `invalid peer certificate: UnknownIssuer`.
        reason: String,
    },
    /// The broker refused our SASL credentials (or the exchange failed). Not retried: the same
    /// credentials would fail again. The message never contains the password.
    #[error(
        "authentication failed at broker {addr} with SASL {mechanism} as user `{user}`: {reason}"
    )]
    Authentication {
        /// The broker address.
        addr: String,
        /// The mechanism tried.
        mechanism: SaslMechanism,
        /// The user name (empty for OAUTHBEARER).
        user: String,
        /// The broker's message or the local cause.
        reason: String,
    },
    /// The connection broke or was closed by the broker.
    #[error("connection to broker {addr} closed: {reason}")]
    Closed {
        /// The broker address.
        addr: String,
        /// Why it closed.
        reason: String,
    },
    /// No response arrived within the timeout; the connection is closed, as Java's client does.
    #[error("{api:?} request to broker {addr} timed out after {after:?}")]
    Timeout {
        /// The broker address.
        addr: String,
        /// The request's API.
        api: ApiKey,
        /// How long we waited.
        after: Duration,
    },
    /// The broker supports no version of this API that we support.
    #[error("broker {addr} supports no common version of {api:?} (broker {broker_min}..={broker_max}, ours {ours_min}..={ours_max})")]
    UnsupportedVersion {
        /// The broker address.
        addr: String,
        /// The API.
        api: ApiKey,
        /// The broker's lowest version.
        broker_min: i16,
        /// The broker's highest version.
        broker_max: i16,
        /// Our lowest version.
        ours_min: i16,
        /// Our highest version.
        ours_max: i16,
    },
    /// A request could not be encoded (a field out of range for the chosen version).
    #[error("cannot encode {api:?} v{version}: {reason}")]
    Encode {
        /// The API.
        api: ApiKey,
        /// The version used.
        version: i16,
        /// The codec's message.
        reason: String,
    },
    /// A response was refused by the length guard (a length or count larger than the bytes
    /// after it, which kafka-protocol would try to allocate) or could not be decoded. The
    /// connection is closed: a broker that sends it cannot be trusted with the next one.
    #[error("malformed {api:?} v{version} response from broker {addr}: {reason}")]
    Decode {
        /// The broker address.
        addr: String,
        /// The API.
        api: ApiKey,
        /// The version used.
        version: i16,
        /// The guard's or the codec's message.
        reason: String,
    },
    /// The client has no layout for this API's responses, so it could not bound what decoding
    /// one allocates; the request is not sent.
    #[error("{api:?} is not supported by this client: its responses cannot be length-checked")]
    NoResponseLayout {
        /// The API.
        api: ApiKey,
    },
}

type Pending = HashMap<i32, oneshot::Sender<Bytes>>;

/// A pipelined connection to one broker.
///
/// ```no_run
/// use kafka_listener::client::{BrokerConnection, ConnectionConfig};
/// use kafka_protocol::messages::{FindCoordinatorRequest, GroupId};
/// use kafka_protocol::protocol::StrBytes;
///
/// # async fn demo() -> Result<(), kafka_listener::client::ConnectionError> {
/// let config = ConnectionConfig::new(["127.0.0.1:9092"]);
/// let conn = BrokerConnection::connect("127.0.0.1:9092", &config).await?;
/// let response = conn
///     .send(FindCoordinatorRequest::default()
///         .with_key(StrBytes::from_static_str("order-service"))
///         .with_coordinator_keys(vec![StrBytes::from_static_str("order-service")]))
///     .await?;
/// println!("coordinator: {:?}", response.coordinators);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct BrokerConnection {
    addr: String,
    client_id: StrBytes,
    request_timeout: Duration,
    /// Whole frames to write; a writer task owns the socket's write half, so a caller whose
    /// future is dropped mid-send can never leave half a frame on the wire.
    writer: mpsc::UnboundedSender<BytesMut>,
    pending: Arc<Mutex<Option<Pending>>>,
    next_correlation_id: AtomicI32,
    /// The broker's supported version range per API key.
    broker_versions: HashMap<i16, (i16, i16)>,
    reader: tokio::task::JoinHandle<()>,
    writer_task: tokio::task::JoinHandle<()>,
    /// When the broker ends our SASL session (KIP-368 `session_lifetime_ms`), less a margin:
    /// from then on the connection reports itself closed, so its owner reconnects (and so
    /// re-authenticates) before the broker would cut it off.
    reauthenticate_at: Option<Instant>,
    /// The session lifetime the broker announced, if it limits sessions.
    session_lifetime: Option<Duration>,
}

impl Drop for BrokerConnection {
    fn drop(&mut self) {
        self.reader.abort();
        self.writer_task.abort();
    }
}

impl BrokerConnection {
    /// Opens a connection to `addr` (`host:port`): TCP, TLS when the security protocol uses it,
    /// API version negotiation, then SASL authentication when the protocol uses it. Opening
    /// TCP and the TLS handshake together are bounded by the request timeout, as is each
    /// request after them.
    pub async fn connect(addr: &str, config: &ConnectionConfig) -> Result<Self, ConnectionError> {
        let timeout = config.request_timeout_duration();
        let security = config.security_config();
        let stream = match tokio::time::timeout(timeout, transport::open(addr, security)).await {
            Err(_) if security.protocol().uses_tls() => {
                return Err(ConnectionError::Tls {
                    addr: addr.to_owned(),
                    reason: format!(
                        "no TLS handshake within {timeout:?} (is this listener TLS? check security.protocol)"
                    ),
                })
            }
            Err(_) => {
                return Err(ConnectionError::Connect {
                    addr: addr.to_owned(),
                    source: std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"),
                })
            }
            Ok(Err(TransportError::Connect(source))) => {
                return Err(ConnectionError::Connect {
                    addr: addr.to_owned(),
                    source,
                })
            }
            Ok(Err(TransportError::Tls(reason))) => {
                return Err(ConnectionError::Tls {
                    addr: addr.to_owned(),
                    reason,
                })
            }
            Ok(Ok(stream)) => stream,
        };
        let (read_half, write_half) = tokio::io::split(stream);
        let pending: Arc<Mutex<Option<Pending>>> = Arc::new(Mutex::new(Some(HashMap::new())));
        let reader = tokio::spawn(read_responses(read_half, Arc::clone(&pending)));
        let (writer, frames) = mpsc::unbounded_channel();
        let writer_task = tokio::spawn(write_requests(write_half, frames, Arc::clone(&pending)));
        let mut connection = Self {
            addr: addr.to_owned(),
            client_id: StrBytes::from_string(config.client_id_str().to_owned()),
            request_timeout: timeout,
            writer,
            pending,
            next_correlation_id: AtomicI32::new(0),
            broker_versions: HashMap::new(),
            reader,
            writer_task,
            reauthenticate_at: None,
            session_lifetime: None,
        };
        connection.broker_versions = match connection.negotiate_api_versions().await {
            Err(ConnectionError::Closed { addr, reason }) if !security.protocol().uses_tls() => {
                return Err(ConnectionError::Closed {
                    addr,
                    reason: format!(
                        "{reason} (during ApiVersions; if this listener uses TLS, set security.protocol to SSL or SASL_SSL)"
                    ),
                })
            }
            other => other?,
        };
        if let Some(sasl) = security.sasl() {
            let started = Instant::now();
            connection.session_lifetime = connection.authenticate(sasl).await?;
            connection.reauthenticate_at = connection
                .session_lifetime
                .map(|lifetime| started + reauthentication_delay(lifetime));
        }
        Ok(connection)
    }

    /// The broker address this connection talks to.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// How long the broker keeps this connection's SASL session (KIP-368; Kafka's
    /// `connections.max.reauth.ms`, or an OAUTHBEARER token's remaining lifetime): `None`
    /// when sessions do not expire. The connection reports itself closed
    /// ([`is_open`](Self::is_open)) at 85 % of it, so owners replace it in time.
    pub fn session_lifetime(&self) -> Option<Duration> {
        self.session_lifetime
    }

    /// `false` once the connection broke; a broken connection must be replaced.
    /// Also `false` once the broker's SASL session lifetime (KIP-368) is nearly over, so the
    /// owner reconnects and authenticates afresh before the broker closes the connection.
    pub fn is_open(&self) -> bool {
        if self
            .reauthenticate_at
            .is_some_and(|at| Instant::now() >= at)
        {
            return false;
        }
        self.pending.lock().expect("pending lock").is_some()
    }

    /// The highest version of `R` both we and the broker support.
    pub fn version_for<R: Request>(&self) -> Result<i16, ConnectionError> {
        let api = api_key(R::KEY);
        let ours = R::VERSIONS;
        let (broker_min, broker_max) = self
            .broker_versions
            .get(&R::KEY)
            .copied()
            .unwrap_or((-1, -1));
        let version = ours.max.min(broker_max);
        if broker_max < 0 || version < ours.min.max(broker_min) {
            return Err(ConnectionError::UnsupportedVersion {
                addr: self.addr.clone(),
                api,
                broker_min,
                broker_max,
                ours_min: ours.min,
                ours_max: ours.max,
            });
        }
        Ok(version)
    }

    /// Sends `request` at the highest common version and awaits its response, within the
    /// configured request timeout.
    pub async fn send<R: Request>(&self, request: R) -> Result<R::Response, ConnectionError> {
        let version = self.version_for::<R>()?;
        self.send_version(request, version, self.request_timeout)
            .await
    }

    /// Like [`send`](Self::send) with a longer timeout, for requests the broker may hold on
    /// purpose (JoinGroup waits for the rebalance; Java allows rebalance timeout + 5 s).
    pub async fn send_with_timeout<R: Request>(
        &self,
        request: R,
        timeout: Duration,
    ) -> Result<R::Response, ConnectionError> {
        let version = self.version_for::<R>()?;
        self.send_version(request, version, timeout).await
    }

    /// Sends `request` at exactly `version`.
    pub async fn send_version<R: Request>(
        &self,
        request: R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response, ConnectionError> {
        let api = api_key(R::KEY);
        if !wire::has_response_layout(api) {
            return Err(ConnectionError::NoResponseLayout { api });
        }
        let correlation_id = self.next_correlation_id.fetch_add(1, Ordering::Relaxed);
        let frame = encode_request(&request, api, version, correlation_id, &self.client_id)?;
        let (tx, rx) = oneshot::channel();
        match self.pending.lock().expect("pending lock").as_mut() {
            Some(pending) => pending.insert(correlation_id, tx),
            None => return Err(self.closed("connection already broken")),
        };
        if self.writer.send(frame).is_err() {
            self.break_connection();
            return Err(self.closed("writer stopped"));
        }
        let frame = match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(body)) => body,
            Ok(Err(_)) => return Err(self.closed("broker closed the connection")),
            Err(_) => {
                self.break_connection();
                return Err(ConnectionError::Timeout {
                    addr: self.addr.clone(),
                    api,
                    after: timeout,
                });
            }
        };
        wire::decode_response_body(frame, api, version).map_err(|error| {
            self.break_connection();
            ConnectionError::Decode {
                addr: self.addr.clone(),
                api,
                version,
                reason: error.to_string(),
            }
        })
    }

    async fn negotiate_api_versions(&self) -> Result<HashMap<i16, (i16, i16)>, ConnectionError> {
        let request = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("kafka-listener"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        let mut response: ApiVersionsResponse =
            self.send_version(request, 3, self.request_timeout).await?;
        if response.error_code == UNSUPPORTED_VERSION {
            // A broker older than ApiVersions v3 answers in v0 and lists what it supports.
            response = self
                .send_version(ApiVersionsRequest::default(), 0, self.request_timeout)
                .await?;
        }
        if response.error_code != 0 {
            return Err(self.closed(&format!(
                "ApiVersions failed with error code {}",
                response.error_code
            )));
        }
        Ok(response
            .api_keys
            .iter()
            .map(|k| (k.api_key, (k.min_version, k.max_version)))
            .collect())
    }

    /// SaslHandshake v1 then SaslAuthenticate until the mechanism is done. Returns the
    /// session's lifetime, if the broker limits it.
    async fn authenticate(&self, sasl: &SaslSettings) -> Result<Option<Duration>, ConnectionError> {
        let mechanism = sasl.mechanism();
        let failed = |reason: String| ConnectionError::Authentication {
            addr: self.addr.clone(),
            mechanism,
            user: sasl.username().to_owned(),
            reason,
        };
        let handshake = self
            .send_version(
                SaslHandshakeRequest::default()
                    .with_mechanism(StrBytes::from_static_str(mechanism.kafka_name())),
                1,
                self.request_timeout,
            )
            .await?;
        if handshake.error_code != 0 {
            let offered: Vec<&str> = handshake.mechanisms.iter().map(|m| m.as_str()).collect();
            return Err(failed(format!(
                "the broker does not enable {mechanism} on this listener (error code {}); it offers: {}",
                handshake.error_code,
                offered.join(", ")
            )));
        }
        let version = self.version_for::<SaslAuthenticateRequest>()?;
        let mut exchange = sasl.start().await.map_err(failed)?;
        let mut received: Option<Bytes> = None;
        let mut lifetime_ms = 0i64;
        loop {
            let step = exchange.step(received.as_deref()).map_err(failed)?;
            if let Some(message) = step.send {
                let response = self
                    .send_version(
                        SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(message)),
                        version,
                        self.request_timeout,
                    )
                    .await?;
                if response.error_code != 0 {
                    let message = response
                        .error_message
                        .as_ref()
                        .map(|m| m.to_string())
                        .filter(|m| !m.is_empty())
                        .unwrap_or_else(|| format!("error code {}", response.error_code));
                    return Err(failed(message));
                }
                lifetime_ms = response.session_lifetime_ms;
                received = Some(response.auth_bytes);
            }
            if step.finished {
                break;
            }
        }
        tracing::debug!(broker = %self.addr, %mechanism, lifetime_ms, "SASL authenticated");
        Ok(u64::try_from(lifetime_ms)
            .ok()
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis))
    }

    fn break_connection(&self) {
        self.pending.lock().expect("pending lock").take();
        self.reader.abort();
    }

    fn closed(&self, reason: &str) -> ConnectionError {
        ConnectionError::Closed {
            addr: self.addr.clone(),
            reason: reason.to_owned(),
        }
    }
}

/// When to replace a connection whose SASL session lasts `lifetime`: at 85 % of it, as Java's
/// client re-authenticates between 85 and 95 %.
fn reauthentication_delay(lifetime: Duration) -> Duration {
    lifetime.mul_f64(0.85)
}

fn api_key(key: i16) -> ApiKey {
    ApiKey::try_from(key).expect("kafka-protocol request types have known API keys")
}

fn encode_request<R: Request>(
    request: &R,
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    client_id: &StrBytes,
) -> Result<BytesMut, ConnectionError> {
    let encode_error = |e: anyhow::Error| ConnectionError::Encode {
        api,
        version,
        reason: e.to_string(),
    };
    let header = RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(client_id.clone()));
    let mut frame = BytesMut::with_capacity(64);
    frame.put_i32(0); // size, patched below
    header
        .encode(&mut frame, R::header_version(version))
        .map_err(encode_error)?;
    request.encode(&mut frame, version).map_err(encode_error)?;
    let size = i32::try_from(frame.len() - 4).map_err(|_| ConnectionError::Encode {
        api,
        version,
        reason: "request larger than 2 GiB".to_owned(),
    })?;
    frame[..4].copy_from_slice(&size.to_be_bytes());
    Ok(frame)
}

/// Writes whole request frames in order. A write error breaks the connection.
async fn write_requests(
    mut write_half: WriteHalf<BoxedStream>,
    mut frames: mpsc::UnboundedReceiver<BytesMut>,
    pending: Arc<Mutex<Option<Pending>>>,
) {
    while let Some(frame) = frames.recv().await {
        // Flush: a TLS stream buffers what it encrypts.
        let written = async {
            write_half.write_all(&frame).await?;
            write_half.flush().await
        };
        if let Err(error) = written.await {
            tracing::debug!(%error, "broker connection writer stopped");
            pending.lock().expect("pending lock").take();
            return;
        }
    }
}

/// Reads response frames and hands each (header and body) to its waiter. Any
/// framing error ends the connection: every waiter then sees it closed.
async fn read_responses(
    mut read_half: ReadHalf<BoxedStream>,
    pending: Arc<Mutex<Option<Pending>>>,
) {
    let result: std::io::Result<()> = async {
        loop {
            let size = read_half.read_i32().await?;
            let size = usize::try_from(size)
                .ok()
                .filter(|s| (4..=MAX_RESPONSE_BYTES).contains(s))
                .ok_or_else(|| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("invalid response size {size}"),
                    )
                })?;
            let mut frame = BytesMut::zeroed(size);
            read_half.read_exact(&mut frame).await?;
            let frame = frame.freeze();
            // Peek only: the caller decodes the whole response header, whose version it knows.
            let correlation_id = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
            let waiter = pending
                .lock()
                .expect("pending lock")
                .as_mut()
                .and_then(|p| p.remove(&correlation_id));
            match waiter {
                Some(waiter) => {
                    let _ = waiter.send(frame);
                }
                None => tracing::warn!(
                    correlation_id,
                    "response for an unknown or abandoned request dropped"
                ),
            }
        }
    }
    .await;
    if let Err(error) = result {
        tracing::debug!(%error, "broker connection reader stopped");
    }
    // Dropping the senders wakes every waiter with "closed".
    pending.lock().expect("pending lock").take();
}

#[cfg(test)]
mod tests;
