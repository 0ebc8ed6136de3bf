//! Where the fields of a v2 record batch header lie (Kafka's `DefaultRecordBatch`), and the
//! attribute bits: one definition for the fetcher that reads batches and the embedded broker
//! that stores, stamps and writes them.

/// `baseOffset` (int64).
pub(crate) const BASE_OFFSET: usize = 0;
/// `batchLength` (int32): the bytes after this field.
pub(crate) const BATCH_LENGTH: usize = 8;
/// `partitionLeaderEpoch` (int32); only the embedded broker rewrites it.
#[cfg_attr(not(feature = "embedded"), allow(dead_code))]
pub(crate) const PARTITION_LEADER_EPOCH: usize = 12;
/// `magic` (int8): 2.
pub(crate) const MAGIC: usize = 16;
/// `crc` (uint32, CRC-32C of everything from `attributes` on).
pub(crate) const CRC: usize = 17;
/// `attributes` (int16).
pub(crate) const ATTRIBUTES: usize = 21;
/// `lastOffsetDelta` (int32).
pub(crate) const LAST_OFFSET_DELTA: usize = 23;
/// `baseTimestamp` (int64).
pub(crate) const BASE_TIMESTAMP: usize = 27;
/// `maxTimestamp` (int64).
pub(crate) const MAX_TIMESTAMP: usize = 35;
/// `producerId` (int64).
pub(crate) const PRODUCER_ID: usize = 43;
/// `recordCount` (int32).
pub(crate) const RECORD_COUNT: usize = 57;
/// The fixed header's length: the records start here.
pub(crate) const BATCH_HEADER_LEN: usize = 61;
/// Bytes before `batchLength` counts: `baseOffset` and `batchLength` themselves.
pub(crate) const LOG_OVERHEAD: usize = 12;

/// `attributes` bits 0-2: the compression codec.
pub(crate) const COMPRESSION_MASK: i16 = 0x07;
/// `attributes` bit 3: LogAppendTime.
pub(crate) const TIMESTAMP_TYPE_BIT: i16 = 1 << 3;
/// `attributes` bit 4: part of a transaction.
pub(crate) const TRANSACTIONAL_BIT: i16 = 1 << 4;
/// `attributes` bit 5: a control batch (transaction markers).
pub(crate) const CONTROL_BIT: i16 = 1 << 5;
