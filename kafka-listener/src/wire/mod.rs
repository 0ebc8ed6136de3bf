//! Bounds on what decoding a Kafka frame may allocate, for both sides of the wire: the embedded
//! broker checks every request and our client every response before kafka-protocol decodes
//! them.
//!
//! kafka-protocol 0.18 reserves memory for an array's declared item count (and zero-fills a
//! string's or byte field's declared length) before reading any item, so one forged count
//! of 2^31 makes the allocator abort the process. The length guard
//! ([`check_request_lengths`], [`check_response_lengths`]) walks a frame along its message's
//! layout — the fields of each struct in wire order, per version, from Kafka's message
//! definitions — and refuses any length or count larger than the bytes left, before the codec
//! sees the frame. [`decode_response`] is the guard and the codec together.
//!
//! Responses of APIs without a layout are refused, not decoded unchecked; the layouts cover
//! every API the client, the group client, the fetcher, SASL and the embedded broker use.

mod decode;
mod layout;
mod length_guard;
mod request_layouts;
mod response_layouts;

pub(crate) use decode::decode_response_body;
pub use decode::{decode_response, ResponseDecodeError};
pub(crate) use length_guard::has_response_layout;
pub use length_guard::{check_request_lengths, check_response_lengths, LengthError};

#[cfg(test)]
mod tests;
