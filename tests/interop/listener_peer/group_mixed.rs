//! group-mixed-P: our listener's group member and peer P's consumer in ONE consumer group on a
//! 6-partition topic, both configured with the range assignor.
//!
//! This process is the judge; run.sh starts P's `group-member` mode alongside with the same sync
//! directory. The file protocol (all in the sync directory):
//!
//! | file | written by | meaning |
//! |---|---|---|
//! | `join` | judge | the topic exists: subscribe now |
//! | `peer.assignment` | peer (atomic rename) | the partitions it owns now, space-separated |
//! | `peer.consumed` | peer (appended, flushed before each commit) | `partition offset value` lines |
//! | `leave` | judge | close the consumer (LeaveGroup) and exit |
//! | `peer.left` | peer | it closed its consumer |
//! | `peer.error` | peer | it failed; the reason |
//!
//! Phases: (1) both join → range splits the partitions 3/3 with no overlap; batch 1 is consumed
//! once, each record by its partition's owner; (2) our member leaves → the peer owns all six and
//! consumes batch 2; (3) our member rejoins → split again, batch 3 once; (4) the peer leaves → we
//! own all six and consume batch 4. Before every leave or join the group has committed the log
//! end, so across the whole scenario every record is consumed exactly once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kafka_listener::{kafka_listener, App, ConsumerRecord, RunningApp, State};
use rskafka::client::partition::{Compression, UnknownTopicHandling};
use rskafka::client::Client;
use rskafka::record::Record;

use crate::{application_yml, committed, log_ends, rskafka_client, wait_until, Seen};

const PARTITIONS: i32 = 6;
const PER_PARTITION: usize = 20;
const MEMBER_ID: &str = "interop-group-member";
const STEP_TIMEOUT: Duration = Duration::from_secs(45);

/// Our side of the mixed group: RECORD ack mode commits after every handled record.
#[kafka_listener(
    id = "interop-group-member",
    topics = "${interop.group.topic}",
    group_id = "${interop.group.group}",
    ack_mode = "RECORD"
)]
async fn on_group_record(record: ConsumerRecord<bytes::Bytes, bytes::Bytes>, seen: State<Seen>) {
    seen.push(record);
}

/// Who consumed which value, from which partition.
type Consumption = Vec<(i32, String)>;

struct Judge<'a> {
    bootstrap: &'a str,
    topic: String,
    group: String,
    sync: &'a Path,
    client: Client,
    ours: Arc<Seen>,
}

pub(crate) async fn run(bootstrap: &str, run: &str, peer: &str, sync: &Path) -> Result<(), String> {
    let topic = format!("interop-{run}-mixed-{peer}");
    let judge = Judge {
        bootstrap,
        group: topic.clone(),
        topic,
        sync,
        client: rskafka_client(bootstrap).await?,
        ours: Arc::new(Seen::default()),
    };
    let outcome = judge.phases().await;
    // Whatever happened, let the peer go.
    let _ = std::fs::write(sync.join("leave"), b"");
    outcome
}

impl Judge<'_> {
    async fn phases(&self) -> Result<(), String> {
        self.create_topic().await?;
        let app = self.start_member().await?;
        std::fs::write(self.sync.join("join"), b"").map_err(|e| format!("write join: {e}"))?;

        let (ours, theirs) = self
            .wait_for_split(&app)
            .await
            .map_err(|e| format!("phase 1: {e}"))?;
        self.produce_and_check(1, &ours, &theirs)
            .await
            .map_err(|e| format!("phase 1: {e}"))?;

        app.shutdown()
            .await
            .map_err(|e| format!("phase 2: our member's shutdown: {e}"))?;
        let all: BTreeSet<i32> = (0..PARTITIONS).collect();
        wait_until(
            "the peer to own all partitions after we left",
            STEP_TIMEOUT,
            || async {
                self.peer_failed()?;
                Ok(self.peer_assignment() == all)
            },
        )
        .await
        .map_err(|e| format!("phase 2: {e}"))?;
        self.produce_and_check(2, &BTreeSet::new(), &all)
            .await
            .map_err(|e| format!("phase 2: {e}"))?;

        let app = self.start_member().await?;
        let (ours, theirs) = self
            .wait_for_split(&app)
            .await
            .map_err(|e| format!("phase 3: {e}"))?;
        self.produce_and_check(3, &ours, &theirs)
            .await
            .map_err(|e| format!("phase 3: {e}"))?;

        std::fs::write(self.sync.join("leave"), b"").map_err(|e| format!("write leave: {e}"))?;
        wait_until(
            "the peer to leave and us to own all partitions",
            STEP_TIMEOUT,
            || async { Ok(self.sync.join("peer.left").exists() && owned(&app) == all) },
        )
        .await
        .map_err(|e| format!("phase 4: {e}"))?;
        let outcome = self.produce_and_check(4, &all, &BTreeSet::new()).await;
        let shutdown = app.shutdown().await;
        outcome.map_err(|e| format!("phase 4: {e}"))?;
        shutdown.map_err(|e| format!("phase 4: our member's shutdown: {e}"))?;
        self.exactly_once(4)
    }

    async fn create_topic(&self) -> Result<(), String> {
        self.client
            .controller_client()
            .map_err(|e| format!("controller client: {e}"))?
            .create_topic(&self.topic, PARTITIONS, 1, 30_000)
            .await
            .map_err(|e| format!("create {}: {e}", self.topic))?;
        wait_until(
            "the topic's partitions in metadata",
            STEP_TIMEOUT,
            || async {
                let topics = self.client.list_topics().await.map_err(|e| e.to_string())?;
                Ok(topics
                    .iter()
                    .any(|t| t.name == self.topic && t.partitions.len() == PARTITIONS as usize))
            },
        )
        .await
    }

    async fn start_member(&self) -> Result<RunningApp, String> {
        App::from_yaml_str(&application_yml(
            ("unused", "unused"),
            (&self.topic, &self.group),
        ))
        .map_err(|e| format!("configuration: {e}"))?
        .bootstrap(self.bootstrap)
        .shared_state(Arc::clone(&self.ours))
        .listeners([MEMBER_ID])
        .start()
        .await
        .map_err(|e| format!("start our member: {e}"))
    }

    fn peer_failed(&self) -> Result<(), String> {
        match std::fs::read_to_string(self.sync.join("peer.error")) {
            Ok(reason) => Err(format!("the peer failed: {}", reason.trim())),
            Err(_) => Ok(()),
        }
    }

    fn peer_assignment(&self) -> BTreeSet<i32> {
        std::fs::read_to_string(self.sync.join("peer.assignment"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    fn peer_consumed(&self) -> Consumption {
        std::fs::read_to_string(self.sync.join("peer.consumed"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let mut parts = line.split(' ');
                let partition = parts.next()?.parse().ok()?;
                let _offset = parts.next()?;
                Some((partition, parts.next()?.to_owned()))
            })
            .collect()
    }

    fn our_consumed(&self) -> Consumption {
        self.ours
            .snapshot()
            .into_iter()
            .map(|r| {
                let value = r
                    .value
                    .as_deref()
                    .map(String::from_utf8_lossy)
                    .unwrap_or_default();
                (r.partition, value.into_owned())
            })
            .collect()
    }

    /// Waits until both members hold partitions and range split them 0-2 / 3-5.
    async fn wait_for_split(
        &self,
        app: &RunningApp,
    ) -> Result<(BTreeSet<i32>, BTreeSet<i32>), String> {
        let halves: [BTreeSet<i32>; 2] = [(0..3).collect(), (3..6).collect()];
        let mut last = (BTreeSet::new(), BTreeSet::new());
        let split = wait_until(
            "range to split the partitions between the two members",
            STEP_TIMEOUT,
            || {
                let (ours, theirs) = (owned(app), self.peer_assignment());
                let done = !ours.is_empty()
                    && !theirs.is_empty()
                    && ours.is_disjoint(&theirs)
                    && ours.len() + theirs.len() == PARTITIONS as usize;
                last = (ours, theirs);
                async move {
                    self.peer_failed()?;
                    Ok(done)
                }
            },
        )
        .await;
        let (ours, theirs) = last;
        split.map_err(|e| format!("{e}; ours {ours:?}, peer's {theirs:?}"))?;
        if !(halves.contains(&ours) && halves.contains(&theirs)) {
            return Err(format!(
                "range assigns 3 consecutive partitions each; got ours {ours:?}, peer's {theirs:?}"
            ));
        }
        Ok((ours, theirs))
    }

    /// Produces batch `batch`, waits until it is consumed and the group committed the log end,
    /// and checks each record went to its partition's owner, once.
    async fn produce_and_check(
        &self,
        batch: usize,
        ours: &BTreeSet<i32>,
        theirs: &BTreeSet<i32>,
    ) -> Result<(), String> {
        self.produce(batch).await?;
        let ends = log_ends(&self.client, &self.topic, PARTITIONS).await?;
        let prefix = format!("b{batch}-");
        let in_batch = |c: Consumption| -> Consumption {
            c.into_iter()
                .filter(|(_, v)| v.starts_with(&prefix))
                .collect()
        };
        let want = PER_PARTITION * PARTITIONS as usize;
        wait_until(
            &format!("batch {batch} consumed and committed"),
            STEP_TIMEOUT,
            || async {
                self.peer_failed()?;
                let consumed =
                    in_batch(self.our_consumed()).len() + in_batch(self.peer_consumed()).len();
                Ok(consumed >= want
                    && committed(self.bootstrap, &self.group, &self.topic, PARTITIONS).await?
                        == ends)
            },
        )
        .await
        .map_err(|e| {
            format!(
                "{e}; we consumed {}, the peer {}, of {want}",
                in_batch(self.our_consumed()).len(),
                in_batch(self.peer_consumed()).len()
            )
        })?;
        for (who, consumed, owned) in [
            ("we", in_batch(self.our_consumed()), ours),
            ("the peer", in_batch(self.peer_consumed()), theirs),
        ] {
            if let Some((partition, value)) = consumed.iter().find(|(p, _)| !owned.contains(p)) {
                return Err(format!(
                    "{who} consumed {value} from partition {partition}, owning {owned:?}"
                ));
            }
        }
        self.exactly_once(batch)
    }

    /// Every value of batches 1..=`through`, consumed exactly once by the two members together.
    fn exactly_once(&self, through: usize) -> Result<(), String> {
        let consumed = self.our_consumed().into_iter().chain(self.peer_consumed());
        exactly_once(consumed.map(|(_, value)| value), through)
    }

    async fn produce(&self, batch: usize) -> Result<(), String> {
        for partition in 0..PARTITIONS {
            let records = (0..PER_PARTITION)
                .map(|n| Record {
                    key: Some(format!("k{n}").into_bytes()),
                    value: Some(value(batch, partition, n).into_bytes()),
                    headers: BTreeMap::new(),
                    timestamp: now(),
                })
                .collect();
            self.client
                .partition_client(&self.topic, partition, UnknownTopicHandling::Retry)
                .await
                .map_err(|e| format!("partition {partition}: {e}"))?
                .produce(records, Compression::NoCompression)
                .await
                .map_err(|e| format!("produce batch {batch} to partition {partition}: {e}"))?;
        }
        Ok(())
    }
}

/// `consumed` holds every value of batches 1..=`through` exactly once, and nothing else.
fn exactly_once(consumed: impl IntoIterator<Item = String>, through: usize) -> Result<(), String> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for value in consumed {
        *counts.entry(value).or_default() += 1;
    }
    let expected: BTreeSet<String> = (1..=through)
        .flat_map(|b| {
            (0..PARTITIONS).flat_map(move |p| (0..PER_PARTITION).map(move |n| value(b, p, n)))
        })
        .collect();
    if let Some((value, count)) = counts.iter().find(|(_, c)| **c > 1) {
        return Err(format!("{value} consumed {count} times"));
    }
    if let Some(value) = counts.keys().find(|v| !expected.contains(*v)) {
        return Err(format!("unexpected record {value}"));
    }
    if let Some(value) = expected.iter().find(|v| !counts.contains_key(*v)) {
        return Err(format!("{value} never consumed"));
    }
    Ok(())
}

fn value(batch: usize, partition: i32, n: usize) -> String {
    format!("b{batch}-p{partition}-{n}")
}

fn owned(app: &RunningApp) -> BTreeSet<i32> {
    app.assignment(MEMBER_ID)
        .into_iter()
        .map(|tp| tp.partition)
        .collect()
}

/// rskafka's chrono is built without its clock, so the wall clock comes from std.
fn now() -> rskafka::chrono::DateTime<rskafka::chrono::Utc> {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    rskafka::chrono::DateTime::from_timestamp_millis(millis).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batches(through: usize) -> Vec<String> {
        (1..=through)
            .flat_map(|b| {
                (0..PARTITIONS).flat_map(move |p| (0..PER_PARTITION).map(move |n| value(b, p, n)))
            })
            .collect()
    }

    #[test]
    fn every_value_once_is_exactly_once() {
        assert_eq!(exactly_once(batches(2), 2), Ok(()));
    }

    #[test]
    fn a_duplicate_a_gap_or_a_stranger_is_not() {
        let mut twice = batches(2);
        twice.push(value(1, 4, 7));
        assert_eq!(
            exactly_once(twice, 2),
            Err("b1-p4-7 consumed 2 times".to_owned())
        );
        let mut gap = batches(2);
        gap.retain(|v| v != "b2-p5-19");
        assert_eq!(
            exactly_once(gap, 2),
            Err("b2-p5-19 never consumed".to_owned())
        );
        assert_eq!(
            exactly_once(batches(2), 1),
            Err("unexpected record b2-p0-0".to_owned())
        );
    }
}
