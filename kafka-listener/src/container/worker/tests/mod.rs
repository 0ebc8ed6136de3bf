use super::*;
use crate::container::{CommitPolicy, Fetched};
use crate::error::{FixedBackOff, Recoverer};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// An in-memory partition log: the worker's logic is tested here; the real data plane in the
/// integration tests.
#[derive(Clone, Default)]
struct MemoryLog {
    records: Arc<Mutex<Vec<ConsumerRecord>>>,
    appended: Arc<tokio::sync::Notify>,
}

impl MemoryLog {
    fn with_values(values: &[&str]) -> Self {
        let log = Self::default();
        for value in values {
            log.append(value);
        }
        log
    }

    fn append(&self, value: &str) {
        self.append_keyed(None, value);
    }

    fn append_keyed(&self, key: Option<&str>, value: &str) {
        let mut records = self.records.lock().unwrap();
        let offset = records.len() as i64;
        records.push(ConsumerRecord {
            topic: "t".into(),
            partition: 0,
            offset,
            key: key.map(|k| bytes::Bytes::copy_from_slice(k.as_bytes())),
            value: Some(bytes::Bytes::copy_from_slice(value.as_bytes())),
            ..Default::default()
        });
        self.appended.notify_waiters();
    }
}

impl RecordSource for MemoryLog {
    async fn fetch(&mut self, position: i64) -> Result<Fetched, FetchError> {
        let notified = self.appended.notified();
        let found: Vec<_> = {
            let records = self.records.lock().unwrap();
            records
                .iter()
                .filter(|r| r.offset >= position)
                .cloned()
                .collect()
        };
        if found.is_empty() {
            let _ = tokio::time::timeout(Duration::from_millis(50), notified).await;
        }
        let high_watermark = self.records.lock().unwrap().len() as i64;
        Ok(Fetched {
            next_position: found.last().map_or(position, |r| r.offset + 1),
            records: found,
            high_watermark,
            ..Fetched::default()
        })
    }

    async fn resolve(&mut self, target: SeekTo) -> Result<i64, FetchError> {
        Ok(match target {
            SeekTo::Offset(o) => o,
            SeekTo::Beginning => 0,
            SeekTo::End => self.records.lock().unwrap().len() as i64,
            SeekTo::Timestamp(millis) => {
                let records = self.records.lock().unwrap();
                records
                    .iter()
                    .find(|r| r.timestamp >= millis)
                    .map_or(records.len() as i64, |r| r.offset)
            }
        })
    }
}

#[derive(Default)]
struct RecordingCommitter(Mutex<Vec<i64>>);

impl RecordingCommitter {
    fn commits(&self) -> Vec<i64> {
        self.0.lock().unwrap().clone()
    }
}

impl PartitionCommitter for RecordingCommitter {
    async fn commit(&self, _topic: &str, _partition: i32, position: i64) -> Result<(), String> {
        self.0.lock().unwrap().push(position);
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
struct TestFailure {
    message: String,
    retryable: bool,
}

impl DeliveryFailure for TestFailure {
    fn is_retryable(&self) -> bool {
        self.retryable
    }
}

fn identity() -> PartitionIdentity {
    PartitionIdentity {
        topic: "t".into(),
        partition: 0,
        group_id: Some("g".into()),
        listener_id: "test".into(),
        events: None,
    }
}

fn settings(commit_policy: CommitPolicy) -> WorkerSettings {
    WorkerSettings {
        commit_policy,
        drain_timeout: Duration::from_secs(2),
        ..WorkerSettings::default()
    }
}

async fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    tokio::time::timeout(Duration::from_secs(5), async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}

type Seen = Arc<Mutex<Vec<i64>>>;

fn ok_handler(
    seen: Seen,
) -> impl Fn(ConsumerRecord, AckEvents) -> std::future::Ready<Result<(), TestFailure>>
       + Send
       + Sync
       + 'static {
    move |record, _acks| {
        seen.lock().unwrap().push(record.offset);
        std::future::ready(Ok(()))
    }
}

#[tokio::test]
async fn batch_mode_commits_once_after_the_polls_records() {
    let log = MemoryLog::with_values(&["a", "b", "c"]);
    let committer = Arc::new(RecordingCommitter::default());
    let seen = Seen::default();
    let worker = spawn_partition_worker(
        identity(),
        0,
        settings(CommitPolicy::Batch),
        log,
        committer.clone(),
        ErrorHandler::default(),
        ok_handler(seen.clone()),
    );
    wait_for("commit of 3", || committer.commits().contains(&3)).await;
    assert_eq!(committer.commits(), vec![3]);
    assert_eq!(*seen.lock().unwrap(), vec![0, 1, 2]);
    assert_eq!(worker.stop().await.unwrap().committed, 3);
}

#[tokio::test]
async fn record_mode_commits_after_each_record_folding_commits_sent_meanwhile() {
    let log = MemoryLog::with_values(&["a", "b", "c"]);
    let committer = Arc::new(RecordingCommitter::default());
    let worker = spawn_partition_worker(
        identity(),
        0,
        settings(CommitPolicy::Record),
        log,
        committer.clone(),
        ErrorHandler::default(),
        ok_handler(Seen::default()),
    );
    wait_for("commit of 3", || committer.commits().contains(&3)).await;
    let commits = committer.commits();
    // The first record's commit goes at once; the next ones, asked for while it was on the
    // wire, follow it as one commit of the newest position.
    assert_eq!(commits[0], 1, "{commits:?}");
    assert!(commits.windows(2).all(|w| w[0] < w[1]), "{commits:?}");
    worker.stop().await;
}

#[tokio::test]
async fn a_slow_commit_does_not_hold_up_the_records_and_the_last_one_follows_it() {
    let log = MemoryLog::with_values(&["a", "b", "c", "d"]);
    let committer = Arc::new(SlowCommitter::default());
    let seen = Seen::default();
    let worker = spawn_partition_worker(
        identity(),
        0,
        settings(CommitPolicy::Record),
        log,
        committer.clone(),
        ErrorHandler::default(),
        ok_handler(seen.clone()),
    );
    wait_for("all four handled", || seen.lock().unwrap().len() == 4).await;
    assert!(
        committer.0.commits().len() <= 1,
        "handled while the first commit was still on the wire"
    );
    wait_for("commit of 4", || committer.0.commits().contains(&4)).await;
    assert_eq!(committer.0.commits(), vec![1, 4]);
    assert_eq!(worker.stop().await.unwrap().committed, 4);
}

/// Takes 200 ms to answer each commit.
#[derive(Default)]
struct SlowCommitter(RecordingCommitter);

impl PartitionCommitter for SlowCommitter {
    async fn commit(&self, topic: &str, partition: i32, position: i64) -> Result<(), String> {
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.0.commit(topic, partition, position).await
    }
}

#[tokio::test]
async fn manual_mode_commits_only_the_contiguous_acknowledged_prefix() {
    let log = MemoryLog::with_values(&["a", "b", "c", "d"]);
    let committer = Arc::new(RecordingCommitter::default());
    let held: Arc<Mutex<Vec<(i64, AckEvents)>>> = Default::default();
    let held_by_handler = held.clone();
    let worker = spawn_partition_worker(
        identity(),
        0,
        settings(CommitPolicy::Manual),
        log.clone(),
        committer.clone(),
        ErrorHandler::default(),
        move |record: ConsumerRecord, acks: AckEvents| {
            held_by_handler.lock().unwrap().push((record.offset, acks));
            std::future::ready(Ok::<(), TestFailure>(()))
        },
    );
    wait_for("four deliveries", || held.lock().unwrap().len() == 4).await;
    let ack = |offset: i64| {
        let held = held.lock().unwrap();
        held[offset as usize].1.send(AckEvent::Ack { offset });
    };
    ack(1);
    ack(3);
    ack(0);
    // The next poll end commits the acknowledged prefix 0..=1.
    log.append("e");
    wait_for("commit of 2", || committer.commits().contains(&2)).await;
    assert!(!committer.commits().iter().any(|&c| c > 2));
    ack(2);
    let stopped = worker.stop().await.unwrap();
    assert_eq!(stopped.committed, 4, "acks drained and committed on stop");
}

#[tokio::test]
async fn manual_immediate_commits_while_the_handler_still_runs() {
    let log = MemoryLog::with_values(&["a"]);
    let committer = Arc::new(RecordingCommitter::default());
    let release = Arc::new(tokio::sync::Notify::new());
    let release_in_handler = release.clone();
    let worker = spawn_partition_worker(
        identity(),
        0,
        settings(CommitPolicy::ManualImmediate),
        log,
        committer.clone(),
        ErrorHandler::default(),
        move |record: ConsumerRecord, acks: AckEvents| {
            let release = release_in_handler.clone();
            async move {
                acks.send(AckEvent::Ack {
                    offset: record.offset,
                });
                release.notified().await;
                Ok::<(), TestFailure>(())
            }
        },
    );
    wait_for("immediate commit", || committer.commits() == vec![1]).await;
    release.notify_one();
    worker.stop().await;
}

#[tokio::test]
async fn retryable_failure_is_redelivered_in_place_until_it_succeeds() {
    let log = MemoryLog::with_values(&["a", "b"]);
    let committer = Arc::new(RecordingCommitter::default());
    let deliveries: Seen = Default::default();
    let failures_left = Arc::new(AtomicUsize::new(2));
    let (seen, left) = (deliveries.clone(), failures_left.clone());
    let worker = spawn_partition_worker(
        identity(),
        0,
        settings(CommitPolicy::Record),
        log,
        committer.clone(),
        ErrorHandler::new(
            FixedBackOff::new(Duration::from_millis(1), 5),
            Recoverer::LogAndSkip,
        ),
        move |record: ConsumerRecord, _acks| {
            seen.lock().unwrap().push(record.offset);
            let fail = record.offset == 0
                && left
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
            std::future::ready(if fail {
                Err(TestFailure {
                    message: "transient".into(),
                    retryable: true,
                })
            } else {
                Ok(())
            })
        },
    );
    wait_for("both records committed", || {
        committer.commits().contains(&2)
    })
    .await;
    assert_eq!(*deliveries.lock().unwrap(), vec![0, 0, 0, 1], "order kept");
    worker.stop().await;
}

#[tokio::test]
async fn fatal_failure_skips_retries_and_moves_on_after_recovery() {
    let log = MemoryLog::with_values(&["poison", "ok"]);
    let committer = Arc::new(RecordingCommitter::default());
    let deliveries: Seen = Default::default();
    let seen = deliveries.clone();
    let worker = spawn_partition_worker(
        identity(),
        0,
        settings(CommitPolicy::Batch),
        log,
        committer.clone(),
        ErrorHandler::default(),
        move |record: ConsumerRecord, _acks| {
            seen.lock().unwrap().push(record.offset);
            std::future::ready(if record.offset == 0 {
                Err(TestFailure {
                    message: "cannot deserialize".into(),
                    retryable: false,
                })
            } else {
                Ok(())
            })
        },
    );
    wait_for("commit past the poison pill", || {
        committer.commits().contains(&2)
    })
    .await;
    assert_eq!(*deliveries.lock().unwrap(), vec![0, 1]);
    worker.stop().await;
}

#[tokio::test]
async fn retries_exhausted_recover_and_commit_even_in_manual_mode() {
    let log = MemoryLog::with_values(&["bad"]);
    let committer = Arc::new(RecordingCommitter::default());
    let deliveries = Arc::new(AtomicUsize::new(0));
    let count = deliveries.clone();
    let worker = spawn_partition_worker(
        identity(),
        0,
        settings(CommitPolicy::Manual),
        log,
        committer.clone(),
        ErrorHandler::new(FixedBackOff::new(Duration::ZERO, 2), Recoverer::LogAndSkip),
        move |_record: ConsumerRecord, _acks| {
            count.fetch_add(1, Ordering::SeqCst);
            std::future::ready(Err::<(), _>(TestFailure {
                message: "always".into(),
                retryable: true,
            }))
        },
    );
    wait_for("recovered commit", || committer.commits().contains(&1)).await;
    assert_eq!(
        deliveries.load(Ordering::SeqCst),
        3,
        "1 delivery + 2 retries"
    );
    worker.stop().await;
}

#[tokio::test]
async fn nack_redelivers_the_record_after_the_sleep() {
    let log = MemoryLog::with_values(&["a", "b"]);
    let committer = Arc::new(RecordingCommitter::default());
    let deliveries: Seen = Default::default();
    let seen = deliveries.clone();
    let nacked = Arc::new(AtomicUsize::new(0));
    let worker = spawn_partition_worker(
        identity(),
        0,
        settings(CommitPolicy::Manual),
        log,
        committer.clone(),
        ErrorHandler::default(),
        move |record: ConsumerRecord, acks: AckEvents| {
            seen.lock().unwrap().push(record.offset);
            if record.offset == 1 && nacked.fetch_add(1, Ordering::SeqCst) == 0 {
                acks.send(AckEvent::Nack {
                    offset: 1,
                    sleep: Duration::from_millis(20),
                });
            } else {
                acks.send(AckEvent::Ack {
                    offset: record.offset,
                });
            }
            std::future::ready(Ok::<(), TestFailure>(()))
        },
    );
    wait_for("commit of both", || committer.commits().contains(&2)).await;
    assert_eq!(*deliveries.lock().unwrap(), vec![0, 1, 1]);
    worker.stop().await;
}

#[tokio::test]
async fn stop_waits_for_the_in_flight_handler_then_commits_it() {
    let log = MemoryLog::with_values(&["slow"]);
    let committer = Arc::new(RecordingCommitter::default());
    let started = Arc::new(tokio::sync::Notify::new());
    let started_in_handler = started.clone();
    let worker = spawn_partition_worker(
        identity(),
        0,
        settings(CommitPolicy::Batch),
        log,
        committer.clone(),
        ErrorHandler::default(),
        move |_record: ConsumerRecord, _acks| {
            let started = started_in_handler.clone();
            async move {
                started.notify_one();
                tokio::time::sleep(Duration::from_millis(100)).await;
                Ok::<(), TestFailure>(())
            }
        },
    );
    started.notified().await;
    let stopped = worker.stop().await.unwrap();
    assert!(!stopped.drain_timed_out);
    assert_eq!(stopped.committed, 1);
    assert_eq!(committer.commits(), vec![1]);
}

#[tokio::test]
async fn stop_does_not_commit_a_handler_that_outlives_the_drain_timeout() {
    let log = MemoryLog::with_values(&["stuck", "never"]);
    let committer = Arc::new(RecordingCommitter::default());
    let started = Arc::new(tokio::sync::Notify::new());
    let started_in_handler = started.clone();
    let worker = spawn_partition_worker(
        identity(),
        0,
        WorkerSettings {
            drain_timeout: Duration::from_millis(50),
            ..settings(CommitPolicy::Record)
        },
        log,
        committer.clone(),
        ErrorHandler::default(),
        move |_record: ConsumerRecord, _acks| {
            let started = started_in_handler.clone();
            async move {
                started.notify_one();
                std::future::pending::<()>().await;
                Ok::<(), TestFailure>(())
            }
        },
    );
    started.notified().await;
    let stopped = worker.stop().await.unwrap();
    assert!(stopped.drain_timed_out);
    assert_eq!(stopped.committed, 0);
    assert!(committer.commits().is_empty());
}

// Virtual time: the "nothing happens for 150 ms" check is deterministic, not a real sleep.
#[tokio::test(start_paused = true)]
async fn paused_partition_fetches_nothing_until_resumed() {
    let log = MemoryLog::default();
    let committer = Arc::new(RecordingCommitter::default());
    let seen = Seen::default();
    let worker = spawn_partition_worker(
        identity(),
        0,
        settings(CommitPolicy::Record),
        log.clone(),
        committer.clone(),
        ErrorHandler::default(),
        ok_handler(seen.clone()),
    );
    log.append("before pause");
    wait_for("first record", || seen.lock().unwrap().len() == 1).await;
    worker.pause();
    // A record appended while paused is not delivered until resume.
    tokio::time::sleep(Duration::from_millis(20)).await;
    log.append("while paused");
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(seen.lock().unwrap().len(), 1);
    worker.resume();
    wait_for("record after resume", || seen.lock().unwrap().len() == 2).await;
    worker.stop().await;
}

#[tokio::test]
async fn seek_to_beginning_redelivers_from_the_first_record() {
    let log = MemoryLog::with_values(&["a", "b"]);
    let committer = Arc::new(RecordingCommitter::default());
    let seen = Seen::default();
    let worker = spawn_partition_worker(
        identity(),
        0,
        settings(CommitPolicy::Batch),
        log,
        committer.clone(),
        ErrorHandler::default(),
        ok_handler(seen.clone()),
    );
    wait_for("two records", || seen.lock().unwrap().len() == 2).await;
    worker.seek(SeekTo::Beginning);
    wait_for("redelivery", || seen.lock().unwrap().len() == 4).await;
    assert_eq!(*seen.lock().unwrap(), vec![0, 1, 0, 1]);
    worker.stop().await;
}

mod parallel;

mod batch;

mod regression;
