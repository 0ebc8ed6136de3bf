//! The response length guard against kafka-protocol's codec: valid responses of every version
//! pass whole, every forged length is refused at its offset, and mutated responses decode or
//! fail cleanly.

use bytes::{Buf, Bytes};
use kafka_protocol::messages::{ApiKey, ResponseHeader, ResponseKind};
use kafka_protocol::protocol::Decodable;

use super::response_seeds::{layout_versions, seed_frames};
use crate::wire::length_guard::{has_response_layout, response_length_prefixes};
use crate::wire::{check_response_lengths, decode_response, ResponseDecodeError};

/// What the codec alone (no guard) reads of a frame: the bytes it consumed. Only for frames
/// whose lengths are known to be honest.
fn codec_alone(frame: &[u8], api: ApiKey, version: i16) -> anyhow::Result<usize> {
    let mut bytes = Bytes::copy_from_slice(frame);
    ResponseHeader::decode(&mut bytes, api.response_header_version(version))?;
    ResponseKind::decode(api, &mut bytes, version)?;
    Ok(frame.len() - bytes.remaining())
}

/// `frame` with the length prefix at `prefix` declaring 2^31 - 1: an int32 prefix, or a
/// compact varint (one byte in every seed) replaced by five; an int16 string length declares
/// 2^15 - 1, more than any seed holds.
fn forged(frame: &[u8], prefix: std::ops::Range<usize>) -> Vec<u8> {
    let max: Vec<u8> = match prefix.len() {
        1 => vec![0xff, 0xff, 0xff, 0xff, 0x07],
        2 => i16::MAX.to_be_bytes().to_vec(),
        _ => i32::MAX.to_be_bytes().to_vec(),
    };
    let mut forged = frame[..prefix.start].to_vec();
    forged.extend_from_slice(&max);
    forged.extend_from_slice(&frame[prefix.end..]);
    forged
}

#[test]
fn every_api_the_client_sends_has_a_response_layout() {
    let sent = [
        ApiKey::ApiVersions,
        ApiKey::SaslHandshake,
        ApiKey::SaslAuthenticate,
        ApiKey::Metadata,
        ApiKey::FindCoordinator,
        ApiKey::JoinGroup,
        ApiKey::SyncGroup,
        ApiKey::Heartbeat,
        ApiKey::LeaveGroup,
        ApiKey::OffsetCommit,
        ApiKey::OffsetFetch,
        ApiKey::ListOffsets,
        ApiKey::Fetch,
    ];
    for api in sent {
        assert!(has_response_layout(api), "{api:?}");
    }
    assert!(!has_response_layout(ApiKey::DescribeCluster));
}

#[test]
fn valid_responses_of_every_version_pass_the_guard_whole() {
    let seeds = seed_frames();
    assert_eq!(seeds.len(), 2 * layout_versions().count());
    for (api, version, frame) in &seeds {
        let consumed = codec_alone(frame, *api, *version)
            .unwrap_or_else(|e| panic!("{api:?} v{version}: the codec refuses its own frame: {e}"));
        assert_eq!(
            consumed,
            frame.len(),
            "{api:?} v{version}: the codec's read"
        );
        assert_eq!(
            check_response_lengths(frame, *api, *version),
            Ok(frame.len()),
            "{api:?} v{version}: the guard's walk"
        );
        assert!(decode_response(frame, *api, *version).is_ok());
    }
}

#[test]
fn every_length_forged_to_i32_max_is_refused_at_its_offset() {
    let mut forged_lengths = 0;
    for (api, version, frame) in seed_frames() {
        let prefixes = response_length_prefixes(&frame, api, version).expect("a valid frame");
        for prefix in prefixes {
            let at = prefix.start;
            let forged = forged(&frame, prefix);
            let error = check_response_lengths(&forged, api, version)
                .expect_err("a forged length is refused");
            assert_eq!(error.at(), at, "{api:?} v{version}: {error}");
            assert!(error.declared() >= i16::MAX as usize, "{error}");
            assert!(matches!(
                decode_response(&forged, api, version),
                Err(ResponseDecodeError::Refused(_))
            ));
            forged_lengths += 1;
        }
    }
    assert!(forged_lengths > 1_500, "{forged_lengths} lengths forged");
}

#[test]
fn a_forged_metadata_broker_count_is_refused_before_decoding() {
    // Metadata v1: correlation id, then the brokers array declaring 2^31 - 1 brokers.
    let mut frame = vec![0, 0, 0, 7];
    frame.extend_from_slice(&i32::MAX.to_be_bytes());
    frame.extend_from_slice(&[0, 0, 0, 1]);
    let error = check_response_lengths(&frame, ApiKey::Metadata, 1).unwrap_err();
    assert_eq!((error.at(), error.declared()), (4, i32::MAX as usize));
    assert_eq!(
        error.to_string(),
        "an array of 2147483647 items is longer than the 4 bytes left (at byte 4)"
    );
}

#[test]
fn a_fetch_records_field_longer_than_the_frame_is_refused() {
    // Fetch v12 (flexible, header v1): one topic, one partition whose records declare 2^28 bytes.
    let mut frame = vec![0, 0, 0, 7, 0]; // correlation id, no header tags
    frame.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // throttle, error, session
    frame.extend_from_slice(&[2, 2, b't', 2]); // one topic "t", one partition
    frame.extend_from_slice(&[0; 4 + 2 + 8 + 8 + 8]); // index, error, offsets
    frame.push(0); // aborted transactions: null
    frame.extend_from_slice(&[0; 4]); // preferred read replica
    let records_at = frame.len();
    frame.extend_from_slice(&[0x81, 0x80, 0x80, 0x80, 0x01]);
    let error = check_response_lengths(&frame, ApiKey::Fetch, 12).unwrap_err();
    assert_eq!((error.at(), error.declared()), (records_at, 1 << 28));
    assert!(error
        .to_string()
        .starts_with("a byte field of 268435456 bytes"));
}

#[test]
fn api_versions_responses_have_header_v0_even_when_flexible() {
    // ApiVersions v3: correlation id, error code, no api keys, throttle, no tags — no header tags.
    let frame = [0, 0, 0, 7, 0, 0, 1, 0, 0, 0, 0, 0];
    assert_eq!(
        check_response_lengths(&frame, ApiKey::ApiVersions, 3),
        Ok(frame.len())
    );
}

#[test]
fn a_response_without_a_layout_is_refused_not_decoded_unchecked() {
    let error = decode_response(&[0, 0, 0, 7, 0], ApiKey::DescribeCluster, 0).unwrap_err();
    assert!(
        error.to_string().contains("no layout for DescribeCluster"),
        "{error}"
    );
}

/// xorshift64*: deterministic, so a failure reproduces from its iteration number.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A bounded, deterministic stand-in for the `response_decoder` fuzz target: mutated seeds
/// decode or fail with an error in this process — an abort here fails the test binary — and
/// where both the guard and the codec accept, they read the same bytes.
#[test]
fn mutated_responses_decode_or_fail_cleanly() {
    let seeds = seed_frames();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut decoded, mut refused) = (0, 0);
    for i in 0..20_000 {
        let (api, version, seed) = &seeds[rng.below(seeds.len())];
        let mut frame = seed.clone();
        for _ in 0..1 + rng.below(3) {
            if frame.is_empty() {
                break;
            }
            let at = rng.below(frame.len());
            match rng.below(4) {
                0 => frame[at] ^= 1 << rng.below(8),
                1 => frame[at] = [0x00, 0x7f, 0x80, 0xff][rng.below(4)],
                2 => frame.truncate(at),
                _ if frame.len() >= at + 4 => {
                    let v = [0i32, -1, 1, i32::MAX, i32::MIN, 0x7fff][rng.below(6)];
                    frame[at..at + 4].copy_from_slice(&v.to_be_bytes());
                }
                _ => frame.insert(at, rng.next() as u8),
            }
        }
        match check_response_lengths(&frame, *api, *version) {
            Ok(walked) => {
                if let Ok(consumed) = codec_alone(&frame, *api, *version) {
                    assert_eq!(walked, consumed, "input {i}: {api:?} v{version}");
                    decoded += 1;
                }
            }
            Err(_) => refused += 1,
        }
        let _ = decode_response(&frame, *api, *version);
    }
    assert!(
        decoded > 1_000 && refused > 1_000,
        "{decoded} decoded, {refused} refused"
    );
}
