//! One HTTP/1.1 POST to a token endpoint, over TCP or TLS (rustls, already here for brokers):
//! a form body out, a JSON body back. Token endpoints answer one small response per
//! connection, so the request says `Connection: close` and the body ends at Content-Length,
//! at the last chunk, or at the end of the stream.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Responses larger than this are refused: a token response is a few kilobytes.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// A parsed `http://` or `https://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    pub(crate) tls: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// Path and query, at least `/`.
    pub(crate) target: String,
}

impl Url {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let (tls, rest) = if let Some(rest) = text.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(format!(
                "`{text}` is not an http:// or https:// URL (file: token files are not supported)"
            ));
        };
        let (authority, target) = match rest.find(['/', '?']) {
            Some(at) => (&rest[..at], rest[at..].to_owned()),
            None => (rest, "/".to_owned()),
        };
        let target = if target.starts_with('?') {
            format!("/{target}")
        } else {
            target
        };
        if authority.contains('@') {
            return Err("user information in the token endpoint URL is not supported; put the client id and secret in sasl.jaas.config".to_owned());
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(':') && !port.contains(']') => {
                let port = port
                    .parse::<u16>()
                    .map_err(|_| format!("invalid port `{port}` in `{text}`"))?;
                (host, port)
            }
            _ => (authority, if tls { 443 } else { 80 }),
        };
        if host.is_empty() {
            return Err(format!("no host in `{text}`"));
        }
        Ok(Self {
            tls,
            host: host.to_owned(),
            port,
            target,
        })
    }

    /// The `Host` header: the port only when it is not the scheme's default.
    fn host_header(&self) -> String {
        let default = if self.tls { 443 } else { 80 };
        if self.port == default {
            self.host.clone()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// A response: status code and body.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

/// POSTs `body` (`application/x-www-form-urlencoded`) to `url` with the extra `headers`, all
/// within `timeout`.
pub(crate) async fn post_form(
    url: &Url,
    headers: &[(&str, String)],
    body: &str,
    tls: Option<Arc<rustls::ClientConfig>>,
    timeout: Duration,
) -> Result<Response, String> {
    let exchange = async {
        let tcp = TcpStream::connect((url.host.trim_matches(['[', ']']), url.port))
            .await
            .map_err(|e| format!("cannot connect to {}:{}: {e}", url.host, url.port))?;
        let _ = tcp.set_nodelay(true);
        let mut request = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
            url.target,
            url.host_header(),
            body.len()
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(body);
        if url.tls {
            let config = tls.ok_or("https needs a TLS configuration")?;
            let name = super::super::server_name(&url.host)?;
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS handshake with {} failed: {e}", url.host))?;
            exchange_on(stream, request.as_bytes()).await
        } else {
            exchange_on(tcp, request.as_bytes()).await
        }
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| format!("no answer within {timeout:?}"))?
}

async fn exchange_on<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &[u8],
) -> Result<Response, String> {
    stream
        .write_all(request)
        .await
        .map_err(|e| format!("cannot send the request: {e}"))?;
    stream
        .flush()
        .await
        .map_err(|e| format!("cannot send the request: {e}"))?;
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(n) => n,
            // Servers (and TLS peers) that close without close_notify: what arrived counts.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(format!("cannot read the response: {e}")),
        };
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
        if raw.len() > MAX_RESPONSE_BYTES {
            return Err(format!(
                "response larger than {MAX_RESPONSE_BYTES} bytes refused"
            ));
        }
        if let Some(response) = parse_response(&raw)? {
            return Ok(response);
        }
    }
    parse_response(&raw)?
        .or_else(|| end_of_stream_response(&raw))
        .ok_or_else(|| "the connection closed before a complete response".to_owned())
}

/// The response in `raw` once it is complete (`None`: read more). A body without
/// Content-Length or chunking ends with the stream; see [`end_of_stream_response`].
fn parse_response(raw: &[u8]) -> Result<Option<Response>, String> {
    let Some(head_end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Ok(None);
    };
    let head = std::str::from_utf8(&raw[..head_end])
        .map_err(|_| "the response head is not text".to_owned())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("not an HTTP/1.x response: `{status_line}`"))?;
    let body = &raw[head_end + 4..];
    let header = |wanted: &str| {
        head.split("\r\n").skip(1).find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case(wanted)
                .then(|| value.trim().to_owned())
        })
    };
    if (100..200).contains(&status) {
        // An interim response (100 Continue): the real one follows.
        return parse_response(body);
    }
    if header("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        return Ok(dechunk(body)?.map(|body| Response { status, body }));
    }
    if let Some(length) = header("content-length") {
        let length = length
            .parse::<usize>()
            .map_err(|_| format!("invalid Content-Length `{length}`"))?;
        return Ok((body.len() >= length).then(|| Response {
            status,
            body: body[..length].to_vec(),
        }));
    }
    Ok(None)
}

/// A response whose body ran to the end of the stream.
fn end_of_stream_response(raw: &[u8]) -> Option<Response> {
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let status_line = std::str::from_utf8(&raw[..head_end]).ok()?.lines().next()?;
    let status = status_line.get(9..12)?.parse().ok()?;
    Some(Response {
        status,
        body: raw[head_end + 4..].to_vec(),
    })
}

/// The body of a chunked transfer, once its last chunk has arrived.
fn dechunk(mut raw: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = raw.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_text = std::str::from_utf8(&raw[..line_end]).unwrap_or_default();
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("invalid chunk size `{size_text}`"))?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Ok(Some(body));
        }
        if raw.len() < size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub(crate) fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_scheme_host_port_and_target() {
        let url = Url::parse("https://idp.example.com/oauth2/token?x=1").unwrap();
        assert_eq!(
            url,
            Url {
                tls: true,
                host: "idp.example.com".into(),
                port: 443,
                target: "/oauth2/token?x=1".into()
            }
        );
        let url = Url::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!((url.port, url.target.as_str()), (8080, "/"));
        assert_eq!(url.host_header(), "127.0.0.1:8080");
        assert!(Url::parse("file:///tmp/token").is_err());
        assert!(Url::parse("http://user:pw@host/").is_err());
    }

    #[test]
    fn a_content_length_body_is_complete_only_when_all_of_it_arrived() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel";
        assert!(parse_response(raw).unwrap().is_none());
        let raw = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello";
        let response = parse_response(raw).unwrap().unwrap();
        assert_eq!(
            (response.status, response.body.as_slice()),
            (200, &b"hello"[..])
        );
    }

    #[test]
    fn a_chunked_body_is_joined_after_the_last_chunk() {
        let raw = b"HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n";
        assert!(parse_response(raw).unwrap().is_none());
        let mut raw = raw.to_vec();
        raw.extend_from_slice(b"0\r\n\r\n");
        let response = parse_response(&raw).unwrap().unwrap();
        assert_eq!(
            (response.status, response.body.as_slice()),
            (401, &b"abcde"[..])
        );
    }

    #[test]
    fn a_body_without_length_ends_with_the_stream() {
        let raw = b"HTTP/1.0 200 OK\r\n\r\n{\"a\":1}";
        assert!(parse_response(raw).unwrap().is_none());
        assert_eq!(end_of_stream_response(raw).unwrap().body, b"{\"a\":1}");
    }

    #[test]
    fn form_values_escape_everything_but_unreserved_characters() {
        assert_eq!(form_encode("kafka read:all/x"), "kafka+read%3Aall%2Fx");
    }
}
