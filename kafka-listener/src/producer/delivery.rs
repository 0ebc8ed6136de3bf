//! Delivering one record the way Java's producer does: retriable failures are tried again with
//! exponential backoff (`retry.backoff.ms` doubling up to `retry.backoff.max.ms`), at most
//! `retries` times, and never past `delivery.timeout.ms`.

use std::future::Future;
use std::time::Duration;

use rskafka::client::error::{Error as ClientError, ProtocolError, RequestError};
use rskafka::client::producer::Error as ProducerError;
use tokio::time::Instant;

/// One failed attempt.
#[derive(Debug, Clone)]
pub(crate) struct AttemptFailed {
    /// What went wrong, for the error message.
    pub reason: String,
    /// Whether trying again may succeed (Kafka's `RetriableException`).
    pub retriable: bool,
}

impl AttemptFailed {
    pub(crate) fn fatal(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            retriable: false,
        }
    }
}

impl From<&ProducerError> for AttemptFailed {
    fn from(error: &ProducerError) -> Self {
        let retriable = match error {
            ProducerError::Client(client) => is_retriable(client),
            // The batch's result was lost with its task: the record may not have been written.
            ProducerError::FlushError(_) => true,
            ProducerError::Aggregator(_) | ProducerError::TooLarge => false,
        };
        Self {
            reason: error.to_string(),
            retriable,
        }
    }
}

impl From<&ClientError> for AttemptFailed {
    fn from(error: &ClientError) -> Self {
        Self {
            reason: error.to_string(),
            retriable: is_retriable(error),
        }
    }
}

/// The failures Kafka's Java client retries: broken connections, timeouts, and the broker errors
/// that are `RetriableException`s (leadership moving, replicas catching up, metadata lagging).
pub(crate) fn is_retriable(error: &ClientError) -> bool {
    match error {
        ClientError::Connection(_) | ClientError::Timeout | ClientError::RetryFailed(_) => true,
        ClientError::Request(request) => {
            matches!(request, RequestError::IO(_) | RequestError::Poisoned(_))
        }
        ClientError::ServerError { protocol_error, .. } => matches!(
            protocol_error,
            ProtocolError::CorruptMessage
                | ProtocolError::UnknownTopicOrPartition
                | ProtocolError::LeaderNotAvailable
                | ProtocolError::NotLeaderOrFollower
                | ProtocolError::RequestTimedOut
                | ProtocolError::NetworkException
                | ProtocolError::NotEnoughReplicas
                | ProtocolError::NotEnoughReplicasAfterAppend
                | ProtocolError::KafkaStorageError
                | ProtocolError::FencedLeaderEpoch
                | ProtocolError::UnknownLeaderEpoch
                | ProtocolError::ThrottlingQuotaExceeded
        ),
        _ => false,
    }
}

/// How often and how long to try.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    pub retries: u32,
    pub backoff: Duration,
    pub backoff_max: Duration,
    pub deadline: Instant,
}

/// Why delivery gave up.
#[derive(Debug)]
pub(crate) enum Undelivered {
    /// A non-retriable failure, or the retries were used up.
    Failed { last: AttemptFailed, attempts: u32 },
    /// The deadline passed (during an attempt or a backoff).
    TimedOut {
        last: Option<AttemptFailed>,
        attempts: u32,
    },
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1-based): `backoff * 2^(retry-1)`, capped.
    pub(crate) fn backoff_before(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1).min(20));
        self.backoff.saturating_mul(factor).min(self.backoff_max)
    }

    /// Runs `attempt` until it succeeds, fails for good, or the deadline passes.
    pub(crate) async fn run<T, F, Fut>(&self, mut attempt: F) -> Result<T, Undelivered>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, AttemptFailed>>,
    {
        let mut attempts = 0;
        let mut last = None;
        loop {
            attempts += 1;
            let failed = match tokio::time::timeout_at(self.deadline, attempt(attempts)).await {
                Err(_elapsed) => return Err(Undelivered::TimedOut { last, attempts }),
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(failed)) => failed,
            };
            if !failed.retriable || attempts > self.retries {
                return Err(Undelivered::Failed {
                    last: failed,
                    attempts,
                });
            }
            let wait = self.backoff_before(attempts);
            tracing::debug!(attempt = attempts, ?wait, reason = %failed.reason, "retrying a send");
            last = Some(failed);
            if Instant::now() + wait >= self.deadline {
                tokio::time::sleep_until(self.deadline).await;
                return Err(Undelivered::TimedOut { last, attempts });
            }
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn policy(retries: u32, timeout: Duration) -> RetryPolicy {
        RetryPolicy {
            retries,
            backoff: Duration::from_millis(100),
            backoff_max: Duration::from_secs(1),
            deadline: Instant::now() + timeout,
        }
    }

    fn retriable() -> AttemptFailed {
        AttemptFailed {
            reason: "NOT_LEADER_OR_FOLLOWER".into(),
            retriable: true,
        }
    }

    #[test]
    fn backoff_doubles_from_retry_backoff_up_to_its_max() {
        let p = policy(10, Duration::from_secs(60));
        let waits: Vec<u128> = (1..=6).map(|r| p.backoff_before(r).as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(p.backoff_before(u32::MAX), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn retriable_failures_are_retried_until_success() {
        let calls = AtomicU32::new(0);
        let result = policy(5, Duration::from_secs(120))
            .run(|attempt| {
                calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if attempt < 3 {
                        Err(retriable())
                    } else {
                        Ok(42)
                    }
                }
            })
            .await;
        assert_eq!(result.unwrap(), 42);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_zero_means_one_attempt() {
        let result = policy(0, Duration::from_secs(120))
            .run(|_| async { Err::<(), _>(retriable()) })
            .await;
        assert!(matches!(
            result,
            Err(Undelivered::Failed { attempts: 1, .. })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn retries_are_counted_and_then_the_last_failure_is_returned() {
        let result = policy(2, Duration::from_secs(120))
            .run(|_| async { Err::<(), _>(retriable()) })
            .await;
        match result {
            Err(Undelivered::Failed { attempts, last }) => {
                assert_eq!(attempts, 3, "first try plus two retries");
                assert!(last.reason.contains("NOT_LEADER"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_non_retriable_failure_is_not_retried() {
        let calls = AtomicU32::new(0);
        let result = policy(100, Duration::from_secs(120))
            .run(|_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err::<(), _>(AttemptFailed::fatal("MESSAGE_TOO_LARGE")) }
            })
            .await;
        assert!(matches!(
            result,
            Err(Undelivered::Failed { attempts: 1, .. })
        ));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn the_delivery_timeout_bounds_retries_and_slow_attempts() {
        let start = Instant::now();
        let result = policy(u32::MAX, Duration::from_secs(3))
            .run(|_| async { Err::<(), _>(retriable()) })
            .await;
        assert!(matches!(
            result,
            Err(Undelivered::TimedOut { last: Some(_), .. })
        ));
        assert_eq!(start.elapsed(), Duration::from_secs(3));

        let result = policy(5, Duration::from_secs(2))
            .run(|_| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                Ok::<_, AttemptFailed>(())
            })
            .await;
        assert!(matches!(
            result,
            Err(Undelivered::TimedOut {
                last: None,
                attempts: 1
            })
        ));
    }
}
