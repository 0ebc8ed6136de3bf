//! One partition's log: record batches kept byte-for-byte as producers sent them (compressed
//! batches stay compressed), with only the base offset rewritten on append, as Kafka does.

use std::collections::BTreeMap;
use std::sync::Mutex;

use bytes::{Bytes, BytesMut};
use tokio::sync::Notify;

use super::codes;

/// Offsets inside a v2 record batch header (Kafka's `DefaultRecordBatch`).
const BASE_OFFSET: usize = 0;
const BATCH_LENGTH: usize = 8;
const PARTITION_LEADER_EPOCH: usize = 12;
const MAGIC: usize = 16;
const CRC: usize = 17;
const ATTRIBUTES: usize = 21;
const LAST_OFFSET_DELTA: usize = 23;
const BASE_TIMESTAMP: usize = 27;
const MAX_TIMESTAMP: usize = 35;
const PRODUCER_ID: usize = 43;
const RECORD_COUNT: usize = 57;
const TRANSACTIONAL_BIT: i16 = 1 << 4;
const CONTROL_BIT: i16 = 1 << 5;
/// Size of the v2 batch header; a batch is at least this long.
const BATCH_HEADER_LEN: usize = 61;
/// Bytes before `batchLength` counts: baseOffset (8) + batchLength (4).
const LOG_OVERHEAD: usize = 12;

/// Why a produced record set was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AppendError {
    /// Not a sequence of well-formed v2 batches.
    Corrupt,
    /// A batch in an old message format (magic 0 or 1).
    OldMessageFormat,
}

impl AppendError {
    pub(crate) fn code(self) -> i16 {
        match self {
            AppendError::Corrupt => codes::CORRUPT_MESSAGE,
            AppendError::OldMessageFormat => codes::UNSUPPORTED_FOR_MESSAGE_FORMAT,
        }
    }
}

#[derive(Debug, Clone)]
struct StoredBatch {
    base_offset: i64,
    last_offset: i64,
    max_timestamp: i64,
    bytes: Bytes,
}

#[derive(Debug, Default)]
struct LogState {
    batches: Vec<StoredBatch>,
    next_offset: i64,
    log_start_offset: i64,
    /// Open transactions: producer id → the first offset it wrote since its last marker.
    open_transactions: BTreeMap<i64, i64>,
    /// Aborted transactions, in marker order (Kafka's aborted-transaction index).
    aborted: Vec<AbortedRange>,
}

/// One aborted transaction's span in this partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AbortedRange {
    pub(crate) producer_id: i64,
    pub(crate) first_offset: i64,
    /// The abort marker's offset.
    pub(crate) last_offset: i64,
}

impl LogState {
    /// Below it every transaction is decided: the first offset of the oldest open one, or the
    /// high watermark.
    fn last_stable_offset(&self) -> i64 {
        self.open_transactions
            .values()
            .copied()
            .min()
            .unwrap_or(self.next_offset)
    }
}

/// What a fetch read from one partition.
#[derive(Debug, Clone)]
pub(crate) struct FetchedRecords {
    pub(crate) records: Bytes,
    pub(crate) high_watermark: i64,
    pub(crate) last_stable_offset: i64,
    pub(crate) log_start_offset: i64,
    /// Under `read_committed`: the aborted transactions overlapping what was read.
    pub(crate) aborted: Option<Vec<AbortedRange>>,
}

/// An in-memory partition log. Appends wake every fetch waiting on [`PartitionLog::appended`].
#[derive(Debug, Default)]
pub(crate) struct PartitionLog {
    state: Mutex<LogState>,
    appended: Notify,
    /// Stamp every appended batch with the broker's time (`LogAppendTime`).
    log_append_time: bool,
}

/// A v2 batch found in a produced record set.
struct ParsedBatch {
    start: usize,
    len: usize,
    last_offset_delta: i64,
    max_timestamp: i64,
    /// The producer id of a transactional (non-control) batch.
    transactional_producer: Option<i64>,
}

fn read_i32(bytes: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn read_i64(bytes: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// Splits a produced record set into v2 batches, refusing anything malformed.
fn parse_batches(records: &[u8]) -> Result<Vec<ParsedBatch>, AppendError> {
    let mut batches = Vec::new();
    let mut at = 0;
    while at < records.len() {
        if records.len() - at < BATCH_HEADER_LEN {
            return Err(AppendError::Corrupt);
        }
        let magic = records[at + MAGIC];
        if magic < 2 {
            return Err(AppendError::OldMessageFormat);
        }
        if magic != 2 {
            return Err(AppendError::Corrupt);
        }
        let batch_length = read_i32(records, at + BATCH_LENGTH);
        let len = usize::try_from(batch_length)
            .ok()
            .and_then(|l| l.checked_add(LOG_OVERHEAD))
            .filter(|&l| l >= BATCH_HEADER_LEN && l <= records.len() - at)
            .ok_or(AppendError::Corrupt)?;
        let last_offset_delta = read_i32(records, at + LAST_OFFSET_DELTA);
        let record_count = read_i32(records, at + RECORD_COUNT);
        if last_offset_delta < 0 || record_count < 0 {
            return Err(AppendError::Corrupt);
        }
        let attributes =
            i16::from_be_bytes([records[at + ATTRIBUTES], records[at + ATTRIBUTES + 1]]);
        let transactional = attributes & TRANSACTIONAL_BIT != 0 && attributes & CONTROL_BIT == 0;
        batches.push(ParsedBatch {
            start: at,
            len,
            last_offset_delta: i64::from(last_offset_delta),
            max_timestamp: read_i64(records, at + MAX_TIMESTAMP),
            transactional_producer: transactional.then(|| read_i64(records, at + PRODUCER_ID)),
        });
        at += len;
    }
    if batches.is_empty() {
        return Err(AppendError::Corrupt);
    }
    Ok(batches)
}

/// Reads a zigzag varint (Kafka's record fields) at `at`, advancing it.
fn read_varlong(bytes: &[u8], at: &mut usize) -> Option<i64> {
    let mut value: u64 = 0;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(((value >> 1) as i64) ^ -((value & 1) as i64));
        }
    }
    None
}

/// (offset, timestamp) of every record of an uncompressed stored batch; `None` for a
/// compressed batch (kept compressed, so its records are opaque here) or a malformed one.
fn record_timestamps(batch: &StoredBatch) -> Option<Vec<(i64, i64)>> {
    let bytes = &batch.bytes[..];
    let attributes = i16::from_be_bytes([bytes[ATTRIBUTES], bytes[ATTRIBUTES + 1]]);
    if attributes & 0x07 != 0 {
        return None;
    }
    let base_timestamp = read_i64(bytes, BASE_TIMESTAMP);
    let count = read_i32(bytes, RECORD_COUNT);
    let mut at = BATCH_HEADER_LEN;
    let mut out = Vec::new();
    for _ in 0..count {
        let length = usize::try_from(read_varlong(bytes, &mut at)?).ok()?;
        let end = at.checked_add(length)?;
        let mut field = at + 1; // attributes
        let timestamp_delta = read_varlong(bytes, &mut field)?;
        let offset_delta = read_varlong(bytes, &mut field)?;
        out.push((
            batch.base_offset + offset_delta,
            base_timestamp + timestamp_delta,
        ));
        at = end;
    }
    Some(out)
}

impl PartitionLog {
    /// An empty log; with `log_append_time`, every batch appended gets the broker's time.
    pub(crate) fn new(log_append_time: bool) -> Self {
        Self {
            log_append_time,
            ..Self::default()
        }
    }

    /// Appends a produced record set, assigning offsets; returns the first batch's base offset.
    pub(crate) fn append(&self, records: &[u8]) -> Result<i64, AppendError> {
        let parsed = parse_batches(records)?;
        let first_offset;
        {
            let mut state = self.state.lock().expect("log lock");
            first_offset = state.next_offset;
            for batch in parsed {
                let mut bytes = BytesMut::from(&records[batch.start..batch.start + batch.len]);
                let base_offset = state.next_offset;
                // baseOffset and partitionLeaderEpoch lie outside the CRC, so rewriting them keeps
                // the batch valid; everything else stays as the producer sent it.
                bytes[BASE_OFFSET..BASE_OFFSET + 8].copy_from_slice(&base_offset.to_be_bytes());
                bytes[PARTITION_LEADER_EPOCH..PARTITION_LEADER_EPOCH + 4]
                    .copy_from_slice(&0i32.to_be_bytes());
                let mut max_timestamp = batch.max_timestamp;
                if self.log_append_time {
                    max_timestamp = now_millis();
                    stamp_log_append_time(&mut bytes, max_timestamp);
                }
                let last_offset = base_offset + batch.last_offset_delta;
                if let Some(producer_id) = batch.transactional_producer {
                    state
                        .open_transactions
                        .entry(producer_id)
                        .or_insert(base_offset);
                }
                state.batches.push(StoredBatch {
                    base_offset,
                    last_offset,
                    max_timestamp,
                    bytes: bytes.freeze(),
                });
                state.next_offset = last_offset + 1;
            }
        }
        self.appended.notify_waiters();
        Ok(first_offset)
    }

    /// Ends `producer_id`'s open transaction with a commit or abort marker (a control batch, as
    /// Kafka's transaction coordinator writes it). Returns the marker's offset.
    pub(crate) fn write_marker(&self, producer_id: i64, producer_epoch: i16, commit: bool) -> i64 {
        let offset;
        {
            let mut state = self.state.lock().expect("log lock");
            offset = state.next_offset;
            let timestamp = now_millis();
            let bytes = control_batch(offset, producer_id, producer_epoch, commit, timestamp);
            state.batches.push(StoredBatch {
                base_offset: offset,
                last_offset: offset,
                max_timestamp: timestamp,
                bytes,
            });
            state.next_offset = offset + 1;
            if let Some(first_offset) = state.open_transactions.remove(&producer_id) {
                if !commit {
                    state.aborted.push(AbortedRange {
                        producer_id,
                        first_offset,
                        last_offset: offset,
                    });
                }
            }
        }
        self.appended.notify_waiters();
        offset
    }

    /// The last stable offset: below it every transaction is committed or aborted.
    pub(crate) fn last_stable_offset(&self) -> i64 {
        self.state.lock().expect("log lock").last_stable_offset()
    }

    /// The offset the next appended record gets (the high watermark: every append is committed).
    pub(crate) fn high_watermark(&self) -> i64 {
        self.state.lock().expect("log lock").next_offset
    }

    /// The first offset still in the log.
    pub(crate) fn log_start_offset(&self) -> i64 {
        self.state.lock().expect("log lock").log_start_offset
    }

    /// Whole batches from the one holding `offset` on, at most `max_bytes` of them unless the
    /// first batch alone is larger and `allow_oversized_first` is set (Kafka returns it so
    /// consumers always make progress). `None` when `offset` is outside the log.
    pub(crate) fn read(
        &self,
        offset: i64,
        max_bytes: usize,
        allow_oversized_first: bool,
        read_committed: bool,
    ) -> Option<FetchedRecords> {
        let state = self.state.lock().expect("log lock");
        if offset < state.log_start_offset || offset > state.next_offset {
            return None;
        }
        let last_stable_offset = state.last_stable_offset();
        // read_committed stops at the last stable offset, as Kafka does.
        let upper = if read_committed {
            last_stable_offset
        } else {
            state.next_offset
        };
        let first = state.batches.partition_point(|b| b.last_offset < offset);
        let mut out = BytesMut::new();
        let mut last_read = offset - 1;
        for batch in &state.batches[first..] {
            if batch.last_offset >= upper {
                break;
            }
            let fits = out.len() + batch.bytes.len() <= max_bytes;
            if !(fits || (out.is_empty() && allow_oversized_first)) {
                break;
            }
            out.extend_from_slice(&batch.bytes);
            last_read = batch.last_offset;
        }
        let aborted = read_committed.then(|| {
            state
                .aborted
                .iter()
                .filter(|a| a.last_offset >= offset && a.first_offset <= last_read)
                .copied()
                .collect()
        });
        Some(FetchedRecords {
            records: out.freeze(),
            high_watermark: state.next_offset,
            last_stable_offset,
            log_start_offset: state.log_start_offset,
            aborted,
        })
    }

    /// The first record at or after `timestamp` (Kafka: the first batch whose max timestamp
    /// reaches it, then the first such record inside), with its timestamp; `None` when no record
    /// does (Kafka then answers offset -1). Inside a compressed batch the batch's base offset and
    /// max timestamp stand in, as its records are not decompressed here.
    pub(crate) fn offset_for_timestamp(&self, timestamp: i64) -> Option<(i64, i64)> {
        let state = self.state.lock().expect("log lock");
        let batch = state
            .batches
            .iter()
            .find(|b| b.max_timestamp >= timestamp)?;
        let exact = record_timestamps(batch)
            .and_then(|records| records.into_iter().find(|(_, ts)| *ts >= timestamp));
        let (offset, found) = exact.unwrap_or((batch.base_offset, batch.max_timestamp));
        Some((offset.max(state.log_start_offset), found))
    }

    /// The record with the largest timestamp, the earliest one on ties (ListOffsets -3).
    pub(crate) fn max_timestamp(&self) -> Option<(i64, i64)> {
        let state = self.state.lock().expect("log lock");
        let mut best: Option<&StoredBatch> = None;
        for b in &state.batches {
            if best.is_none_or(|x| b.max_timestamp > x.max_timestamp) {
                best = Some(b);
            }
        }
        let batch = best?;
        let exact = record_timestamps(batch).and_then(|records| {
            records
                .into_iter()
                .find(|(_, ts)| *ts == batch.max_timestamp)
        });
        Some(exact.unwrap_or((batch.last_offset, batch.max_timestamp)))
    }

    /// Resolves when the next append happens. Create it before checking the log, so an append
    /// in between is not missed.
    pub(crate) fn appended(&self) -> tokio::sync::futures::Notified<'_> {
        self.appended.notified()
    }

    /// Wakes every waiting fetch (topic deleted, broker shutting down).
    pub(crate) fn wake_all(&self) {
        self.appended.notify_waiters();
    }
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Marks a batch's timestamps as the broker's (`LogAppendTime`), as Kafka does on append: the
/// timestamp-type bit and the max timestamp change, so the CRC is computed again.
fn stamp_log_append_time(batch: &mut BytesMut, timestamp: i64) {
    let attributes = i16::from_be_bytes([batch[ATTRIBUTES], batch[ATTRIBUTES + 1]]) | (1 << 3);
    batch[ATTRIBUTES..ATTRIBUTES + 2].copy_from_slice(&attributes.to_be_bytes());
    batch[MAX_TIMESTAMP..MAX_TIMESTAMP + 8].copy_from_slice(&timestamp.to_be_bytes());
    let crc = crc32c::crc32c(&batch[ATTRIBUTES..]);
    batch[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
}

/// A control batch with one marker record, laid out as Kafka's `EndTransactionMarker` writes it:
/// key = version 0 + type (0 abort, 1 commit), value = version 0 + coordinator epoch.
fn control_batch(
    base_offset: i64,
    producer_id: i64,
    producer_epoch: i16,
    commit: bool,
    timestamp: i64,
) -> Bytes {
    let key = [0u8, 0, 0, u8::from(commit)];
    let value = [0u8; 6];
    // One record: length, attributes, timestamp delta 0, offset delta 0, key, value, 0 headers
    // (varints are zigzag: 4 → 8, 6 → 12).
    let mut record = vec![0u8, 0, 0, 8];
    record.extend_from_slice(&key);
    record.push(12);
    record.extend_from_slice(&value);
    record.push(0);
    let mut after_crc = BytesMut::new();
    after_crc.extend_from_slice(&(TRANSACTIONAL_BIT | CONTROL_BIT).to_be_bytes());
    after_crc.extend_from_slice(&0i32.to_be_bytes()); // last offset delta
    after_crc.extend_from_slice(&timestamp.to_be_bytes());
    after_crc.extend_from_slice(&timestamp.to_be_bytes());
    after_crc.extend_from_slice(&producer_id.to_be_bytes());
    after_crc.extend_from_slice(&producer_epoch.to_be_bytes());
    after_crc.extend_from_slice(&(-1i32).to_be_bytes()); // base sequence
    after_crc.extend_from_slice(&1i32.to_be_bytes()); // record count
    after_crc.extend_from_slice(&[(record.len() as u8) << 1]);
    after_crc.extend_from_slice(&record);
    let mut batch = BytesMut::with_capacity(LOG_OVERHEAD + 9 + after_crc.len());
    batch.extend_from_slice(&base_offset.to_be_bytes());
    batch.extend_from_slice(&((4 + 1 + 4 + after_crc.len()) as i32).to_be_bytes());
    batch.extend_from_slice(&0i32.to_be_bytes()); // partition leader epoch
    batch.extend_from_slice(&[2]); // magic
    batch.extend_from_slice(&crc32c::crc32c(&after_crc).to_be_bytes());
    batch.extend_from_slice(&after_crc);
    batch.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal v2 batch header with `count` records and the given max timestamp (the records
    /// themselves are not parsed by the log, so the body is opaque filler).
    pub(crate) fn batch(count: i32, max_timestamp: i64, body_len: usize) -> Vec<u8> {
        let mut b = vec![0u8; BATCH_HEADER_LEN + body_len];
        let batch_length = (b.len() - LOG_OVERHEAD) as i32;
        b[BATCH_LENGTH..BATCH_LENGTH + 4].copy_from_slice(&batch_length.to_be_bytes());
        b[MAGIC] = 2;
        b[LAST_OFFSET_DELTA..LAST_OFFSET_DELTA + 4].copy_from_slice(&(count - 1).to_be_bytes());
        b[MAX_TIMESTAMP..MAX_TIMESTAMP + 8].copy_from_slice(&max_timestamp.to_be_bytes());
        b[RECORD_COUNT..RECORD_COUNT + 4].copy_from_slice(&count.to_be_bytes());
        b
    }

    #[test]
    fn appends_assign_consecutive_base_offsets() {
        let log = PartitionLog::default();
        assert_eq!(log.append(&batch(3, 10, 5)), Ok(0));
        assert_eq!(log.append(&batch(2, 20, 5)), Ok(3));
        assert_eq!(log.high_watermark(), 5);
        let read = log.read(4, 1 << 20, true, false).expect("in range");
        assert_eq!(read_i64(&read.records, BASE_OFFSET), 3);
    }

    #[test]
    fn malformed_record_sets_are_refused() {
        let log = PartitionLog::default();
        assert_eq!(log.append(&[1, 2, 3]), Err(AppendError::Corrupt));
        let mut old = batch(1, 0, 0);
        old[MAGIC] = 1;
        assert_eq!(log.append(&old), Err(AppendError::OldMessageFormat));
        let mut truncated = batch(1, 0, 10);
        truncated.truncate(BATCH_HEADER_LEN + 2);
        assert_eq!(log.append(&truncated), Err(AppendError::Corrupt));
        assert_eq!(log.high_watermark(), 0);
    }

    #[test]
    fn reads_stop_at_max_bytes_but_return_one_oversized_batch() {
        let log = PartitionLog::default();
        log.append(&batch(1, 0, 100)).unwrap();
        log.append(&batch(1, 0, 100)).unwrap();
        let one = log.read(0, 10, true, false).unwrap();
        assert_eq!(one.records.len(), BATCH_HEADER_LEN + 100);
        assert!(log.read(0, 10, false, false).unwrap().records.is_empty());
        assert!(log.read(3, 10, true, false).is_none());
    }

    #[test]
    fn timestamps_inside_an_uncompressed_batch_find_the_exact_record() {
        use kafka_protocol::records::{
            Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
        };
        let records: Vec<Record> = [100i64, 300, 200]
            .iter()
            .enumerate()
            .map(|(i, ts)| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                sequence: i as i32 - 1,
                timestamp: *ts,
                key: None,
                value: Some(bytes::Bytes::from_static(b"v")),
                headers: Default::default(),
            })
            .collect();
        let mut buf = BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        };
        RecordBatchEncoder::encode(&mut buf, &records, &options).unwrap();
        let log = PartitionLog::default();
        log.append(&batch(2, 50, 0)).unwrap();
        assert_eq!(log.append(&buf), Ok(2));
        assert_eq!(log.offset_for_timestamp(150), Some((3, 300)));
        assert_eq!(log.offset_for_timestamp(60), Some((2, 100)));
        assert_eq!(log.max_timestamp(), Some((3, 300)));
    }

    #[test]
    fn timestamps_find_the_first_batch_at_or_after() {
        let log = PartitionLog::default();
        log.append(&batch(2, 100, 0)).unwrap();
        log.append(&batch(2, 200, 0)).unwrap();
        assert_eq!(log.offset_for_timestamp(150), Some((2, 200)));
        assert_eq!(log.offset_for_timestamp(50), Some((0, 100)));
        assert_eq!(log.offset_for_timestamp(250), None);
        assert_eq!(log.max_timestamp(), Some((3, 200)));
    }
}
