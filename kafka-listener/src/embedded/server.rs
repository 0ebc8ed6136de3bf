//! Accept loops and connections: length-prefixed frames in, one response per request out, in
//! order (Kafka handles one request per connection at a time). A bad frame closes only its own
//! connection.

use std::net::SocketAddr;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::api;
use super::cluster::BrokerContext;
use super::codes;
use super::faults::Verdict;
use super::sasl::{Intercept, SaslConnection, SaslServerConfig};
use super::wire::{self, RequestDecodeError, MAX_REQUEST_BYTES};
use kafka_protocol::messages::{ApiKey, ResponseKind};

/// What a listener requires of its clients: TLS, SASL, both or neither.
#[derive(Clone, Debug, Default)]
pub(crate) struct ListenerSecurity {
    pub(crate) tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    pub(crate) sasl: Option<SaslServerConfig>,
}

/// Accepts connections for one broker until cancelled.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    ctx: BrokerContext,
    tasks: TaskTracker,
    cancel: CancellationToken,
    security: ListenerSecurity,
) {
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let ctx = ctx.clone();
                let cancel = cancel.clone();
                let security = security.clone();
                // Fault injection's drop_connections() closes the connections open at that moment.
                let dropped = ctx.cluster.faults.connection_token();
                tasks.spawn(async move {
                    let served = async {
                        let sasl = security.sasl.clone().map(SaslConnection::new);
                        match &security.tls {
                            None => serve_connection(stream, peer, &ctx, sasl).await,
                            Some(tls) => {
                                let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::clone(tls));
                                match acceptor.accept(stream).await {
                                    Ok(stream) => serve_connection(stream, peer, &ctx, sasl).await,
                                    Err(error) => {
                                        tracing::debug!(%peer, %error, "TLS handshake failed");
                                        Ok(())
                                    }
                                }
                            }
                        }
                    };
                    tokio::select! {
                        _ = cancel.cancelled() => {}
                        _ = dropped.cancelled() => {
                            tracing::debug!(broker = ctx.node_id, %peer, "fault injection: connection dropped");
                        }
                        result = served => {
                            if let Err(error) = result {
                                tracing::warn!(broker = ctx.node_id, %peer, %error, "closing client connection");
                            }
                        }
                    }
                });
            }
            Err(error) => {
                tracing::warn!(broker = ctx.node_id, %error, "accept failed");
                tokio::task::yield_now().await;
            }
        }
    }
}

/// Why a connection was closed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectionClosed {
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("invalid request size {0} (must be 1..={MAX_REQUEST_BYTES})")]
    BadSize(i32),
    #[error(transparent)]
    Request(#[from] RequestDecodeError),
    #[error("cannot encode {api:?} v{version} response: {reason}")]
    Encode {
        api: ApiKey,
        version: i16,
        reason: String,
    },
}

async fn serve_connection<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    peer: SocketAddr,
    ctx: &BrokerContext,
    mut sasl: Option<SaslConnection>,
) -> Result<(), ConnectionClosed> {
    tracing::debug!(broker = ctx.node_id, %peer, "client connected");
    let client_host = peer.ip().to_string();
    loop {
        let size = match stream.read_i32().await {
            Ok(size) => size,
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        let len = usize::try_from(size)
            .ok()
            .filter(|s| (1..=MAX_REQUEST_BYTES).contains(s))
            .ok_or(ConnectionClosed::BadSize(size))?;
        let mut frame = BytesMut::zeroed(len);
        stream.read_exact(&mut frame).await?;
        if let Some(sasl) = sasl.as_mut() {
            match sasl.intercept(&frame) {
                Intercept::PassThrough => {}
                Intercept::Respond(out) => {
                    stream.write_all(&out).await?;
                    stream.flush().await?;
                    continue;
                }
                Intercept::RespondAndClose(out) => {
                    stream.write_all(&out).await?;
                    stream.flush().await?;
                    return Ok(());
                }
                Intercept::Refuse(api) => {
                    tracing::debug!(broker = ctx.node_id, %peer, ?api, "request before SASL authentication; closing");
                    return Ok(());
                }
            }
        }
        let request = match wire::decode_request(&frame) {
            Ok(request) => request,
            Err(RequestDecodeError::UnsupportedApiVersionsVersion { correlation_id, .. }) => {
                // Kafka answers in v0 with the versions it has, so the client can retry.
                let response: ResponseKind = api::api_versions(codes::UNSUPPORTED_VERSION).into();
                let out = wire::encode_response(ApiKey::ApiVersions, 0, correlation_id, &response)
                    .map_err(|e| ConnectionClosed::Encode {
                        api: ApiKey::ApiVersions,
                        version: 0,
                        reason: e.to_string(),
                    })?;
                stream.write_all(&out).await?;
                stream.flush().await?;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let (api, version, correlation_id) = (
            request.api,
            request.header.request_api_version,
            request.header.correlation_id,
        );
        tracing::trace!(
            broker = ctx.node_id,
            ?api,
            version,
            correlation_id,
            "request"
        );
        let response = match ctx.cluster.faults.intercept(ctx, &request).await {
            Verdict::Handle => api::handle(ctx, request, &client_host).await,
            Verdict::Answer(response) => Some(*response),
            Verdict::Discard => None,
            Verdict::Close => {
                tracing::debug!(broker = ctx.node_id, %peer, ?api, "fault injection: connection closed instead of answering");
                return Ok(());
            }
        };
        if let Some(response) = response {
            let out =
                wire::encode_response(api, version, correlation_id, &response).map_err(|e| {
                    ConnectionClosed::Encode {
                        api,
                        version,
                        reason: e.to_string(),
                    }
                })?;
            stream.write_all(&out).await?;
            stream.flush().await?;
        }
    }
}
