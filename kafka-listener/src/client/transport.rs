//! The byte stream under a [`BrokerConnection`](super::BrokerConnection): TCP (no delay,
//! keepalive on), wrapped in TLS when the security protocol says so.

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use super::security::{server_name, SecurityConfig};

/// A connected stream, plain or TLS.
pub(crate) trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// What [`open`] hands back.
pub(crate) type BoxedStream = Box<dyn Stream>;

/// Why the stream could not be opened.
#[derive(Debug)]
pub(crate) enum TransportError {
    /// The TCP connection failed.
    Connect(std::io::Error),
    /// The TLS handshake failed (the message names the cause).
    Tls(String),
}

/// Opens TCP to `addr` and, for `SSL` / `SASL_SSL`, completes the TLS handshake with the host
/// part of `addr` as the server name. The caller bounds it with the request timeout.
pub(crate) async fn open(
    addr: &str,
    security: &SecurityConfig,
) -> Result<BoxedStream, TransportError> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(TransportError::Connect)?;
    // Group and commit requests are small; latency matters more than coalescing.
    let _ = tcp.set_nodelay(true);
    // A broker that vanishes without a FIN (host down, NAT dropped the flow) is noticed by the
    // kernel instead of only by the next request's timeout, as Java's client does.
    let _ = socket2::SockRef::from(&tcp).set_keepalive(true);
    let Some(tls) = security.tls_client_config() else {
        return Ok(Box::new(tcp));
    };
    let name = server_name(addr).map_err(TransportError::Tls)?;
    let connector = tokio_rustls::TlsConnector::from(tls);
    let stream = connector
        .connect(name, tcp)
        .await
        .map_err(|e| TransportError::Tls(tls_cause(&e)))?;
    Ok(Box::new(stream))
}

/// rustls's own error when there is one (`invalid peer certificate: UnknownIssuer`), else the
/// I/O error, with a hint for the usual mistake.
fn tls_cause(error: &std::io::Error) -> String {
    let cause = error
        .get_ref()
        .map(|inner| inner.to_string())
        .unwrap_or_else(|| error.to_string());
    match error.kind() {
        std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => format!(
            "{cause} (the broker closed the connection during the handshake: is this listener TLS? check security.protocol)"
        ),
        _ => cause,
    }
}
