//! The worker's batch mode: one call per poll, and Spring's batch failure semantics — commit
//! before the failed record, retry from it, recover it alone, never commit past it unprocessed.

use super::*;

#[derive(Debug, thiserror::Error)]
#[error("batch failed at {index:?}")]
struct BatchFailure {
    index: Option<usize>,
}

impl DeliveryFailure for BatchFailure {
    fn is_retryable(&self) -> bool {
        true
    }

    fn failed_batch_record(&self) -> Option<crate::error::BatchFailurePoint> {
        self.index.map(|index| crate::error::BatchFailurePoint {
            index,
            earlier_records_processed: true,
        })
    }
}

type Batches = Arc<Mutex<Vec<Vec<i64>>>>;
type NoRecords = fn(ConsumerRecord, AckEvents) -> std::future::Ready<Result<(), BatchFailure>>;

/// A batch handler that logs each call's offsets and fails as `fail` says for that batch.
fn spawn_batch_worker(
    log: MemoryLog,
    committer: Arc<RecordingCommitter>,
    error_handler: ErrorHandler,
    fail: impl Fn(&[i64]) -> Option<BatchFailure> + Send + Sync + 'static,
) -> (WorkerHandle, Batches) {
    let batches = Batches::default();
    let seen = batches.clone();
    let dispatch: BatchDispatch<BatchFailure> = Arc::new(move |records, _acks| {
        let offsets: Vec<i64> = records.iter().map(|r: &ConsumerRecord| r.offset).collect();
        seen.lock().unwrap().push(offsets.clone());
        let result = match fail(&offsets) {
            Some(failure) => Err(failure),
            None => Ok(()),
        };
        Box::pin(std::future::ready(result))
    });
    let worker = spawn_worker(
        identity(),
        0,
        settings(CommitPolicy::Batch),
        log,
        committer,
        error_handler,
        ListenerDispatch::<NoRecords, _>::Batches(dispatch),
    );
    (worker, batches)
}

fn no_wait(retries: u64) -> ErrorHandler {
    ErrorHandler::new(
        FixedBackOff::new(Duration::ZERO, retries),
        Recoverer::LogAndSkip,
    )
}

#[tokio::test]
async fn batch_listener_gets_the_polls_records_in_one_call_then_commits() {
    let log = MemoryLog::with_values(&["a", "b", "c"]);
    let committer = Arc::new(RecordingCommitter::default());
    let (worker, batches) =
        spawn_batch_worker(log, committer.clone(), ErrorHandler::default(), |_| None);
    wait_for("commit of 3", || committer.commits().contains(&3)).await;
    assert_eq!(*batches.lock().unwrap(), vec![vec![0, 1, 2]]);
    worker.stop().await;
}

#[tokio::test]
async fn batch_failure_at_index_commits_before_it_and_retries_from_it() {
    let log = MemoryLog::with_values(&["a", "b", "c", "d", "e"]);
    let committer = Arc::new(RecordingCommitter::default());
    let failed_once = Arc::new(AtomicUsize::new(0));
    let (worker, batches) = spawn_batch_worker(log, committer.clone(), no_wait(3), move |b| {
        (b[0] == 0 && failed_once.fetch_add(1, Ordering::SeqCst) == 0)
            .then_some(BatchFailure { index: Some(2) })
    });
    wait_for("commit of 5", || committer.commits().contains(&5)).await;
    assert_eq!(
        *batches.lock().unwrap(),
        vec![vec![0, 1, 2, 3, 4], vec![2, 3, 4]]
    );
    assert_eq!(
        committer.commits(),
        vec![2, 5],
        "records before the failure first"
    );
    worker.stop().await;
}

#[tokio::test]
async fn batch_failure_at_index_exhausted_recovers_that_record_alone_then_delivers_the_rest() {
    let log = MemoryLog::with_values(&["a", "b", "poison", "d", "e"]);
    let committer = Arc::new(RecordingCommitter::default());
    let (worker, batches) = spawn_batch_worker(log, committer.clone(), no_wait(2), |b| {
        b.iter()
            .position(|&offset| offset == 2)
            .map(|index| BatchFailure { index: Some(index) })
    });
    wait_for("commit of 5", || committer.commits().contains(&5)).await;
    assert_eq!(
        *batches.lock().unwrap(),
        vec![
            vec![0, 1, 2, 3, 4],
            vec![2, 3, 4],
            vec![2, 3, 4],
            vec![3, 4]
        ],
        "one delivery, two retries from the poison record, then the rest without it"
    );
    assert!(
        committer.commits().starts_with(&[2]),
        "{:?}",
        committer.commits()
    );
    worker.stop().await;
}

#[tokio::test]
async fn batch_failure_without_index_retries_the_whole_batch_then_recovers_each_record() {
    let log = MemoryLog::with_values(&["a", "b"]);
    let committer = Arc::new(RecordingCommitter::default());
    let (worker, batches) = spawn_batch_worker(log, committer.clone(), no_wait(1), |_| {
        Some(BatchFailure { index: None })
    });
    wait_for("commit of 2", || committer.commits().contains(&2)).await;
    assert_eq!(*batches.lock().unwrap(), vec![vec![0, 1], vec![0, 1]]);
    worker.stop().await;
}

#[tokio::test]
async fn batch_failure_while_stopping_commits_nothing_after_the_failed_record() {
    let log = MemoryLog::with_values(&["a", "b", "c"]);
    let committer = Arc::new(RecordingCommitter::default());
    let slow_retries = ErrorHandler::new(
        FixedBackOff::new(Duration::from_secs(30), 5),
        Recoverer::LogAndSkip,
    );
    let (worker, batches) = spawn_batch_worker(log, committer.clone(), slow_retries, |b| {
        b.iter()
            .position(|&offset| offset == 1)
            .map(|index| BatchFailure { index: Some(index) })
    });
    wait_for("the first delivery", || !batches.lock().unwrap().is_empty()).await;
    wait_for("commit of 1", || committer.commits().contains(&1)).await;
    let stopped = worker.stop().await.unwrap();
    assert_eq!(
        stopped.committed, 1,
        "record 1 failed and was never recovered"
    );
}
