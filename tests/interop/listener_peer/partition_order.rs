//! Comparing what a listener handled with what a producer wrote, partition by partition: Kafka
//! orders records only within a partition, so that is the order a listener must keep.

use std::collections::BTreeMap;

use bytes::Bytes;
use kafka_listener::ConsumerRecord;

type Record = ConsumerRecord<Bytes, Bytes>;

/// `got` (in handling order) holds exactly `want`'s records, each once, and within every topic
/// partition in `want`'s order; compared byte for byte: offset, key, value (`None` and empty
/// differ), headers in order with their null values, and the timestamp type. Timestamps are left
/// to the caller (a LogAppendTime timestamp is the broker's to choose).
pub(crate) fn same_records_per_partition(want: &[Record], got: &[Record]) -> Result<(), String> {
    let want = by_partition(want);
    let mut got = by_partition(got);
    for ((topic, partition), want) in &want {
        let got = got.remove(&(topic.clone(), *partition)).unwrap_or_default();
        let place = format!("{topic} partition {partition}");
        for (n, (w, g)) in want.iter().zip(&got).enumerate() {
            let difference = difference(w, g);
            if let Some(difference) = difference {
                return Err(format!(
                    "{place}: record {n} handled is offset {}, expected offset {}: {difference}",
                    g.offset, w.offset
                ));
            }
        }
        if got.len() != want.len() {
            let extra = got
                .get(want.len())
                .map(|r| format!(", first extra at offset {}", r.offset));
            return Err(format!(
                "{place}: handled {} records, expected {}{}",
                got.len(),
                want.len(),
                extra.unwrap_or_default()
            ));
        }
    }
    if let Some(((topic, partition), records)) = got.into_iter().next() {
        return Err(format!(
            "{} records from {topic} partition {partition}, which should hold none",
            records.len()
        ));
    }
    Ok(())
}

fn by_partition(records: &[Record]) -> BTreeMap<(String, i32), Vec<&Record>> {
    let mut partitions: BTreeMap<_, Vec<_>> = BTreeMap::new();
    for record in records {
        partitions
            .entry((record.topic.clone(), record.partition))
            .or_default()
            .push(record);
    }
    partitions
}

/// What differs between an expected and a handled record, if anything (timestamps aside).
fn difference(want: &Record, got: &Record) -> Option<String> {
    if got.offset != want.offset {
        Some("offset differs".to_owned())
    } else if got.key != want.key {
        Some(format!("key {:?}, expected {:?}", got.key, want.key))
    } else if got.value != want.value {
        Some(format!("value {:?}, expected {:?}", got.value, want.value))
    } else if got.headers != want.headers {
        Some(format!(
            "headers {:?}, expected {:?}",
            got.headers, want.headers
        ))
    } else if got.timestamp_type != want.timestamp_type {
        Some(format!(
            "timestamp type {:?}, expected {:?}",
            got.timestamp_type, want.timestamp_type
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_listener::{Headers, TimestampType};

    fn record(partition: i32, offset: i64, value: Option<&'static str>) -> Record {
        let mut headers = Headers::new();
        headers.push("dup", Some("a"));
        headers.push("dup", None::<Bytes>);
        ConsumerRecord {
            topic: "t".to_owned(),
            partition,
            offset,
            value: value.map(|v| Bytes::from_static(v.as_bytes())),
            headers,
            ..ConsumerRecord::default()
        }
    }

    fn written() -> Vec<Record> {
        vec![
            record(0, 0, Some("a")),
            record(1, 0, None),
            record(0, 1, Some("")),
        ]
    }

    #[test]
    fn partitions_may_interleave_in_any_order() {
        let mut handled = written();
        handled.swap(0, 1); // partition 1 first, partition 0 still in offset order
        assert_eq!(same_records_per_partition(&written(), &handled), Ok(()));
    }

    #[test]
    fn records_of_one_partition_out_of_order_fail() {
        let mut handled = written();
        handled.swap(0, 2);
        let error = same_records_per_partition(&written(), &handled).unwrap_err();
        assert!(
            error.contains("t partition 0: record 0 handled is offset 1"),
            "{error}"
        );
    }

    #[test]
    fn an_extra_record_or_a_missing_one_fails() {
        let mut handled = written();
        handled.push(record(1, 5, None));
        let error = same_records_per_partition(&written(), &handled).unwrap_err();
        assert!(
            error.contains("handled 2 records, expected 1, first extra at offset 5"),
            "{error}"
        );
        let error = same_records_per_partition(&written(), &written()[..2]).unwrap_err();
        assert!(error.contains("handled 1 records, expected 2"), "{error}");
    }

    #[test]
    fn an_empty_value_is_not_a_tombstone_and_a_null_header_is_not_empty() {
        let mut handled = written();
        handled[2].value = None;
        let error = same_records_per_partition(&written(), &handled).unwrap_err();
        assert!(error.contains("value None"), "{error}");
        let mut handled = written();
        handled[0].headers = Headers::from_iter(handled[0].headers.iter().cloned().map(|mut h| {
            h.value.get_or_insert_with(Bytes::new);
            h
        }));
        let error = same_records_per_partition(&written(), &handled).unwrap_err();
        assert!(error.contains("headers"), "{error}");
    }

    #[test]
    fn a_different_timestamp_type_fails() {
        let mut handled = written();
        handled[1].timestamp_type = TimestampType::LogAppendTime;
        let error = same_records_per_partition(&written(), &handled).unwrap_err();
        assert!(error.contains("timestamp type LogAppendTime"), "{error}");
    }
}
