//! Checks every length and count in a frame against the bytes that follow it, before the
//! codec sees the frame: requests for the embedded broker, responses for our client.
//!
//! kafka-protocol 0.18 reserves memory for an array's declared item count (and zero-fills a
//! string's or byte field's declared length) before reading any item, so a forged count of
//! 2^31 asks the allocator for hundreds of gigabytes, and a failed allocation aborts the
//! process — no panic to catch. A real message never declares more items than it has bytes
//! left (every item takes at least one byte), so walking the message along its
//! [layout](super::layout) and refusing such a count first bounds what the codec can reserve
//! by the size of the frame.

use kafka_protocol::messages::ApiKey;

use super::layout::{Message, Struct, TaggedField, Ty};
use super::request_layouts::request_layout;
use super::response_layouts::response_layout;

/// Why a frame was refused: what the guard found, and at which byte of the frame.
///
/// ```
/// use kafka_listener::wire::check_response_lengths;
/// use kafka_protocol::messages::ApiKey;
///
/// // A Heartbeat v0 response: correlation id, then an error code cut short.
/// let error = check_response_lengths(&[0, 0, 0, 7, 0], ApiKey::Heartbeat, 0).unwrap_err();
/// assert_eq!(error.at(), 4);
/// assert_eq!(error.to_string(), "a fixed-width field of 2 bytes is longer than the 1 bytes left (at byte 4)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LengthError {
    /// Where the refused length prefix (or fixed-width field) starts.
    pub(crate) at: usize,
    /// The bytes or items it declared.
    pub(crate) declared: usize,
    pub(crate) problem: String,
}

impl LengthError {
    /// The offset in the frame (header included, size prefix not) where the refused length
    /// or field starts.
    pub fn at(&self) -> usize {
        self.at
    }

    /// The bytes or items the refused length declared.
    pub fn declared(&self) -> usize {
        self.declared
    }
}

impl std::fmt::Display for LengthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at byte {})", self.problem, self.at)
    }
}

impl std::error::Error for LengthError {}

/// Walks the request in `frame` (header included, size prefix not): `Ok` with the number of
/// bytes the request takes when every length and count fits in the bytes after it, so
/// decoding allocates no more than the frame holds. An API without a layout is not walked
/// (the embedded broker refuses APIs it does not serve before asking).
///
/// ```
/// use kafka_listener::wire::check_request_lengths;
/// use kafka_protocol::messages::ApiKey;
///
/// // Heartbeat v0, correlation id 7, null client id, then a group id declaring 32767 bytes.
/// let frame = [0, 12, 0, 0, 0, 0, 0, 7, 0xff, 0xff, 0x7f, 0xff, b'g'];
/// let error = check_request_lengths(&frame, ApiKey::Heartbeat, 0).unwrap_err();
/// assert_eq!((error.at(), error.declared()), (10, 32767));
/// ```
pub fn check_request_lengths(
    frame: &[u8],
    api: ApiKey,
    version: i16,
) -> Result<usize, LengthError> {
    let Some(message) = request_layout(api) else {
        return Ok(frame.len());
    };
    let mut walk = Walk::new(frame, version);
    walk.skip(8, "the header's API key, version and correlation id")?;
    // The header's client id is a classic nullable string even in flexible header v2.
    walk.string()?;
    if api.request_header_version(version) >= 2 {
        walk.tagged_fields(&[])?;
    }
    walk.body(message)?;
    Ok(walk.at)
}

/// Walks the response of `api` at `version` in `frame` (response header included, size
/// prefix not), as [`check_request_lengths`] walks a request. Response header v0 is the
/// correlation id, v1 adds tagged fields (ApiVersions answers in v0 whatever its version).
/// An API without a response layout is refused: its response cannot be checked.
///
/// ```
/// use kafka_listener::wire::check_response_lengths;
/// use kafka_protocol::messages::ApiKey;
///
/// // SaslHandshake v1: correlation id 1, error code 0, one mechanism "PLAIN".
/// let mut frame = vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 5];
/// frame.extend_from_slice(b"PLAIN");
/// assert_eq!(check_response_lengths(&frame, ApiKey::SaslHandshake, 1), Ok(frame.len()));
///
/// // The same with a forged mechanism count of 2^31 - 1.
/// frame[6..10].copy_from_slice(&i32::MAX.to_be_bytes());
/// let error = check_response_lengths(&frame, ApiKey::SaslHandshake, 1).unwrap_err();
/// assert_eq!((error.at(), error.declared()), (6, i32::MAX as usize));
/// ```
pub fn check_response_lengths(
    frame: &[u8],
    api: ApiKey,
    version: i16,
) -> Result<usize, LengthError> {
    walk_response(frame, api, version).map(|walk| walk.at)
}

fn walk_response(frame: &[u8], api: ApiKey, version: i16) -> Result<Walk<'_>, LengthError> {
    let Some(message) = response_layout(api) else {
        return Err(LengthError {
            at: 0,
            declared: 0,
            problem: format!("no layout for {api:?} responses to check their lengths against"),
        });
    };
    let mut walk = Walk::new(frame, version);
    walk.skip(4, "the header's correlation id")?;
    if api.response_header_version(version) >= 1 {
        walk.tagged_fields(&[])?;
    }
    walk.body(message)?;
    Ok(walk)
}

/// Where every length prefix of a response `check_response_lengths` accepts lies, in the
/// order the walk reads them: for tests that forge each one in turn.
#[cfg(test)]
pub(super) fn response_length_prefixes(
    frame: &[u8],
    api: ApiKey,
    version: i16,
) -> Result<Vec<std::ops::Range<usize>>, LengthError> {
    walk_response(frame, api, version).map(|walk| walk.prefixes)
}

/// Whether [`check_response_lengths`] knows `api`'s responses.
pub(crate) fn has_response_layout(api: ApiKey) -> bool {
    response_layout(api).is_some()
}

/// A cursor over the frame, at one version.
struct Walk<'a> {
    frame: &'a [u8],
    at: usize,
    flexible: bool,
    version: i16,
    /// The length prefixes read so far.
    #[cfg(test)]
    prefixes: Vec<std::ops::Range<usize>>,
}

impl<'a> Walk<'a> {
    fn new(frame: &'a [u8], version: i16) -> Self {
        Self {
            frame,
            at: 0,
            flexible: false,
            version,
            #[cfg(test)]
            prefixes: Vec::new(),
        }
    }

    /// The message body, from the current position to its end.
    fn body(&mut self, message: &Message) -> Result<(), LengthError> {
        self.flexible = self.version >= message.flexible_from;
        self.structure(&message.body)
    }

    fn left(&self) -> usize {
        self.frame.len() - self.at
    }

    /// Skips `n` bytes of a field starting here.
    fn skip(&mut self, n: usize, what: &str) -> Result<(), LengthError> {
        self.skip_declared(self.at, n, what)
    }

    /// Skips the `n` bytes a length prefix starting at `prefix` declared; a refusal names
    /// the prefix's offset.
    fn skip_declared(&mut self, prefix: usize, n: usize, what: &str) -> Result<(), LengthError> {
        if n > self.left() {
            return Err(LengthError {
                at: prefix,
                declared: n,
                problem: format!(
                    "{what} of {n} bytes is longer than the {} bytes left",
                    self.left()
                ),
            });
        }
        self.at += n;
        Ok(())
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], LengthError> {
        let start = self.at;
        self.skip(N, "a fixed-width field")?;
        Ok(self.frame[start..start + N].try_into().expect("N bytes"))
    }

    /// An unsigned varint as the codec reads it: at most five bytes, low bits first.
    fn unsigned_varint(&mut self) -> Result<u32, LengthError> {
        let mut value = 0u32;
        for shift in 0..5 {
            let [byte] = self.fixed::<1>()?;
            value |= u32::from(byte & 0x7f).wrapping_shl(shift * 7);
            if byte < 0x80 {
                break;
            }
        }
        Ok(value)
    }

    /// A length prefix: `None` for null (or a negative length, which the codec refuses),
    /// otherwise how many bytes or items follow.
    fn length(&mut self, classic_width: usize) -> Result<Option<usize>, LengthError> {
        #[cfg(test)]
        let start = self.at;
        let n = if self.flexible {
            self.unsigned_varint()?.checked_sub(1).map(|n| n as usize)
        } else {
            let n = match classic_width {
                2 => i64::from(i16::from_be_bytes(self.fixed()?)),
                _ => i64::from(i32::from_be_bytes(self.fixed()?)),
            };
            usize::try_from(n).ok()
        };
        #[cfg(test)]
        self.prefixes.push(start..self.at);
        Ok(n)
    }

    fn string(&mut self) -> Result<(), LengthError> {
        let prefix = self.at;
        match self.length(2)? {
            Some(n) => self.skip_declared(prefix, n, "a string"),
            None => Ok(()),
        }
    }

    fn bytes(&mut self) -> Result<(), LengthError> {
        let prefix = self.at;
        match self.length(4)? {
            Some(n) => self.skip_declared(prefix, n, "a byte field"),
            None => Ok(()),
        }
    }

    /// An array's item count, refused when more items are declared than there are bytes
    /// left, since each item takes at least `min_item_bytes`.
    fn count(&mut self, min_item_bytes: usize) -> Result<usize, LengthError> {
        let prefix = self.at;
        let Some(n) = self.length(4)? else {
            return Ok(0);
        };
        if n.saturating_mul(min_item_bytes) > self.left() {
            return Err(LengthError {
                at: prefix,
                declared: n,
                problem: format!(
                    "an array of {n} items is longer than the {} bytes left",
                    self.left()
                ),
            });
        }
        Ok(n)
    }

    fn value(&mut self, ty: &Ty) -> Result<(), LengthError> {
        match ty {
            Ty::Fixed(width) => self.skip(*width, "a fixed-width field"),
            Ty::String => self.string(),
            Ty::Bytes => self.bytes(),
            Ty::Struct(inner) => self.structure(inner),
            Ty::Array(item) => {
                for _ in 0..self.count(1)? {
                    self.structure(item)?;
                }
                Ok(())
            }
            Ty::FixedArray(width) => {
                let n = self.count(*width)?;
                self.skip(n * width, "an array")
            }
            Ty::StringArray => {
                let min_item_bytes = if self.flexible { 1 } else { 2 };
                for _ in 0..self.count(min_item_bytes)? {
                    self.string()?;
                }
                Ok(())
            }
        }
    }

    fn structure(&mut self, layout: &Struct) -> Result<(), LengthError> {
        for field in layout.fields {
            if field.versions.contains(self.version) {
                self.value(&field.ty)?;
            }
        }
        if self.flexible {
            self.tagged_fields(layout.tagged)?;
        }
        Ok(())
    }

    /// The tagged-field section. Tags the codec knows at this version are decoded in place
    /// (and walked here the same way); any other tag's bytes are kept whole.
    fn tagged_fields(&mut self, known_tags: &[TaggedField]) -> Result<(), LengthError> {
        let count = self.unsigned_varint()?;
        for _ in 0..count {
            let tag = self.unsigned_varint()?;
            let prefix = self.at;
            let size = self.unsigned_varint()? as usize;
            let known = known_tags
                .iter()
                .find(|field| field.tag == tag && field.versions.contains(self.version));
            match known {
                Some(field) => self.value(&field.ty)?,
                None => self.skip_declared(prefix, size, "a tagged field")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(api: ApiKey, version: i16) -> Vec<u8> {
        let mut frame = Vec::new();
        frame.extend_from_slice(&(api as i16).to_be_bytes());
        frame.extend_from_slice(&version.to_be_bytes());
        frame.extend_from_slice(&7i32.to_be_bytes());
        frame.extend_from_slice(&(-1i16).to_be_bytes());
        if api.request_header_version(version) >= 2 {
            frame.push(0);
        }
        frame
    }

    #[test]
    fn a_classic_array_declaring_more_items_than_bytes_is_refused() {
        // DeleteGroups v1: groups_names: [string] — declare i32::MAX names, send one.
        let mut frame = header(ApiKey::DeleteGroups, 1);
        frame.extend_from_slice(&i32::MAX.to_be_bytes());
        frame.extend_from_slice(&[0, 1, b'g']);
        let error = check_request_lengths(&frame, ApiKey::DeleteGroups, 1).unwrap_err();
        assert_eq!(error.at, frame.len() - 7);
        assert!(
            error.problem.contains("2147483647 items"),
            "{}",
            error.problem
        );
    }

    #[test]
    fn a_compact_array_declaring_more_items_than_bytes_is_refused() {
        // DeleteGroups v2 (flexible): a varint count of 2^32 - 2 items.
        let mut frame = header(ApiKey::DeleteGroups, 2);
        frame.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f, 0x02, b'g', 0, 0]);
        assert!(check_request_lengths(&frame, ApiKey::DeleteGroups, 2).is_err());
    }

    #[test]
    fn a_string_longer_than_the_frame_is_refused() {
        // Heartbeat v4: a compact group id declaring 2^28 bytes.
        let mut frame = header(ApiKey::Heartbeat, 4);
        frame.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x01]);
        let error = check_request_lengths(&frame, ApiKey::Heartbeat, 4).unwrap_err();
        assert!(error.problem.contains("a string of 268435455 bytes"));
    }

    #[test]
    fn fixed_width_items_are_counted_at_their_width() {
        // OffsetFetch v1: group "g", one topic "t" declaring 3 partition indexes but sending 2.
        let mut frame = header(ApiKey::OffsetFetch, 1);
        frame.extend_from_slice(&[0, 1, b'g', 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 3]);
        frame.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]);
        assert!(check_request_lengths(&frame, ApiKey::OffsetFetch, 1).is_err());
        let last = frame.len() - 9;
        frame[last] = 2;
        assert_eq!(
            check_request_lengths(&frame, ApiKey::OffsetFetch, 1),
            Ok(frame.len())
        );
    }

    #[test]
    fn null_strings_and_arrays_take_no_bytes() {
        // Metadata v1: topics = null (all topics).
        let mut frame = header(ApiKey::Metadata, 1);
        frame.extend_from_slice(&(-1i32).to_be_bytes());
        assert_eq!(
            check_request_lengths(&frame, ApiKey::Metadata, 1),
            Ok(frame.len())
        );
    }

    #[test]
    fn known_tagged_fields_are_walked_and_unknown_ones_skipped() {
        // Fetch v12 with no topics and an unknown tag 9 of 3 bytes, then a cluster id (tag 0).
        let mut frame = header(ApiKey::Fetch, 12);
        frame.extend_from_slice(&[0; 4 * 3]); // replica id, max wait, min bytes
        frame.extend_from_slice(&[0; 4]); // max bytes
        frame.push(0); // isolation level
        frame.extend_from_slice(&[0; 8]); // session id and epoch
        frame.extend_from_slice(&[1, 1, 1]); // no topics, no forgotten topics, rack ""
        frame.extend_from_slice(&[2, 9, 3, 1, 2, 3, 0, 2, 2, b'c']);
        assert_eq!(
            check_request_lengths(&frame, ApiKey::Fetch, 12),
            Ok(frame.len())
        );
        // A cluster id declaring more bytes than the frame holds is refused.
        let last = frame.len() - 2;
        frame[last] = 0x7f;
        assert!(check_request_lengths(&frame, ApiKey::Fetch, 12).is_err());
    }
}
