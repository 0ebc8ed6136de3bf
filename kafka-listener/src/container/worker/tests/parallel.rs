//! The worker's parallel mode: key order, the in-flight window, commits of the contiguous
//! prefix, retries and nacks that hold only their key, and draining on stop.

use super::*;
use crate::container::{DispatchOrdering, Parallelism};

pub(super) fn parallel_settings(
    commit_policy: CommitPolicy,
    max_in_flight: usize,
    ordering: DispatchOrdering,
) -> WorkerSettings {
    WorkerSettings {
        parallelism: Parallelism::new(max_in_flight, ordering),
        ..settings(commit_policy)
    }
}

/// A log of `per_key` records for each of `keys`, interleaved: k0, k1, …, k0, k1, …
fn keyed_log(keys: usize, per_key: usize) -> MemoryLog {
    let log = MemoryLog::default();
    for round in 0..per_key {
        for key in 0..keys {
            log.append_keyed(Some(&format!("k{key}")), &format!("{round}"));
        }
    }
    log
}

fn key_of(record: &ConsumerRecord) -> String {
    String::from_utf8_lossy(record.key.as_deref().unwrap_or_default()).into_owned()
}

/// Counts handlers running at once and the most ever seen.
#[derive(Default)]
struct Concurrency {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl Concurrency {
    fn enter(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
    }

    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }

    fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn parallel_key_ordering_runs_keys_concurrently_and_each_key_in_offset_order() {
    let log = keyed_log(8, 5);
    let committer = Arc::new(RecordingCommitter::default());
    let finished: Arc<Mutex<Vec<(String, i64)>>> = Default::default();
    let concurrency = Arc::new(Concurrency::default());
    let (finished_in_handler, running) = (finished.clone(), concurrency.clone());
    let worker = spawn_partition_worker(
        identity(),
        0,
        parallel_settings(CommitPolicy::Record, 16, DispatchOrdering::Key),
        log,
        committer.clone(),
        ErrorHandler::default(),
        move |record: ConsumerRecord, _acks: AckEvents| {
            let (finished, running) = (finished_in_handler.clone(), running.clone());
            async move {
                running.enter();
                // Later offsets finish sooner: only key order can keep them in sequence.
                let wait = 12 - (record.offset % 8) as u64;
                tokio::time::sleep(Duration::from_millis(wait)).await;
                finished
                    .lock()
                    .unwrap()
                    .push((key_of(&record), record.offset));
                running.leave();
                Ok::<(), TestFailure>(())
            }
        },
    );
    wait_for("all 40 committed", || committer.commits().contains(&40)).await;
    let finished = finished.lock().unwrap().clone();
    assert_eq!(finished.len(), 40);
    for key in 0..8 {
        let key = format!("k{key}");
        let offsets: Vec<i64> = finished
            .iter()
            .filter(|(k, _)| *k == key)
            .map(|&(_, o)| o)
            .collect();
        assert!(
            offsets.windows(2).all(|w| w[0] < w[1]),
            "{key}: {offsets:?}"
        );
    }
    assert!(concurrency.peak() > 1, "keys never overlapped");
    assert!(concurrency.peak() <= 8, "one record per key at a time");
    assert!(
        committer.commits().windows(2).all(|w| w[0] < w[1]),
        "commits only move forward: {:?}",
        committer.commits()
    );
    assert_eq!(worker.stop().await.unwrap().committed, 40);
}

#[tokio::test]
async fn parallel_window_bounds_the_records_in_flight() {
    let log = keyed_log(20, 1);
    let committer = Arc::new(RecordingCommitter::default());
    let concurrency = Arc::new(Concurrency::default());
    let release = Arc::new(tokio::sync::Semaphore::new(0));
    let (running, gate) = (concurrency.clone(), release.clone());
    let worker = spawn_partition_worker(
        identity(),
        0,
        parallel_settings(CommitPolicy::Batch, 4, DispatchOrdering::Unordered),
        log,
        committer.clone(),
        ErrorHandler::default(),
        move |_record: ConsumerRecord, _acks: AckEvents| {
            let (running, gate) = (running.clone(), gate.clone());
            async move {
                running.enter();
                gate.acquire().await.unwrap().forget();
                running.leave();
                Ok::<(), TestFailure>(())
            }
        },
    );
    wait_for("a full window", || {
        concurrency.now.load(Ordering::SeqCst) == 4
    })
    .await;
    release.add_permits(20);
    wait_for("all 20 committed", || committer.commits().contains(&20)).await;
    assert_eq!(concurrency.peak(), 4);
    worker.stop().await;
}

#[tokio::test]
async fn parallel_manual_acks_out_of_order_commit_only_the_contiguous_prefix() {
    let log = keyed_log(5, 1);
    let committer = Arc::new(RecordingCommitter::default());
    let release_first = Arc::new(tokio::sync::Notify::new());
    let acked: Seen = Default::default();
    let (release, acked_in_handler) = (release_first.clone(), acked.clone());
    let worker = spawn_partition_worker(
        identity(),
        0,
        parallel_settings(CommitPolicy::ManualImmediate, 8, DispatchOrdering::Key),
        log,
        committer.clone(),
        ErrorHandler::default(),
        move |record: ConsumerRecord, acks: AckEvents| {
            let (release, acked) = (release.clone(), acked_in_handler.clone());
            async move {
                if record.offset == 0 {
                    release.notified().await;
                }
                acks.send(AckEvent::Ack {
                    offset: record.offset,
                });
                acked.lock().unwrap().push(record.offset);
                Ok::<(), TestFailure>(())
            }
        },
    );
    wait_for("offsets 1..=4 acknowledged", || {
        acked.lock().unwrap().len() == 4
    })
    .await;
    assert!(committer.commits().is_empty(), "offset 0 is still running");
    release_first.notify_one();
    wait_for("commit of 5", || committer.commits().contains(&5)).await;
    worker.stop().await;
}

#[tokio::test]
async fn parallel_retry_holds_only_the_failing_key() {
    let log = MemoryLog::default();
    log.append_keyed(Some("bad"), "fails twice");
    log.append_keyed(Some("bad"), "after the failure");
    for n in 0..6 {
        log.append_keyed(Some(&format!("good{n}")), "ok");
    }
    let committer = Arc::new(RecordingCommitter::default());
    let order: Arc<Mutex<Vec<i64>>> = Default::default();
    let failures = Arc::new(AtomicUsize::new(0));
    let (order_in_handler, failed) = (order.clone(), failures.clone());
    let worker = spawn_partition_worker(
        identity(),
        0,
        parallel_settings(CommitPolicy::Record, 16, DispatchOrdering::Key),
        log,
        committer.clone(),
        ErrorHandler::new(
            FixedBackOff::new(Duration::from_millis(150), 5),
            Recoverer::LogAndSkip,
        ),
        move |record: ConsumerRecord, _acks: AckEvents| {
            let result = if record.offset == 0 && failed.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(TestFailure {
                    message: "not yet".into(),
                    retryable: true,
                })
            } else {
                order_in_handler.lock().unwrap().push(record.offset);
                Ok(())
            };
            std::future::ready(result)
        },
    );
    wait_for("all 8 committed", || committer.commits().contains(&8)).await;
    let order = order.lock().unwrap().clone();
    let position = |offset: i64| order.iter().position(|&o| o == offset).unwrap();
    assert!(
        position(0) < position(1),
        "the key's order survives its retries: {order:?}"
    );
    assert!(
        (2..8).all(|good| position(good) < position(0)),
        "other keys flowed during the back-off: {order:?}"
    );
    assert_eq!(failures.load(Ordering::SeqCst), 3);
    worker.stop().await;
}

#[tokio::test]
async fn parallel_nack_redelivers_that_record_before_the_rest_of_its_key() {
    let log = MemoryLog::default();
    log.append_keyed(Some("a"), "nacked once");
    log.append_keyed(Some("a"), "waits behind it");
    log.append_keyed(Some("b"), "independent");
    let committer = Arc::new(RecordingCommitter::default());
    let deliveries: Seen = Default::default();
    let nacked = Arc::new(AtomicUsize::new(0));
    let (seen, nacks) = (deliveries.clone(), nacked.clone());
    let worker = spawn_partition_worker(
        identity(),
        0,
        parallel_settings(CommitPolicy::Manual, 8, DispatchOrdering::Key),
        log,
        committer.clone(),
        ErrorHandler::default(),
        move |record: ConsumerRecord, acks: AckEvents| {
            seen.lock().unwrap().push(record.offset);
            let event = if record.offset == 0 && nacks.fetch_add(1, Ordering::SeqCst) == 0 {
                AckEvent::Nack {
                    offset: 0,
                    sleep: Duration::from_millis(50),
                }
            } else {
                AckEvent::Ack {
                    offset: record.offset,
                }
            };
            acks.send(event);
            std::future::ready(Ok::<(), TestFailure>(()))
        },
    );
    wait_for("three acknowledged", || {
        deliveries.lock().unwrap().len() == 4
    })
    .await;
    let stopped = worker.stop().await.unwrap();
    let deliveries = deliveries.lock().unwrap().clone();
    assert_eq!(deliveries.iter().filter(|&&o| o == 0).count(), 2);
    let last_zero = deliveries.iter().rposition(|&o| o == 0).unwrap();
    let one = deliveries.iter().position(|&o| o == 1).unwrap();
    assert!(last_zero < one, "{deliveries:?}");
    assert_eq!(stopped.committed, 3);
}

#[tokio::test]
async fn parallel_stop_drains_the_running_records_then_commits_them() {
    let log = keyed_log(6, 1);
    let committer = Arc::new(RecordingCommitter::default());
    let concurrency = Arc::new(Concurrency::default());
    let running = concurrency.clone();
    let worker = spawn_partition_worker(
        identity(),
        0,
        parallel_settings(CommitPolicy::Batch, 6, DispatchOrdering::Key),
        log,
        committer.clone(),
        ErrorHandler::default(),
        move |_record: ConsumerRecord, _acks: AckEvents| {
            let running = running.clone();
            async move {
                running.enter();
                tokio::time::sleep(Duration::from_millis(100)).await;
                running.leave();
                Ok::<(), TestFailure>(())
            }
        },
    );
    wait_for("six running", || {
        concurrency.now.load(Ordering::SeqCst) == 6
    })
    .await;
    let stopped = worker.stop().await.unwrap();
    assert!(!stopped.drain_timed_out);
    assert_eq!(stopped.committed, 6);
}
