//! Fuzzes the embedded broker's request decoder: any byte string is either a request or a
//! clean error, never a panic. (kafka-protocol 0.18 aborts on forged array lengths; the fuzzer
//! finds that within seconds — see `mutated_requests_decode_or_fail_cleanly`.)
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|frame: &[u8]| {
    let _ = kafka_listener::embedded::wire::decode_request(frame);
});
