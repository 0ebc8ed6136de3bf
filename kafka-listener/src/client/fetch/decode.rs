//! Record batches (message format v2) as a Fetch response carries them → [`ConsumerRecord`]s.
//!
//! Written here rather than taken from kafka-protocol's `RecordBatchDecoder` because a fetch
//! needs what that decoder does not give: a partial batch at the end of a response is normal
//! (the broker cuts at `max.partition.fetch.bytes`), headers keep duplicate names in order,
//! control batches move the position without producing records, aborted transactions are
//! filtered for `read_committed`, and a corrupt batch becomes a value the container can route to
//! the error handler instead of failing the whole fetch. Decompression is kafka-protocol's.
//!
//! Keys, values and header values are `Bytes` slices of the response (or of the decompressed
//! batch): no copy until an extractor deserializes them.

use std::collections::{BTreeMap, HashSet};

use bytes::{Buf, Bytes};
use kafka_protocol::compression::{Decompressor, Gzip, Lz4, Snappy, Zstd};

use crate::client::batch_layout::{
    ATTRIBUTES, BASE_OFFSET, BASE_TIMESTAMP, BATCH_HEADER_LEN, BATCH_LENGTH, COMPRESSION_MASK,
    CONTROL_BIT, CRC, LAST_OFFSET_DELTA, LOG_OVERHEAD, MAGIC, MAX_TIMESTAMP, PRODUCER_ID,
    RECORD_COUNT, TIMESTAMP_TYPE_BIT, TRANSACTIONAL_BIT,
};
use crate::record::{ConsumerRecord, Headers, TimestampType};

/// Control record type of an abort marker (a commit marker is 1).
const ABORT_MARKER: i16 = 0;

/// How a fetch treats transactional records (Kafka's `isolation.level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationLevel {
    /// Every record, including those of open and aborted transactions (Kafka's default).
    #[default]
    ReadUncommitted,
    /// Only records of committed transactions, up to the last stable offset.
    ReadCommitted,
}

impl IsolationLevel {
    /// The value the Fetch and ListOffsets requests carry.
    pub fn wire_value(self) -> i8 {
        match self {
            IsolationLevel::ReadUncommitted => 0,
            IsolationLevel::ReadCommitted => 1,
        }
    }
}

/// A transaction the broker reports as aborted: records of `producer_id` from `first_offset` up
/// to its abort marker are not delivered under `read_committed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AbortedTransaction {
    /// The transactional producer.
    pub producer_id: i64,
    /// The first offset the transaction wrote in this partition.
    pub first_offset: i64,
}

/// A batch that could not be read: its CRC did not match, or its records did not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorruptBatch {
    /// The batch's first offset.
    pub base_offset: i64,
    /// The batch's last offset: consumption resumes after it.
    pub last_offset: i64,
    /// What was wrong.
    pub reason: String,
    /// The whole batch as it came from the broker, for a dead-letter recoverer to keep.
    pub bytes: Bytes,
}

/// What one partition's `records` field held.
#[derive(Debug, Default)]
pub struct DecodedRecords {
    /// Deliverable records at or after the fetch position, in offset order.
    pub records: Vec<ConsumerRecord>,
    /// Where the next fetch starts: past every whole batch read, including control batches and
    /// aborted or corrupt ones that delivered nothing. `None` when no whole batch was read.
    pub next_position: Option<i64>,
    /// The first batch that could not be read; decoding stops there.
    pub corrupt: Option<CorruptBatch>,
}

/// Decodes one partition's record batches.
#[derive(Debug)]
pub struct BatchDecoder<'a> {
    /// Topic of the records.
    pub topic: &'a str,
    /// Partition of the records.
    pub partition: i32,
    /// The fetch position: records before it (a batch may start earlier) are dropped.
    pub position: i64,
    /// `check.crcs`.
    pub check_crcs: bool,
    /// `Some` under `read_committed`: the response's aborted transactions.
    pub aborted: Option<&'a [AbortedTransaction]>,
}

impl BatchDecoder<'_> {
    /// Walks every whole batch of `bytes`.
    pub fn decode(&self, mut bytes: Bytes) -> DecodedRecords {
        let mut out = DecodedRecords::default();
        let mut aborted = AbortedFilter::new(self.aborted);
        while bytes.len() >= LOG_OVERHEAD {
            let batch_length = i32::from_be_bytes(
                bytes[BATCH_LENGTH..BATCH_LENGTH + 4]
                    .try_into()
                    .expect("4 bytes"),
            );
            let Some(total) = usize::try_from(batch_length)
                .ok()
                .and_then(|len| len.checked_add(LOG_OVERHEAD))
            else {
                out.corrupt = Some(self.corrupt_at(&bytes, "negative batch length"));
                break;
            };
            if bytes.len() < total {
                break; // cut off by the fetch size: the next fetch reads it whole
            }
            let batch = bytes.split_to(total);
            match self.decode_batch(&batch, &mut aborted, &mut out.records) {
                Ok(last_offset) => {
                    out.next_position = Some(last_offset.saturating_add(1));
                }
                Err(reason) => {
                    let mut corrupt = self.corrupt_at(&batch, &reason);
                    // A damaged header may claim a huge last offset: the next batch's base
                    // offset bounds it.
                    if let Some(next_base) =
                        read_i64(&bytes, BASE_OFFSET).filter(|b| *b > corrupt.base_offset)
                    {
                        corrupt.last_offset = corrupt.last_offset.min(next_base - 1);
                    }
                    out.next_position = Some(corrupt.last_offset.saturating_add(1));
                    out.corrupt = Some(corrupt);
                    break;
                }
            }
        }
        out
    }

    fn corrupt_at(&self, batch: &Bytes, reason: &str) -> CorruptBatch {
        let base_offset = read_i64(batch, BASE_OFFSET).unwrap_or(self.position);
        let last_offset = read_i32(batch, LAST_OFFSET_DELTA)
            .filter(|delta| *delta >= 0)
            .map_or(base_offset, |delta| {
                base_offset.saturating_add(i64::from(delta))
            })
            .max(self.position);
        CorruptBatch {
            base_offset,
            last_offset,
            reason: format!(
                "record batch at offset {base_offset} of {}-{} cannot be read: {reason}",
                self.topic, self.partition
            ),
            bytes: batch.clone(),
        }
    }

    /// Appends the batch's deliverable records; returns the batch's last offset.
    fn decode_batch(
        &self,
        batch: &Bytes,
        aborted: &mut AbortedFilter,
        records: &mut Vec<ConsumerRecord>,
    ) -> Result<i64, String> {
        if batch.len() < BATCH_HEADER_LEN {
            return Err(format!("batch of {} bytes is too short", batch.len()));
        }
        let magic = batch[MAGIC] as i8;
        if magic != 2 {
            return Err(format!(
                "message format v{magic} is not supported (Kafka 4 stores only v2)"
            ));
        }
        let header = BatchHeader::read(batch);
        if self.check_crcs {
            let stored = u32::from_be_bytes(batch[CRC..CRC + 4].try_into().unwrap());
            let actual = crc32c::crc32c(&batch[ATTRIBUTES..]);
            if stored != actual {
                return Err(format!(
                    "CRC mismatch (stored {stored:#010x}, computed {actual:#010x})"
                ));
            }
        }
        let last_offset = header
            .base_offset
            .saturating_add(i64::from(header.last_offset_delta));
        if header.is_control() {
            if header.is_transactional() && control_type(batch) == Some(ABORT_MARKER) {
                aborted.transaction_ended(header.producer_id);
            }
            return Ok(last_offset);
        }
        if aborted.skips(&header, last_offset) {
            return Ok(last_offset);
        }
        if last_offset < self.position {
            return Ok(last_offset);
        }
        let body = batch.slice(BATCH_HEADER_LEN..);
        let start = records.len();
        let result = match header.compression() {
            0 => self.decode_records(&header, body, records),
            codec => decompress(codec, body)
                .and_then(|plain| self.decode_records(&header, plain, records)),
        };
        if let Err(reason) = result {
            records.truncate(start);
            return Err(reason);
        }
        Ok(last_offset)
    }

    fn decode_records(
        &self,
        header: &BatchHeader,
        mut body: Bytes,
        records: &mut Vec<ConsumerRecord>,
    ) -> Result<(), String> {
        let log_append_time = header.attributes & TIMESTAMP_TYPE_BIT != 0;
        let timestamp_type = if log_append_time {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        };
        for index in 0..header.record_count {
            let record = read_record(&mut body)
                .ok_or_else(|| format!("record {index} of {} is truncated", header.record_count))?;
            let offset = header
                .base_offset
                .saturating_add(i64::from(record.offset_delta));
            if offset < self.position {
                continue;
            }
            records.push(ConsumerRecord {
                topic: self.topic.to_owned(),
                partition: self.partition,
                offset,
                // LogAppendTime: the broker's time for the whole batch, as Java's consumer reads it.
                timestamp: if log_append_time {
                    header.max_timestamp
                } else {
                    header.base_timestamp.wrapping_add(record.timestamp_delta)
                },
                timestamp_type,
                key: record.key,
                value: record.value,
                headers: record.headers,
            });
        }
        Ok(())
    }
}

struct BatchHeader {
    base_offset: i64,
    attributes: i16,
    last_offset_delta: i32,
    base_timestamp: i64,
    max_timestamp: i64,
    producer_id: i64,
    record_count: i32,
}

impl BatchHeader {
    /// Reads the fixed header; `batch` holds at least [`BATCH_HEADER_LEN`] bytes.
    fn read(batch: &[u8]) -> Self {
        let i16_at = |at: usize| i16::from_be_bytes([batch[at], batch[at + 1]]);
        let i32_at = |at: usize| i32::from_be_bytes(batch[at..at + 4].try_into().unwrap());
        let i64_at = |at: usize| i64::from_be_bytes(batch[at..at + 8].try_into().unwrap());
        Self {
            base_offset: i64_at(BASE_OFFSET),
            attributes: i16_at(ATTRIBUTES),
            last_offset_delta: i32_at(LAST_OFFSET_DELTA),
            base_timestamp: i64_at(BASE_TIMESTAMP),
            max_timestamp: i64_at(MAX_TIMESTAMP),
            producer_id: i64_at(PRODUCER_ID),
            record_count: i32_at(RECORD_COUNT),
        }
    }

    fn compression(&self) -> i16 {
        self.attributes & COMPRESSION_MASK
    }

    fn is_control(&self) -> bool {
        self.attributes & CONTROL_BIT != 0
    }

    fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_BIT != 0
    }
}

/// The control record's type (abort 0, commit 1) from its key: version (i16), type (i16).
fn control_type(batch: &Bytes) -> Option<i16> {
    let mut body = batch.slice(BATCH_HEADER_LEN..);
    let record = read_record(&mut body)?;
    let key = record.key?;
    (key.len() >= 4).then(|| i16::from_be_bytes([key[2], key[3]]))
}

fn decompress(codec: i16, mut body: Bytes) -> Result<Bytes, String> {
    let keep = |plain: &mut Bytes| Ok(std::mem::take(plain));
    let result = match codec {
        1 => Gzip::decompress(&mut body, keep),
        2 => Snappy::decompress(&mut body, keep),
        3 => Lz4::decompress(&mut body, keep),
        4 => Zstd::decompress(&mut body, keep),
        other => return Err(format!("unknown compression codec {other}")),
    };
    result.map_err(|e| format!("cannot decompress: {e:#}"))
}

/// `read_committed`: which producers' batches are inside an aborted transaction right now.
///
/// Kafka's rule (as its Java consumer applies it): walking batches in offset order, a producer
/// becomes aborted once a batch reaches its aborted transaction's first offset, and stops being
/// aborted at its abort marker.
struct AbortedFilter {
    /// Aborted transactions not reached yet, by first offset.
    pending: BTreeMap<(i64, i64), ()>,
    active: HashSet<i64>,
    enabled: bool,
}

impl AbortedFilter {
    fn new(aborted: Option<&[AbortedTransaction]>) -> Self {
        Self {
            pending: aborted
                .unwrap_or_default()
                .iter()
                .map(|t| ((t.first_offset, t.producer_id), ()))
                .collect(),
            active: HashSet::new(),
            enabled: aborted.is_some(),
        }
    }

    /// `true` when the batch belongs to an aborted transaction and must not be delivered.
    fn skips(&mut self, header: &BatchHeader, last_offset: i64) -> bool {
        if !self.enabled || !header.is_transactional() {
            return false;
        }
        while let Some((&(first_offset, producer_id), ())) = self.pending.first_key_value() {
            if first_offset > last_offset {
                break;
            }
            self.pending.pop_first();
            self.active.insert(producer_id);
        }
        self.active.contains(&header.producer_id)
    }

    fn transaction_ended(&mut self, producer_id: i64) {
        self.active.remove(&producer_id);
    }
}

struct RawRecord {
    timestamp_delta: i64,
    offset_delta: i32,
    key: Option<Bytes>,
    value: Option<Bytes>,
    headers: Headers,
}

/// One record: `length` varint, then attributes, deltas, key, value and headers.
fn read_record(buf: &mut Bytes) -> Option<RawRecord> {
    let length = usize::try_from(read_varint(buf)?).ok()?;
    if buf.len() < length {
        return None;
    }
    let mut record = buf.split_to(length);
    if !record.has_remaining() {
        return None;
    }
    record.get_i8(); // attributes: unused in v2
    let timestamp_delta = read_varlong(&mut record)?;
    let offset_delta = read_varint(&mut record)?;
    let key = read_nullable_bytes(&mut record)?;
    let value = read_nullable_bytes(&mut record)?;
    let count = usize::try_from(read_varint(&mut record)?).ok()?;
    let mut headers = Headers::new();
    for _ in 0..count {
        let name = read_nullable_bytes(&mut record)??;
        let name = String::from_utf8(name.to_vec()).ok()?;
        let value = read_nullable_bytes(&mut record)?;
        headers.push(name, value);
    }
    Some(RawRecord {
        timestamp_delta,
        offset_delta,
        key,
        value,
        headers,
    })
}

/// A varint-length byte string; length -1 is null. `None` when truncated or malformed.
fn read_nullable_bytes(buf: &mut Bytes) -> Option<Option<Bytes>> {
    match read_varint(buf)? {
        -1 => Some(None),
        len if len < 0 => None,
        len => {
            let len = len as usize;
            (buf.len() >= len).then(|| Some(buf.split_to(len)))
        }
    }
}

fn read_varint(buf: &mut Bytes) -> Option<i32> {
    let raw = read_unsigned_varint(buf, 5)?;
    let raw = u32::try_from(raw).ok()?;
    Some(((raw >> 1) as i32) ^ -((raw & 1) as i32))
}

fn read_varlong(buf: &mut Bytes) -> Option<i64> {
    let raw = read_unsigned_varint(buf, 10)?;
    Some(((raw >> 1) as i64) ^ -((raw & 1) as i64))
}

fn read_unsigned_varint(buf: &mut Bytes, max_bytes: usize) -> Option<u64> {
    let mut value = 0u64;
    for i in 0..max_bytes {
        if !buf.has_remaining() {
            return None;
        }
        let byte = buf.get_u8();
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

fn read_i64(bytes: &[u8], at: usize) -> Option<i64> {
    Some(i64::from_be_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

fn read_i32(bytes: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
