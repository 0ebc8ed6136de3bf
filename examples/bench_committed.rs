//! bench/run.sh's check that a consumer really committed what it acknowledged: compares the
//! offsets a group committed on the bench topic with the topic's log end offsets.
//!
//! ```text
//! bench_committed --bootstrap B --topic T --group G --partitions P
//! ```
//!
//! Prints `COMMITTED group=G committed=C log_end=E` (sums over the partitions; a partition
//! without a committed offset counts 0) and exits 0 only if every partition's committed offset
//! is its log end.

#[path = "bench_support/mod.rs"]
mod bench_support;

use bench_support::{fail, Flags};
use kafka_listener::group::{GroupConfig, GroupMember, TopicPartition};
use rskafka::client::partition::{OffsetAt, UnknownTopicHandling};

#[tokio::main]
async fn main() {
    let flags = Flags::parse("bench_committed", std::env::args().skip(1));
    let bootstrap = flags.string("bootstrap");
    let topic = flags.string("topic");
    let group = flags.string("group");
    let partitions = flags.number("partitions", 6) as i32;
    let connection = bench_support::security::connection(&bootstrap);
    let client = connection
        .rskafka_client()
        .await
        .unwrap_or_else(|e| fail(format!("connect to {bootstrap}: {e}")));
    let tps: Vec<_> = (0..partitions)
        .map(|p| TopicPartition::new(topic.as_str(), p))
        .collect();
    let committed = GroupMember::new(connection, GroupConfig::new(group.as_str()))
        .committed(&tps)
        .await
        .unwrap_or_else(|e| fail(format!("committed offsets of {group}: {e}")));
    let (mut committed_sum, mut end_sum, mut behind) = (0i64, 0i64, Vec::new());
    for tp in &tps {
        let end = client
            .partition_client(topic.as_str(), tp.partition, UnknownTopicHandling::Retry)
            .await
            .unwrap_or_else(|e| fail(format!("partition {}: {e}", tp.partition)))
            .get_offset(OffsetAt::Latest)
            .await
            .unwrap_or_else(|e| fail(format!("log end of partition {}: {e}", tp.partition)));
        let at = committed
            .get(tp)
            .and_then(Option::as_ref)
            .map_or(0, |o| o.offset);
        committed_sum += at;
        end_sum += end;
        if at != end {
            behind.push(format!(
                "partition {} committed {at} of {end}",
                tp.partition
            ));
        }
    }
    println!("COMMITTED group={group} committed={committed_sum} log_end={end_sum}");
    if !behind.is_empty() {
        fail(format!(
            "{group} did not commit everything: {}",
            behind.join(", ")
        ));
    }
}
