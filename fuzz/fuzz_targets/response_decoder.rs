//! Fuzzes our client's response decoder: any byte string, read as a response of the API and
//! version its first two bytes pick, is either a response or a clean error, never a panic or
//! an abort. (Without the length guard, one forged array count makes kafka-protocol 0.18
//! reserve gigabytes and the allocator abort the process.)
//!
//! Input: byte 0 is the API key, byte 1 picks the version within the range kafka-protocol
//! decodes for it (min + byte 1 mod the range's width), the rest is the response frame
//! (header and body, no size prefix) as `BrokerConnection` hands it to the decoder.
#![no_main]

use kafka_listener::wire::decode_response;
use kafka_protocol::messages::ApiKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [api_key, version, frame @ ..] = data else {
        return;
    };
    let Ok(api) = ApiKey::try_from(i16::from(*api_key)) else {
        return;
    };
    let versions = api.valid_versions();
    let version = versions.min + i16::from(*version) % (versions.max - versions.min + 1);
    // The length guard walks the frame first; the codec decodes it only if the guard accepts.
    let _ = decode_response(frame, api, version);
});
