use super::*;
use bytes::{BufMut, BytesMut};

/// One record as a test writes it.
#[derive(Clone, Default)]
struct TestRecord {
    key: Option<&'static [u8]>,
    value: Option<&'static [u8]>,
    headers: Vec<(&'static str, Option<&'static [u8]>)>,
    timestamp_delta: i64,
}

fn record(value: &'static [u8]) -> TestRecord {
    TestRecord {
        key: Some(b"k"),
        value: Some(value),
        ..TestRecord::default()
    }
}

#[derive(Clone, Copy)]
struct BatchSpec {
    base_offset: i64,
    producer_id: i64,
    transactional: bool,
    control: bool,
    log_append_time: bool,
    compression: i16,
}

impl BatchSpec {
    fn at(base_offset: i64) -> Self {
        Self {
            base_offset,
            producer_id: -1,
            transactional: false,
            control: false,
            log_append_time: false,
            compression: 0,
        }
    }

    fn transactional(mut self, producer_id: i64) -> Self {
        self.transactional = true;
        self.producer_id = producer_id;
        self
    }
}

fn put_varint(buf: &mut BytesMut, value: i64) {
    let mut zigzag = ((value << 1) ^ (value >> 63)) as u64;
    loop {
        if zigzag < 0x80 {
            buf.put_u8(zigzag as u8);
            return;
        }
        buf.put_u8((zigzag as u8 & 0x7f) | 0x80);
        zigzag >>= 7;
    }
}

fn put_nullable(buf: &mut BytesMut, bytes: Option<&[u8]>) {
    match bytes {
        None => put_varint(buf, -1),
        Some(bytes) => {
            put_varint(buf, bytes.len() as i64);
            buf.put_slice(bytes);
        }
    }
}

fn encode_records(records: &[TestRecord]) -> BytesMut {
    let mut body = BytesMut::new();
    for (delta, r) in records.iter().enumerate() {
        let mut one = BytesMut::new();
        one.put_i8(0);
        put_varint(&mut one, r.timestamp_delta);
        put_varint(&mut one, delta as i64);
        put_nullable(&mut one, r.key);
        put_nullable(&mut one, r.value);
        put_varint(&mut one, r.headers.len() as i64);
        for (name, value) in &r.headers {
            put_nullable(&mut one, Some(name.as_bytes()));
            put_nullable(&mut one, *value);
        }
        put_varint(&mut body, one.len() as i64);
        body.put_slice(&one);
    }
    body
}

fn compress(codec: i16, plain: BytesMut) -> BytesMut {
    use kafka_protocol::compression::Compressor;
    let mut out = BytesMut::new();
    let write = |buf: &mut BytesMut| {
        buf.put_slice(&plain);
        Ok(())
    };
    match codec {
        0 => return plain,
        1 => Gzip::compress(&mut out, write),
        2 => Snappy::compress(&mut out, write),
        3 => Lz4::compress(&mut out, write),
        4 => Zstd::compress(&mut out, write),
        _ => unreachable!(),
    }
    .unwrap();
    out
}

/// A v2 record batch, CRC and all, as a broker stores it.
fn batch(spec: BatchSpec, records: &[TestRecord]) -> Bytes {
    let body = compress(spec.compression, encode_records(records));
    let mut attributes = spec.compression;
    if spec.log_append_time {
        attributes |= TIMESTAMP_TYPE_BIT;
    }
    if spec.transactional {
        attributes |= TRANSACTIONAL_BIT;
    }
    if spec.control {
        attributes |= CONTROL_BIT;
    }
    let mut after_crc = BytesMut::new();
    after_crc.put_i16(attributes);
    after_crc.put_i32(records.len() as i32 - 1);
    after_crc.put_i64(1_000); // base timestamp
    after_crc.put_i64(9_000); // max timestamp
    after_crc.put_i64(spec.producer_id);
    after_crc.put_i16(0);
    after_crc.put_i32(0);
    after_crc.put_i32(records.len() as i32);
    after_crc.put_slice(&body);
    let mut out = BytesMut::new();
    out.put_i64(spec.base_offset);
    out.put_i32((4 + 1 + 4 + after_crc.len()) as i32);
    out.put_i32(0); // partition leader epoch
    out.put_i8(2);
    out.put_u32(crc32c::crc32c(&after_crc));
    out.put_slice(&after_crc);
    out.freeze()
}

fn marker(base_offset: i64, producer_id: i64, kind: i16) -> Bytes {
    let key: &'static [u8] = Box::leak(Box::new([0u8, 0, (kind >> 8) as u8, kind as u8]));
    let mut spec = BatchSpec::at(base_offset).transactional(producer_id);
    spec.control = true;
    batch(
        spec,
        &[TestRecord {
            key: Some(key),
            value: Some(&[0, 0, 0, 0, 0, 0]),
            ..TestRecord::default()
        }],
    )
}

fn concat(batches: &[Bytes]) -> Bytes {
    let mut out = BytesMut::new();
    for b in batches {
        out.put_slice(b);
    }
    out.freeze()
}

fn decoder(position: i64) -> BatchDecoder<'static> {
    BatchDecoder {
        topic: "orders",
        partition: 1,
        position,
        check_crcs: true,
        aborted: None,
    }
}

fn offsets(decoded: &DecodedRecords) -> Vec<i64> {
    decoded.records.iter().map(|r| r.offset).collect()
}

#[test]
fn null_header_values_and_duplicate_header_names_arrive_in_wire_order() {
    let bytes = batch(
        BatchSpec::at(0),
        &[TestRecord {
            key: None,
            value: None,
            headers: vec![("h", Some(b"1")), ("h", None), ("other", Some(b""))],
            ..TestRecord::default()
        }],
    );
    let decoded = decoder(0).decode(bytes);
    let record = &decoded.records[0];
    assert_eq!(record.key, None);
    assert_eq!(record.value, None, "a tombstone stays a tombstone");
    let headers: Vec<_> = record
        .headers
        .iter()
        .map(|h| (h.name.as_str(), h.value.as_deref()))
        .collect();
    assert_eq!(
        headers,
        [
            ("h", Some(&b"1"[..])),
            ("h", None),
            ("other", Some(&b""[..]))
        ]
    );
    assert_eq!(decoded.next_position, Some(1));
}

#[test]
fn every_codec_kafka_writes_decodes_to_the_same_records() {
    for codec in 0..=4 {
        let mut spec = BatchSpec::at(10);
        spec.compression = codec;
        let bytes = batch(spec, &[record(b"a"), record(b"b"), record(b"c")]);
        let decoded = decoder(10).decode(bytes);
        assert_eq!(offsets(&decoded), [10, 11, 12], "codec {codec}");
        let values: Vec<_> = decoded
            .records
            .iter()
            .map(|r| r.value.clone().unwrap())
            .collect();
        assert_eq!(values, ["a", "b", "c"], "codec {codec}");
        assert!(decoded.corrupt.is_none());
    }
}

#[test]
fn create_time_adds_the_delta_and_log_append_time_takes_the_batch_time() {
    let mut first = record(b"a");
    first.timestamp_delta = 5;
    let create = decoder(0).decode(batch(BatchSpec::at(0), &[first.clone()]));
    assert_eq!(create.records[0].timestamp, 1_005);
    assert_eq!(create.records[0].timestamp_type, TimestampType::CreateTime);

    let mut spec = BatchSpec::at(0);
    spec.log_append_time = true;
    let append = decoder(0).decode(batch(spec, &[first]));
    assert_eq!(append.records[0].timestamp, 9_000);
    assert_eq!(
        append.records[0].timestamp_type,
        TimestampType::LogAppendTime
    );
}

#[test]
fn records_before_the_position_are_dropped_from_a_batch_that_starts_earlier() {
    let bytes = batch(
        BatchSpec::at(0),
        &[record(b"a"), record(b"b"), record(b"c")],
    );
    let decoded = decoder(2).decode(bytes);
    assert_eq!(offsets(&decoded), [2]);
    assert_eq!(decoded.next_position, Some(3));
}

#[test]
fn a_partial_batch_at_the_end_of_the_response_is_left_for_the_next_fetch() {
    let whole = batch(BatchSpec::at(0), &[record(b"a")]);
    let next = batch(BatchSpec::at(1), &[record(b"b")]);
    let cut = concat(&[whole, next.slice(..next.len() - 3)]);
    let decoded = decoder(0).decode(cut);
    assert_eq!(offsets(&decoded), [0]);
    assert_eq!(decoded.next_position, Some(1));
    assert!(decoded.corrupt.is_none());
}

#[test]
fn a_control_batch_at_the_end_moves_the_position_past_it_without_records() {
    let bytes = concat(&[
        batch(BatchSpec::at(0).transactional(7), &[record(b"a")]),
        marker(1, 7, 1),
    ]);
    let decoded = decoder(0).decode(bytes);
    assert_eq!(offsets(&decoded), [0]);
    assert_eq!(decoded.next_position, Some(2), "past the commit marker");

    let only_marker = decoder(1).decode(marker(1, 7, 1));
    assert!(only_marker.records.is_empty());
    assert_eq!(only_marker.next_position, Some(2));
}

#[test]
fn read_committed_drops_aborted_transactions_and_keeps_committed_ones() {
    // Producer 7 aborts offsets 0-1 (marker at 2); producer 8 commits 3-4 (marker at 5); a
    // plain record follows at 6.
    let bytes = concat(&[
        batch(
            BatchSpec::at(0).transactional(7),
            &[record(b"x"), record(b"y")],
        ),
        marker(2, 7, ABORT_MARKER),
        batch(
            BatchSpec::at(3).transactional(8),
            &[record(b"c1"), record(b"c2")],
        ),
        marker(5, 8, 1),
        batch(BatchSpec::at(6), &[record(b"plain")]),
    ]);
    let aborted = [AbortedTransaction {
        producer_id: 7,
        first_offset: 0,
    }];
    let committed = BatchDecoder {
        aborted: Some(&aborted),
        ..decoder(0)
    }
    .decode(bytes.clone());
    assert_eq!(offsets(&committed), [3, 4, 6]);
    assert_eq!(committed.next_position, Some(7));

    let uncommitted = decoder(0).decode(bytes);
    assert_eq!(offsets(&uncommitted), [0, 1, 3, 4, 6]);
}

#[test]
fn a_producer_is_aborted_only_from_its_transactions_first_offset() {
    // Producer 7 commits 0 (marker 1), then aborts 2 (marker 3).
    let bytes = concat(&[
        batch(BatchSpec::at(0).transactional(7), &[record(b"kept")]),
        marker(1, 7, 1),
        batch(BatchSpec::at(2).transactional(7), &[record(b"dropped")]),
        marker(3, 7, ABORT_MARKER),
    ]);
    let aborted = [AbortedTransaction {
        producer_id: 7,
        first_offset: 2,
    }];
    let decoded = BatchDecoder {
        aborted: Some(&aborted),
        ..decoder(0)
    }
    .decode(bytes);
    assert_eq!(offsets(&decoded), [0]);
    assert_eq!(decoded.next_position, Some(4));
}

#[test]
fn a_batch_failing_its_crc_is_reported_with_its_bytes_and_skipped() {
    let good = batch(BatchSpec::at(0), &[record(b"a")]);
    let mut bad = BytesMut::from(&batch(BatchSpec::at(1), &[record(b"b"), record(b"c")])[..]);
    bad[36] ^= 0xff; // inside maxTimestamp: only the CRC notices
    let bad = bad.freeze();
    let decoded = decoder(0).decode(concat(&[good, bad.clone()]));
    assert_eq!(
        offsets(&decoded),
        [0],
        "records before the corrupt batch arrive"
    );
    let corrupt = decoded.corrupt.expect("corrupt batch reported");
    assert_eq!((corrupt.base_offset, corrupt.last_offset), (1, 2));
    assert!(corrupt.reason.contains("CRC"), "{}", corrupt.reason);
    assert_eq!(corrupt.bytes, bad);
    assert_eq!(
        decoded.next_position,
        Some(3),
        "consumption resumes after it"
    );

    let unchecked = BatchDecoder {
        check_crcs: false,
        ..decoder(1)
    }
    .decode(bad);
    assert!(
        unchecked.corrupt.is_none(),
        "check.crcs=false skips the check"
    );
}

#[test]
fn a_truncated_record_inside_a_whole_batch_is_corrupt_not_a_panic() {
    let mut bytes = BytesMut::from(&batch(BatchSpec::at(0), &[record(b"abc")])[..]);
    // Claim a longer value than the record holds, then fix the CRC so only parsing fails.
    let value_len_at = bytes.len() - 5;
    bytes[value_len_at] = 40;
    let crc = crc32c::crc32c(&bytes[ATTRIBUTES..]);
    bytes[CRC..CRC + 4].copy_from_slice(&crc.to_be_bytes());
    let decoded = decoder(0).decode(bytes.freeze());
    assert!(decoded.records.is_empty());
    assert!(decoded.corrupt.is_some());
    assert_eq!(decoded.next_position, Some(1));
}

#[test]
fn arbitrary_bytes_never_panic() {
    let seed = concat(&[
        batch(BatchSpec::at(0), &[record(b"a"), record(b"b")]),
        marker(2, 7, 1),
    ]);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..2_000 {
        let mut bytes = BytesMut::from(&seed[..]);
        for _ in 0..4 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let at = (state as usize) % bytes.len();
            bytes[at] = (state >> 32) as u8;
        }
        let cut = (state >> 40) as usize % (bytes.len() + 1);
        for check_crcs in [true, false] {
            let _ = BatchDecoder {
                check_crcs,
                ..decoder(0)
            }
            .decode(bytes.clone().freeze().slice(..cut));
        }
    }
}
