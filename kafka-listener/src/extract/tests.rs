//! Every extractor against hand-built records: payloads, tombstones, keys, headers (ordered,
//! duplicated, null), metadata, typed records, state, acknowledgments and batches.

use super::*;
use crate::ack::tests::{AckCall, RecordingSink};
use crate::{Acknowledgment, BatchAcknowledgment, ConsumerRecord, Headers, TimestampType};
use bytes::Bytes;
use std::sync::Arc;

#[derive(Debug, PartialEq, serde::Deserialize)]
struct Order {
    id: u64,
}

fn record(key: Option<&[u8]>, value: Option<&[u8]>) -> ConsumerRecord {
    ConsumerRecord {
        topic: "orders".into(),
        partition: 3,
        offset: 42,
        timestamp: 1_700_000_000_123,
        timestamp_type: TimestampType::LogAppendTime,
        key: key.map(Bytes::copy_from_slice),
        value: value.map(Bytes::copy_from_slice),
        headers: Headers::new(),
    }
}

fn ctx(record: ConsumerRecord) -> RecordContext {
    RecordContext::new(record, Arc::new(RecordingSink::default()))
}

fn value(bytes: &[u8]) -> RecordContext {
    ctx(record(None, Some(bytes)))
}

fn tombstone() -> RecordContext {
    ctx(record(Some(b"k"), None))
}

fn with_headers(headers: &[(&str, Option<&[u8]>)]) -> RecordContext {
    let mut r = record(None, Some(b"v"));
    for (name, value) in headers {
        r.headers.push(*name, value.map(Bytes::copy_from_slice));
    }
    ctx(r)
}

fn extract<T: FromRecord>(ctx: &RecordContext) -> Result<T, ExtractError> {
    T::from_record(ctx).map_err(Into::into)
}

#[test]
fn json_payload_deserializes_the_value() {
    let Json(order) = extract::<Json<Order>>(&value(br#"{"id":7}"#)).unwrap();
    assert_eq!(order, Order { id: 7 });
}

#[test]
fn bad_json_is_a_deserialization_error_carrying_raw_bytes_position_and_cause() {
    let err = extract::<Json<Order>>(&value(b"{\"id\": oops")).unwrap_err();
    let ExtractError::Deserialization(e) = &err else {
        panic!("expected a deserialization error, got {err:?}");
    };
    assert_eq!(e.raw, Bytes::from_static(b"{\"id\": oops"));
    assert_eq!((e.topic.as_str(), e.partition, e.offset), ("orders", 3, 42));
    assert_eq!(e.part, RecordPart::Value);
    assert!(e.target.contains("Json"), "{}", e.target);
    assert!(e.source.is::<serde_json::Error>());
    let message = err.to_string();
    assert!(message.contains("orders-3@42"), "{message}");
}

#[test]
fn json_of_the_wrong_shape_is_an_error_value_too() {
    let err = extract::<Json<Order>>(&value(br#"{"id":"seven"}"#)).unwrap_err();
    assert!(err.as_deserialization().is_some(), "{err:?}");
}

#[test]
fn string_payload_is_utf8_and_invalid_utf8_is_an_error_value() {
    assert_eq!(
        extract::<String>(&value("héllo".as_bytes())).unwrap(),
        "héllo"
    );
    let err = extract::<String>(&value(&[0xff, 0xfe])).unwrap_err();
    assert_eq!(err.as_deserialization().unwrap().raw, [0xff, 0xfe][..]);
}

#[test]
fn bytes_and_byte_vec_payloads_are_the_raw_value() {
    assert_eq!(extract::<Bytes>(&value(&[0, 1, 2])).unwrap(), [0, 1, 2][..]);
    assert_eq!(extract::<Vec<u8>>(&value(&[0, 1, 2])).unwrap(), [0, 1, 2]);
    assert_eq!(extract::<Vec<u8>>(&value(b"")).unwrap(), Vec::<u8>::new());
}

#[test]
fn a_tombstone_for_a_required_payload_is_a_null_value_error() {
    for err in [
        extract::<String>(&tombstone()).unwrap_err(),
        extract::<Json<Order>>(&tombstone()).unwrap_err(),
        extract::<Bytes>(&tombstone()).unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                ExtractError::NullValue {
                    partition: 3,
                    offset: 42,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("take `Option<"), "{err}");
    }
}

#[test]
fn optional_payloads_are_none_for_tombstones_and_decode_otherwise() {
    assert_eq!(extract::<Option<String>>(&tombstone()).unwrap(), None);
    assert_eq!(extract::<Option<Json<Order>>>(&tombstone()).unwrap(), None);
    assert_eq!(
        extract::<Option<Json<Order>>>(&value(br#"{"id":1}"#)).unwrap(),
        Some(Json(Order { id: 1 }))
    );
    // An empty value is not a tombstone.
    assert_eq!(
        extract::<Option<String>>(&value(b"")).unwrap(),
        Some(String::new())
    );
}

#[test]
fn optional_payloads_still_reject_bytes_that_do_not_decode() {
    let err = extract::<Option<Json<Order>>>(&value(b"nope")).unwrap_err();
    assert!(err.as_deserialization().is_some(), "{err:?}");
}

#[test]
fn keys_decode_with_any_codec() {
    let c = ctx(record(Some(br#"{"id":9}"#), Some(b"v")));
    assert_eq!(*extract::<Key<String>>(&c).unwrap(), r#"{"id":9}"#);
    assert_eq!(
        extract::<Key<Json<Order>>>(&c).unwrap().0 .0,
        Order { id: 9 }
    );
    assert_eq!(
        extract::<Key<Bytes>>(&c).unwrap().into_inner(),
        br#"{"id":9}"#[..]
    );
    assert_eq!(
        extract::<Option<Key<Vec<u8>>>>(&c).unwrap().unwrap().0,
        br#"{"id":9}"#
    );
}

#[test]
fn a_null_key_is_an_error_for_key_and_none_for_an_optional_key() {
    let c = ctx(record(None, Some(b"v")));
    let err = extract::<Key<String>>(&c).unwrap_err();
    assert!(
        matches!(err, ExtractError::NullKey { offset: 42, .. }),
        "{err:?}"
    );
    assert_eq!(extract::<Option<Key<String>>>(&c).unwrap(), None);
}

#[test]
fn a_key_that_does_not_decode_names_the_key_as_the_failing_part() {
    let c = ctx(record(Some(b"not json"), Some(b"v")));
    let err = extract::<Key<Json<Order>>>(&c).unwrap_err();
    let e = err.as_deserialization().unwrap();
    assert_eq!(e.part, RecordPart::Key);
    assert_eq!(e.raw, "not json");
}

#[test]
fn headers_keep_wire_order_duplicates_and_null_values() {
    let c = with_headers(&[("a", Some(b"1")), ("b", None), ("a", Some(b"2"))]);
    let headers = extract::<Headers>(&c).unwrap();
    let seen: Vec<(&str, Option<&[u8]>)> = headers
        .iter()
        .map(|h| (h.name.as_str(), h.value.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [("a", Some(&b"1"[..])), ("b", None), ("a", Some(&b"2"[..]))]
    );
}

#[test]
fn a_header_by_name_reads_its_last_value() {
    let c = with_headers(&[("trace", Some(b"t1")), ("trace", Some(b"t2"))]);
    assert_eq!(String::from_header(&c, "trace").unwrap(), "t2");
    assert_eq!(
        Option::<Bytes>::from_header(&c, "trace").unwrap().unwrap(),
        "t2"
    );
}

#[test]
fn an_absent_or_null_header_is_an_error_when_required_and_none_when_optional() {
    let c = with_headers(&[("null", None)]);
    let missing = String::from_header(&c, "absent").unwrap_err();
    assert!(matches!(missing, ExtractError::MissingHeader { ref name } if name == "absent"));
    let null = String::from_header(&c, "null").unwrap_err();
    assert!(matches!(null, ExtractError::NullHeader { ref name } if name == "null"));
    assert_eq!(Option::<String>::from_header(&c, "absent").unwrap(), None);
    assert_eq!(Option::<String>::from_header(&c, "null").unwrap(), None);
}

#[test]
fn a_header_that_does_not_decode_is_an_error_even_when_optional() {
    let c = with_headers(&[("count", Some(b"\xff"))]);
    let err = Option::<String>::from_header(&c, "count").unwrap_err();
    let e = err.as_deserialization().unwrap();
    assert_eq!(e.part, RecordPart::Header("count".into()));
    assert_eq!(e.raw, [0xff][..]);
}

#[test]
fn record_meta_carries_position_and_timestamp() {
    let meta = extract::<RecordMeta>(&value(b"v")).unwrap();
    assert_eq!(
        meta,
        RecordMeta {
            topic: "orders".into(),
            partition: 3,
            offset: 42,
            timestamp: 1_700_000_000_123,
            timestamp_type: TimestampType::LogAppendTime,
        }
    );
}

#[test]
fn a_typed_consumer_record_decodes_key_and_value_and_keeps_nulls() {
    let mut raw = record(Some(b"k1"), Some(br#"{"id":5}"#));
    raw.headers.push("h", Some("x"));
    let typed = extract::<ConsumerRecord<String, Json<Order>>>(&ctx(raw.clone())).unwrap();
    assert_eq!(typed.key.as_deref(), Some("k1"));
    assert_eq!(typed.value, Some(Json(Order { id: 5 })));
    assert_eq!(typed.headers, raw.headers);
    assert_eq!((typed.partition, typed.offset), (3, 42));

    let untyped = extract::<ConsumerRecord>(&ctx(raw.clone())).unwrap();
    assert_eq!(untyped, raw);

    let deleted = extract::<ConsumerRecord<String, Json<Order>>>(&tombstone()).unwrap();
    assert_eq!(deleted.value, None);
}

#[test]
fn a_typed_consumer_record_with_a_bad_value_is_an_error_value() {
    let c = ctx(record(Some(b"k"), Some(b"[")));
    let err = extract::<ConsumerRecord<String, Json<Order>>>(&c).unwrap_err();
    assert_eq!(err.as_deserialization().unwrap().part, RecordPart::Value);
}

#[test]
fn the_acknowledgment_extractor_acknowledges_this_record_through_the_sink() {
    let sink = Arc::new(RecordingSink::default());
    let c = RecordContext::new(record(None, Some(b"v")), sink.clone());
    extract::<Acknowledgment>(&c).unwrap().acknowledge();
    assert_eq!(sink.calls(), [AckCall::Ack("orders".into(), 3, 42)]);
}

#[test]
fn state_is_shared_and_missing_state_is_an_error_naming_the_type() {
    struct Db(&'static str);
    let c = value(b"v").with_state(AppState::new().with(Db("pg")));
    assert_eq!(extract::<State<Db>>(&c).unwrap().0 .0, "pg");
    let err = extract::<State<u64>>(&c).unwrap_err();
    assert!(
        matches!(err, ExtractError::MissingState { type_name: "u64" }),
        "{err:?}"
    );
}

#[test]
fn listener_info_names_the_listener_and_group() {
    let c = value(b"v").with_listener(ListenerInfo::new("on_order", Some("billing")));
    let info = extract::<ListenerInfo>(&c).unwrap();
    assert_eq!(&*info.id, "on_order");
    assert_eq!(info.group_id.as_deref(), Some("billing"));
}

#[test]
fn users_can_write_their_own_extractor_with_their_own_rejection() {
    #[derive(Debug)]
    struct Tenant(String);

    #[derive(Debug, thiserror::Error)]
    #[error("no tenant header")]
    struct NoTenant;

    impl From<NoTenant> for ExtractError {
        fn from(e: NoTenant) -> Self {
            ExtractError::custom(e)
        }
    }

    impl FromRecord for Tenant {
        type Rejection = NoTenant;
        fn from_record(ctx: &RecordContext) -> Result<Self, NoTenant> {
            let raw = ctx.record().headers.last_value("tenant").ok_or(NoTenant)?;
            Ok(Tenant(String::from_utf8_lossy(&raw).into_owned()))
        }
    }

    let c = with_headers(&[("tenant", Some(b"acme"))]);
    assert_eq!(extract::<Tenant>(&c).unwrap().0, "acme");
    let err = extract::<Tenant>(&value(b"v")).unwrap_err();
    assert!(matches!(err, ExtractError::Custom(ref e) if e.is::<NoTenant>()));
}

fn batch(values: &[&'static [u8]]) -> (Arc<RecordingSink>, BatchContext) {
    let sink = Arc::new(RecordingSink::default());
    let records = values
        .iter()
        .enumerate()
        .map(|(i, v)| ConsumerRecord {
            offset: 100 + i as i64,
            ..record(None, Some(v))
        })
        .collect();
    let ctx = BatchContext::new(records, sink.clone())
        .with_state(AppState::new().with(7u8))
        .with_listener(ListenerInfo::new("stats", Some("g")));
    (sink, ctx)
}

#[test]
fn a_vec_batch_extracts_every_record_in_order() {
    let (_, c) = batch(&[br#"{"id":1}"#, br#"{"id":2}"#]);
    let orders = Vec::<Json<Order>>::from_batch(&c).unwrap();
    assert_eq!(orders, [Json(Order { id: 1 }), Json(Order { id: 2 })]);
    let metas = Vec::<RecordMeta>::from_batch(&c).unwrap();
    assert_eq!(
        metas.iter().map(|m| m.offset).collect::<Vec<_>>(),
        [100, 101]
    );
}

#[test]
fn a_vec_batch_fails_on_the_first_bad_record_naming_its_index() {
    let (_, c) = batch(&[br#"{"id":1}"#, b"bad", b"worse"]);
    let err = Vec::<Json<Order>>::from_batch(&c).unwrap_err();
    assert!(
        matches!(err, ExtractError::InBatch { index: 1, .. }),
        "{err:?}"
    );
    assert_eq!(err.as_deserialization().unwrap().raw, "bad");
    assert_eq!(err.as_deserialization().unwrap().offset, 101);
}

#[test]
fn a_batch_keeps_each_records_result_and_position() {
    let (_, c) = batch(&[br#"{"id":1}"#, b"bad", br#"{"id":3}"#]);
    let orders = Batch::<Json<Order>>::from_batch(&c).unwrap();
    assert_eq!(orders.len(), 3);
    assert_eq!(orders.values().map(|o| o.id).collect::<Vec<_>>(), [1, 3]);
    let failures: Vec<usize> = orders.failures().map(|(i, _)| i).collect();
    assert_eq!(failures, [1]);
    let offsets: Vec<i64> = orders.iter().map(|e| e.meta.offset).collect();
    assert_eq!(offsets, [100, 101, 102]);
}

#[test]
fn batch_records_share_the_batch_state_and_listener() {
    let (_, c) = batch(&[b"a", b"b"]);
    assert_eq!(*State::<u8>::from_batch(&c).unwrap(), 7);
    assert_eq!(&*ListenerInfo::from_batch(&c).unwrap().id, "stats");
    let per_record = Vec::<State<u8>>::from_batch(&c).unwrap();
    assert!(per_record.iter().all(|s| **s == 7));
}

#[test]
fn the_batch_acknowledgment_extractor_acknowledges_every_record() {
    let (sink, c) = batch(&[b"a", b"b"]);
    BatchAcknowledgment::from_batch(&c).unwrap().acknowledge();
    assert_eq!(
        sink.calls(),
        [
            AckCall::Ack("orders".into(), 3, 100),
            AckCall::Ack("orders".into(), 3, 101)
        ]
    );
}

#[test]
fn an_empty_batch_extracts_empty_collections() {
    let (_, c) = batch(&[]);
    assert!(Vec::<String>::from_batch(&c).unwrap().is_empty());
    assert!(Batch::<String>::from_batch(&c).unwrap().is_empty());
}
