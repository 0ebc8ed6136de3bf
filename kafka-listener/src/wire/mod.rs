//! Bounds on what decoding a Kafka frame may allocate, for both sides of the wire: the embedded
//! broker checks every request and our client every response before kafka-protocol decodes
//! them.
//!
//! kafka-protocol 0.18 reserves memory for an array's declared item count (and zero-fills a
//! string's or byte field's declared length) before reading any item, so one forged count
//! of 2^31 makes the allocator abort the process. The [length guard](length_guard) walks a
//! frame along its message's [layout](layout) first and refuses any length or count larger
//! than the bytes left.

mod layout;
pub(crate) mod length_guard;
mod request_layouts;
