//! Request decoding and response encoding: the broker's side of the Kafka wire format, and the
//! API versions the embedded broker implements (and advertises in ApiVersions — truthfully).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::{Decodable, Encodable};

use crate::wire::check_request_lengths;

/// The largest request frame accepted (Kafka's `socket.request.max.bytes` default, 100 MiB).
pub const MAX_REQUEST_BYTES: usize = 100 * 1024 * 1024;

/// The APIs the embedded broker implements, each with the version range it serves. Every
/// version in a range is handled (the codec covers it; version-dependent semantics such as
/// topic ids, batched groups and MEMBER_ID_REQUIRED are implemented in the handlers).
pub const SUPPORTED_APIS: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 13),
    (ApiKey::Fetch, 4, 18),
    (ApiKey::ListOffsets, 1, 10),
    (ApiKey::Metadata, 0, 13),
    (ApiKey::OffsetCommit, 2, 9),
    (ApiKey::OffsetFetch, 1, 9),
    (ApiKey::FindCoordinator, 0, 6),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::DescribeGroups, 0, 6),
    (ApiKey::ListGroups, 0, 5),
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::InitProducerId, 0, 5),
    // The client forms: v4+ of AddPartitionsToTxn is broker-to-broker; EndTxn v5 belongs to
    // transactions v2, which this broker does not advertise.
    (ApiKey::AddPartitionsToTxn, 0, 3),
    (ApiKey::EndTxn, 0, 4),
    (ApiKey::OffsetForLeaderEpoch, 2, 4),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::DeleteGroups, 0, 2),
];

/// The version range served for `api`, if the broker implements it.
pub(crate) fn supported_versions(api: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED_APIS
        .iter()
        .find(|(key, _, _)| *key == api)
        .map(|&(_, min, max)| (min, max))
}

/// Why a request frame could not be decoded. The connection it came on is closed (as Kafka
/// closes it), except for [`RequestDecodeError::UnsupportedApiVersionsVersion`], which Kafka
/// answers with an UNSUPPORTED_VERSION ApiVersions response.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestDecodeError {
    /// Shorter than the fixed header fields.
    #[error("request frame of {len} bytes is too short for a request header")]
    TooShort {
        /// The frame length.
        len: usize,
    },
    /// An API key Kafka does not define, or one this broker does not implement.
    #[error("unknown or unimplemented API key {api_key}")]
    UnknownApiKey {
        /// The key received.
        api_key: i16,
    },
    /// A version outside the range the broker advertised for this API.
    #[error("{api:?} v{version} is not supported (this broker serves v{min}..=v{max})")]
    UnsupportedVersion {
        /// The API.
        api: ApiKey,
        /// The version received.
        version: i16,
        /// Lowest served version.
        min: i16,
        /// Highest served version.
        max: i16,
    },
    /// An ApiVersions request newer than the broker knows; answered, not fatal.
    #[error("ApiVersions v{version} is newer than this broker's v{max}")]
    UnsupportedApiVersionsVersion {
        /// The version received.
        version: i16,
        /// Highest served version.
        max: i16,
        /// The request's correlation id, for the answer.
        correlation_id: i32,
    },
    /// The header or body does not parse at this version.
    #[error("malformed {api:?} v{version} request: {reason}")]
    Malformed {
        /// The API.
        api: ApiKey,
        /// The version.
        version: i16,
        /// The codec's message.
        reason: String,
    },
}

/// A decoded request.
#[derive(Debug)]
pub struct DecodedRequest {
    /// The request header (API key, version, correlation id, client id).
    pub header: RequestHeader,
    /// The API this request is for.
    pub api: ApiKey,
    /// The request body.
    pub body: RequestKind,
}

/// Decodes one request frame (without its 4-byte size prefix). Never panics or aborts on any
/// input: every length and count is checked against the bytes left before the codec reserves
/// memory for it. The request-decoder fuzz target and a bounded mutation test hold it to that.
///
/// ```
/// use kafka_listener::embedded::wire::{decode_request, RequestDecodeError};
///
/// assert_eq!(
///     decode_request(&[0, 0]).unwrap_err(),
///     RequestDecodeError::TooShort { len: 2 }
/// );
/// ```
pub fn decode_request(frame: &[u8]) -> Result<DecodedRequest, RequestDecodeError> {
    if frame.len() < 8 {
        return Err(RequestDecodeError::TooShort { len: frame.len() });
    }
    let mut fixed = &frame[..8];
    let api_key = fixed.get_i16();
    let version = fixed.get_i16();
    let correlation_id = fixed.get_i32();
    let api =
        ApiKey::try_from(api_key).map_err(|_| RequestDecodeError::UnknownApiKey { api_key })?;
    let (min, max) =
        supported_versions(api).ok_or(RequestDecodeError::UnknownApiKey { api_key })?;
    if !(min..=max).contains(&version) {
        if api == ApiKey::ApiVersions && version > max {
            return Err(RequestDecodeError::UnsupportedApiVersionsVersion {
                version,
                max,
                correlation_id,
            });
        }
        return Err(RequestDecodeError::UnsupportedVersion {
            api,
            version,
            min,
            max,
        });
    }
    let malformed = |e: anyhow::Error| RequestDecodeError::Malformed {
        api,
        version,
        reason: e.to_string(),
    };
    if frame.len() > MAX_REQUEST_BYTES {
        return Err(malformed(anyhow::anyhow!(
            "request of {} bytes exceeds the {MAX_REQUEST_BYTES} byte limit",
            frame.len()
        )));
    }
    check_request_lengths(frame, api, version).map_err(|e| RequestDecodeError::Malformed {
        api,
        version,
        reason: e.to_string(),
    })?;
    let mut bytes = Bytes::copy_from_slice(frame);
    let header = RequestHeader::decode(&mut bytes, api.request_header_version(version))
        .map_err(malformed)?;
    let body = RequestKind::decode(api, &mut bytes, version).map_err(malformed)?;
    Ok(DecodedRequest { header, api, body })
}

/// Encodes a response frame, size prefix included.
pub(crate) fn encode_response(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    response: &ResponseKind,
) -> anyhow::Result<BytesMut> {
    let mut frame = BytesMut::with_capacity(64);
    frame.put_i32(0);
    // ApiVersions responses always use header v0, so clients that cannot parse a newer
    // header can still read the version list.
    let header_version = if api == ApiKey::ApiVersions {
        0
    } else {
        api.response_header_version(version)
    };
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut frame, header_version)?;
    response.encode(&mut frame, version)?;
    let size = i32::try_from(frame.len() - 4)?;
    frame[..4].copy_from_slice(&size.to_be_bytes());
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_api_keys_and_versions_are_refused() {
        let mut frame = vec![0x7f, 0x00, 0, 0, 0, 0, 0, 1];
        assert_eq!(
            decode_request(&frame).unwrap_err(),
            RequestDecodeError::UnknownApiKey { api_key: 0x7f00 }
        );
        frame[..4].copy_from_slice(&[0, 18, 0, 99]);
        assert!(matches!(
            decode_request(&frame).unwrap_err(),
            RequestDecodeError::UnsupportedApiVersionsVersion {
                version: 99,
                correlation_id: 1,
                ..
            }
        ));
        frame[..4].copy_from_slice(&[0, 0, 0, 1]);
        assert!(matches!(
            decode_request(&frame).unwrap_err(),
            RequestDecodeError::UnsupportedVersion {
                api: ApiKey::Produce,
                version: 1,
                ..
            }
        ));
    }

    #[test]
    fn advertised_versions_lie_within_the_codec() {
        for &(api, min, max) in SUPPORTED_APIS {
            let codec = api.valid_versions();
            assert!(codec.min <= min && max <= codec.max, "{api:?}");
        }
    }
}
