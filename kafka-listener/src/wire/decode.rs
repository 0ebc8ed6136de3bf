//! Response decoding behind the length guard: the only way our client turns a response frame
//! into a message.

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::Decodable;

use super::length_guard::{check_response_lengths, LengthError};

/// Why a response frame was not decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ResponseDecodeError {
    /// The length guard refused a length or count before the codec saw it.
    #[error("refused before decoding: {0}")]
    Refused(#[from] LengthError),
    /// The guard accepted the frame, the codec did not.
    #[error("{0}")]
    Malformed(String),
}

/// Decodes the response of `api` at `version` in `frame` (response header included, size
/// prefix not) after [`check_response_lengths`] accepted it: never a panic or an abort,
/// whatever the bytes. The `response_decoder` fuzz target holds it to that.
///
/// ```
/// use kafka_listener::wire::{decode_response, ResponseDecodeError};
/// use kafka_protocol::messages::{ApiKey, ResponseKind};
///
/// // Heartbeat v0: correlation id 3, error code 0.
/// let (header, body) = decode_response(&[0, 0, 0, 3, 0, 0], ApiKey::Heartbeat, 0).unwrap();
/// assert_eq!(header.correlation_id, 3);
/// assert!(matches!(body, ResponseKind::Heartbeat(h) if h.error_code == 0));
///
/// // SaslHandshake v1 declaring 2^31 - 1 mechanisms in a 10-byte frame.
/// let forged = [0, 0, 0, 3, 0, 0, 0x7f, 0xff, 0xff, 0xff];
/// let error = decode_response(&forged, ApiKey::SaslHandshake, 1).unwrap_err();
/// assert!(matches!(error, ResponseDecodeError::Refused(ref e) if e.at() == 6));
/// ```
pub fn decode_response(
    frame: &[u8],
    api: ApiKey,
    version: i16,
) -> Result<(ResponseHeader, ResponseKind), ResponseDecodeError> {
    decode_guarded(Bytes::copy_from_slice(frame), api, version, |body| {
        ResponseKind::decode(api, body, version)
    })
}

/// [`decode_response`] for a body type known at compile time, as
/// [`BrokerConnection`](crate::client::BrokerConnection) reads each response.
pub(crate) fn decode_response_body<T: Decodable>(
    frame: Bytes,
    api: ApiKey,
    version: i16,
) -> Result<T, ResponseDecodeError> {
    decode_guarded(frame, api, version, |body| T::decode(body, version)).map(|(_, body)| body)
}

fn decode_guarded<T>(
    mut frame: Bytes,
    api: ApiKey,
    version: i16,
    decode_body: impl FnOnce(&mut Bytes) -> anyhow::Result<T>,
) -> Result<(ResponseHeader, T), ResponseDecodeError> {
    check_response_lengths(&frame, api, version)?;
    let malformed = |e: anyhow::Error| ResponseDecodeError::Malformed(e.to_string());
    let header = ResponseHeader::decode(&mut frame, api.response_header_version(version))
        .map_err(malformed)?;
    let body = decode_body(&mut frame).map_err(malformed)?;
    Ok((header, body))
}
