//! Fuzzes the embedded broker's request decoder: any byte string is either a request or a
//! clean error, never a panic or an abort. (Before the length guard, kafka-protocol 0.18's
//! reservation for forged array lengths aborted within seconds of fuzzing.)
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|frame: &[u8]| {
    let _ = kafka_listener::embedded::wire::decode_request(frame);
});
