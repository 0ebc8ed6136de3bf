//! Bugs of the three worker loops that the one core fixed, one test each (issue 16's "Why"):
//! each of these failed on the loops it replaced.

use super::parallel::parallel_settings;
use super::*;
use crate::container::{ContainerEvent, DispatchOrdering};
use crate::error::{FailureDescription, RecordRecoverer, RecoveryFailed};

/// A recoverer that fails its first `failures` calls, counting every call.
#[derive(Debug, Default)]
struct FlakyRecoverer {
    failures: AtomicUsize,
    calls: AtomicUsize,
}

impl RecordRecoverer for FlakyRecoverer {
    fn recover<'a>(
        &'a self,
        _record: &'a ConsumerRecord,
        _failure: &'a FailureDescription,
        _group_id: Option<&'a str>,
    ) -> futures_util::future::BoxFuture<'a, Result<(), RecoveryFailed>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let fail = self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        Box::pin(async move {
            if fail {
                Err(RecoveryFailed(
                    "the dead-letter topic is unavailable".into(),
                ))
            } else {
                Ok(())
            }
        })
    }
}

/// A committer that fails its first `failures` commits.
#[derive(Default)]
struct FlakyCommitter {
    failures: AtomicUsize,
    committed: Mutex<Vec<i64>>,
}

impl PartitionCommitter for FlakyCommitter {
    async fn commit(&self, _topic: &str, _partition: i32, position: i64) -> Result<(), String> {
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err("NOT_COORDINATOR".into());
        }
        self.committed.lock().unwrap().push(position);
        Ok(())
    }
}

fn count(seen: &Seen, offset: i64) -> usize {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|&&o| o == offset)
        .count()
}

/// Offset 1 fails once, not retryable; the recoverer fails once: in every mode the record is
/// delivered again (the parallel loop used to call the recoverer again and again instead).
async fn failed_recovery_run(settings: WorkerSettings) -> (Vec<i64>, usize) {
    let log = MemoryLog::with_values(&["a", "b", "c"]);
    let committer = Arc::new(RecordingCommitter::default());
    let recoverer = Arc::new(FlakyRecoverer {
        failures: AtomicUsize::new(1),
        ..Default::default()
    });
    let deliveries = Seen::default();
    let failed_once = Arc::new(AtomicUsize::new(0));
    let seen = deliveries.clone();
    let worker = spawn_partition_worker(
        identity(),
        0,
        settings,
        log,
        committer.clone(),
        ErrorHandler::new(
            FixedBackOff::new(Duration::ZERO, 0),
            Recoverer::Custom(recoverer.clone()),
        ),
        move |record: ConsumerRecord, _acks| {
            seen.lock().unwrap().push(record.offset);
            let fail = record.offset == 1 && failed_once.fetch_add(1, Ordering::SeqCst) == 0;
            std::future::ready(if fail {
                Err(TestFailure {
                    message: "poison".into(),
                    retryable: false,
                })
            } else {
                Ok(())
            })
        },
    );
    wait_for("every record committed", || {
        committer.commits().last() == Some(&3)
    })
    .await;
    worker.stop().await;
    let deliveries = deliveries.lock().unwrap().clone();
    (deliveries, recoverer.calls.load(Ordering::SeqCst))
}

#[tokio::test(start_paused = true)]
async fn worker_regression_a_failed_recovery_redelivers_the_record_in_every_mode() {
    let sequential = settings(CommitPolicy::Record);
    let parallel = parallel_settings(CommitPolicy::Record, 4, DispatchOrdering::Unordered);
    for (mode, settings) in [("sequential", sequential), ("parallel", parallel)] {
        let (deliveries, recoveries) = failed_recovery_run(settings).await;
        let seen = Seen::new(Mutex::new(deliveries.clone()));
        assert_eq!(
            count(&seen, 1),
            2,
            "{mode}: delivered again after the recoverer failed: {deliveries:?}"
        );
        assert_eq!(
            recoveries, 1,
            "{mode}: the recoverer ran once, for the first failure"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn worker_regression_a_late_manual_ack_is_committed_on_an_idle_partition() {
    let log = MemoryLog::with_values(&["a", "b"]);
    let committer = Arc::new(RecordingCommitter::default());
    let stashed: Arc<Mutex<Vec<(i64, AckEvents)>>> = Default::default();
    let stash = stashed.clone();
    let worker = spawn_partition_worker(
        identity(),
        0,
        settings(CommitPolicy::Manual),
        log,
        committer.clone(),
        ErrorHandler::default(),
        move |record: ConsumerRecord, acks: AckEvents| {
            // Acknowledged later, from elsewhere, after the poll has ended.
            stash.lock().unwrap().push((record.offset, acks));
            std::future::ready(Ok::<(), TestFailure>(()))
        },
    );
    wait_for("both records handled", || {
        stashed.lock().unwrap().len() == 2
    })
    .await;
    for (offset, acks) in stashed.lock().unwrap().drain(..) {
        acks.send(AckEvent::Ack { offset });
    }
    wait_for("the late acks committed", || {
        committer.commits().last() == Some(&2)
    })
    .await;
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn worker_regression_time_mode_commits_an_idle_partition_once_ack_time_passed() {
    let log = MemoryLog::with_values(&["a", "b"]);
    let committer = Arc::new(RecordingCommitter::default());
    let seen = Seen::default();
    let worker = spawn_partition_worker(
        identity(),
        0,
        settings(CommitPolicy::Time(Duration::from_secs(30))),
        log,
        committer.clone(),
        ErrorHandler::default(),
        ok_handler(seen.clone()),
    );
    wait_for("both records handled", || seen.lock().unwrap().len() == 2).await;
    assert!(committer.commits().is_empty(), "not before ack-time");
    tokio::time::timeout(Duration::from_secs(31), async {
        while committer.commits().last() != Some(&2) {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("committed once ack-time passed, with no record arriving");
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn worker_regression_a_failed_commit_is_retried_and_reported() {
    let log = MemoryLog::with_values(&["a", "b"]);
    let committer = Arc::new(FlakyCommitter {
        failures: AtomicUsize::new(3),
        ..Default::default()
    });
    let (events, mut received) = tokio::sync::broadcast::channel(16);
    let worker = spawn_partition_worker(
        PartitionIdentity {
            events: Some(events),
            ..identity()
        },
        0,
        settings(CommitPolicy::Batch),
        log,
        committer.clone(),
        ErrorHandler::default(),
        ok_handler(Seen::default()),
    );
    let event = tokio::time::timeout(Duration::from_secs(10), received.recv())
        .await
        .expect("an event")
        .expect("open channel");
    assert!(
        matches!(
            &event,
            ContainerEvent::CommitFailed { position: 2, failures: 3, error, .. } if error == "NOT_COORDINATOR"
        ),
        "{event:?}"
    );
    wait_for("the commit retried until it landed", || {
        committer.committed.lock().unwrap().last() == Some(&2)
    })
    .await;
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn worker_regression_the_poll_interval_clock_reads_the_oldest_record_in_parallel_mode() {
    let log = MemoryLog::default();
    log.append_keyed(Some("stuck"), "0");
    let release = Arc::new(tokio::sync::Notify::new());
    let blocker = release.clone();
    let worker = spawn_partition_worker(
        identity(),
        0,
        parallel_settings(CommitPolicy::Batch, 8, DispatchOrdering::Key),
        log.clone(),
        Arc::new(RecordingCommitter::default()),
        ErrorHandler::default(),
        move |record: ConsumerRecord, _acks| {
            let blocker = blocker.clone();
            async move {
                if record.offset == 0 {
                    blocker.notified().await;
                }
                Ok::<(), TestFailure>(())
            }
        },
    );
    // Other keys keep completing while the first record is stuck.
    for n in 0..10 {
        log.append_keyed(Some("flowing"), &n.to_string());
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let busy = worker.handler_busy_for().expect("a record in flight");
    assert!(busy >= Duration::from_secs(9), "busy for {busy:?}");
    release.notify_one();
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn worker_regression_a_seek_while_the_handler_runs_is_not_overwritten() {
    let log = MemoryLog::with_values(&["a", "b", "c"]);
    let deliveries = Seen::default();
    let release = Arc::new(tokio::sync::Notify::new());
    let (seen, blocker) = (deliveries.clone(), release.clone());
    let blocked_once = Arc::new(AtomicUsize::new(0));
    let worker = spawn_partition_worker(
        identity(),
        0,
        settings(CommitPolicy::Record),
        log,
        Arc::new(RecordingCommitter::default()),
        ErrorHandler::default(),
        move |record: ConsumerRecord, _acks| {
            seen.lock().unwrap().push(record.offset);
            let block = record.offset == 1 && blocked_once.fetch_add(1, Ordering::SeqCst) == 0;
            let blocker = blocker.clone();
            async move {
                if block {
                    blocker.notified().await;
                }
                Ok::<(), TestFailure>(())
            }
        },
    );
    wait_for("record 1 in its handler", || {
        deliveries.lock().unwrap().len() == 2
    })
    .await;
    worker.seek(SeekTo::Offset(0));
    // Paused clock: this returns once every task is idle, so the worker has taken the seek.
    tokio::time::sleep(Duration::from_millis(10)).await;
    release.notify_one();
    wait_for("redelivery from the seek", || {
        deliveries.lock().unwrap().len() == 5
    })
    .await;
    assert_eq!(*deliveries.lock().unwrap(), [0, 1, 0, 1, 2]);
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn worker_regression_records_a_seek_drops_in_parallel_mode_do_not_stop_commits() {
    let log = MemoryLog::with_values(&["0", "1", "2", "3", "4", "5"]);
    let committer = Arc::new(RecordingCommitter::default());
    let deliveries = Seen::default();
    let release = Arc::new(tokio::sync::Notify::new());
    let (seen, blocker) = (deliveries.clone(), release.clone());
    let worker = spawn_partition_worker(
        identity(),
        0,
        // One lane: 1, 2 and 3 wait behind 0.
        parallel_settings(CommitPolicy::Record, 4, DispatchOrdering::Partition),
        log,
        committer.clone(),
        ErrorHandler::default(),
        move |record: ConsumerRecord, _acks| {
            seen.lock().unwrap().push(record.offset);
            let blocker = blocker.clone();
            async move {
                if record.offset == 0 {
                    blocker.notified().await;
                }
                Ok::<(), TestFailure>(())
            }
        },
    );
    wait_for("record 0 in its handler", || {
        deliveries.lock().unwrap().len() == 1
    })
    .await;
    worker.seek(SeekTo::Offset(4));
    tokio::time::sleep(Duration::from_millis(10)).await;
    release.notify_one();
    wait_for("commits past the dropped records", || {
        committer.commits().last() == Some(&6)
    })
    .await;
    assert_eq!(*deliveries.lock().unwrap(), [0, 4, 5]);
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn worker_regression_fetching_pauses_while_the_unacknowledged_window_is_full() {
    let log = MemoryLog::with_values(&["a", "b", "c", "d", "e", "f"]);
    let stashed: Arc<Mutex<Vec<(i64, AckEvents)>>> = Default::default();
    let stash = stashed.clone();
    let worker = spawn_partition_worker(
        identity(),
        0,
        WorkerSettings {
            max_unacknowledged: 3,
            max_poll_records: 1,
            ..settings(CommitPolicy::Manual)
        },
        log,
        Arc::new(RecordingCommitter::default()),
        ErrorHandler::default(),
        move |record: ConsumerRecord, acks: AckEvents| {
            stash.lock().unwrap().push((record.offset, acks));
            std::future::ready(Ok::<(), TestFailure>(()))
        },
    );
    wait_for("three records handed out", || {
        stashed.lock().unwrap().len() == 3
    })
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        stashed.lock().unwrap().len(),
        3,
        "no more while none is acknowledged"
    );
    let (offset, acks) = stashed.lock().unwrap().remove(0);
    acks.send(AckEvent::Ack { offset });
    wait_for("one more once one is acknowledged", || {
        stashed.lock().unwrap().last().map(|(o, _)| *o) == Some(3)
    })
    .await;
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn worker_hold_hands_out_nothing_until_released() {
    let log = MemoryLog::with_values(&["a"]);
    let seen = Seen::default();
    let worker = spawn_partition_worker(
        identity(),
        0,
        settings(CommitPolicy::Batch),
        log.clone(),
        Arc::new(RecordingCommitter::default()),
        ErrorHandler::default(),
        ok_handler(seen.clone()),
    );
    wait_for("the first record", || seen.lock().unwrap().len() == 1).await;
    worker.hold();
    tokio::time::sleep(Duration::from_millis(10)).await;
    log.append("b");
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(seen.lock().unwrap().len(), 1, "held: nothing handed out");
    worker.release();
    wait_for("the second record after the release", || {
        seen.lock().unwrap().len() == 2
    })
    .await;
    worker.stop().await;
}

#[tokio::test(start_paused = true)]
async fn worker_regression_a_revocation_drains_for_at_most_the_time_it_is_given() {
    // The fault suite's slow-handler: a revocation drained a stuck handler for the whole drain
    // timeout, longer than the group's rebalance timeout, so the partition went to another
    // member while the handler still ran here.
    let log = MemoryLog::with_values(&["a"]);
    let started = Seen::default();
    let seen = started.clone();
    let worker = spawn_partition_worker(
        identity(),
        0,
        WorkerSettings {
            drain_timeout: Duration::from_secs(30),
            ..settings(CommitPolicy::Record)
        },
        log,
        Arc::new(RecordingCommitter::default()),
        ErrorHandler::default(),
        move |record: ConsumerRecord, _acks| {
            seen.lock().unwrap().push(record.offset);
            std::future::pending::<Result<(), TestFailure>>()
        },
    );
    wait_for("the handler running", || started.lock().unwrap().len() == 1).await;
    let asked = tokio::time::Instant::now();
    let stopped = worker
        .stop_draining_at_most(Some(Duration::from_secs(5)))
        .await
        .expect("a report");
    assert!(stopped.drain_timed_out);
    assert_eq!(stopped.committed, 0, "the stuck record stays uncommitted");
    let took = asked.elapsed();
    assert!(took <= Duration::from_secs(6), "drained for {took:?}");
}
