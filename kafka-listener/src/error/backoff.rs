//! How long to wait between delivery attempts of a failed record: Spring's `BackOff`s.

use std::time::Duration;

/// A back-off policy. Each failing record gets a fresh [`BackOffExecution`] from
/// [`start`](BackOff::start).
pub trait BackOff: Send + Sync + std::fmt::Debug {
    /// A new execution for one record's retries.
    fn start(&self) -> BackOffExecution;
}

/// The retry schedule of one record: each call to [`next`](BackOffExecution::next) is one more
/// retry; `None` means the retries are exhausted and the recoverer runs.
#[derive(Debug, Clone)]
pub struct BackOffExecution {
    schedule: Schedule,
    retries: u64,
    elapsed: Duration,
}

#[derive(Debug, Clone)]
enum Schedule {
    Fixed(FixedBackOff),
    Exponential(ExponentialBackOff),
}

impl BackOffExecution {
    /// The wait before the next retry, or `None` when no retry is left.
    #[allow(clippy::should_implement_trait)] // a schedule, not an iterator of items
    pub fn next(&mut self) -> Option<Duration> {
        match &self.schedule {
            Schedule::Fixed(fixed) => {
                if self.retries >= fixed.max_attempts {
                    return None;
                }
                self.retries += 1;
                Some(fixed.interval)
            }
            Schedule::Exponential(exp) => {
                if self.retries >= exp.max_attempts || self.elapsed >= exp.max_elapsed {
                    return None;
                }
                let interval = exp
                    .initial
                    .mul_f64(
                        exp.multiplier
                            .powi(self.retries.min(i32::MAX as u64) as i32),
                    )
                    .min(exp.max_interval);
                self.retries += 1;
                self.elapsed += interval;
                Some(interval)
            }
        }
    }

    /// How many retries were handed out so far.
    pub fn retries(&self) -> u64 {
        self.retries
    }
}

/// A fixed wait between retries, at most `max_attempts` retries — Spring's
/// `FixedBackOff(interval, maxAttempts)`, where, as in Spring, `max_attempts` counts retries
/// after the first delivery: `FixedBackOff::new(0, 9)` (the `DefaultErrorHandler`'s default)
/// delivers a failing record 10 times.
///
/// ```
/// use kafka_listener::error::{BackOff, FixedBackOff};
/// use std::time::Duration;
///
/// let mut execution = FixedBackOff::new(Duration::from_millis(100), 2).start();
/// assert_eq!(execution.next(), Some(Duration::from_millis(100)));
/// assert_eq!(execution.next(), Some(Duration::from_millis(100)));
/// assert_eq!(execution.next(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedBackOff {
    /// Wait between attempts.
    pub interval: Duration,
    /// Retries after the first delivery.
    pub max_attempts: u64,
}

impl FixedBackOff {
    /// `max_attempts` retries, `interval` apart.
    pub const fn new(interval: Duration, max_attempts: u64) -> Self {
        Self {
            interval,
            max_attempts,
        }
    }
}

impl Default for FixedBackOff {
    /// Spring's `DefaultErrorHandler` default: 9 retries (10 deliveries), no wait.
    fn default() -> Self {
        Self::new(Duration::ZERO, 9)
    }
}

impl BackOff for FixedBackOff {
    fn start(&self) -> BackOffExecution {
        BackOffExecution {
            schedule: Schedule::Fixed(*self),
            retries: 0,
            elapsed: Duration::ZERO,
        }
    }
}

/// Growing waits — Spring's `ExponentialBackOff`: `initial`, then × `multiplier` each retry,
/// each wait capped at `max_interval`; retries stop once the waits so far add up to
/// `max_elapsed` (the wait that crosses it is still taken, as in Spring) or after
/// `max_attempts` retries.
///
/// ```
/// use kafka_listener::error::{BackOff, ExponentialBackOff};
/// use std::time::Duration;
///
/// let ms = Duration::from_millis;
/// let policy = ExponentialBackOff::new(ms(1000), 2.0, ms(3000), ms(5000));
/// let mut execution = policy.start();
/// assert_eq!(execution.next(), Some(ms(1000)));
/// assert_eq!(execution.next(), Some(ms(2000)));
/// assert_eq!(execution.next(), Some(ms(3000))); // capped; elapsed now 6 s ≥ 5 s
/// assert_eq!(execution.next(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExponentialBackOff {
    /// First wait.
    pub initial: Duration,
    /// Growth factor per retry.
    pub multiplier: f64,
    /// Longest single wait.
    pub max_interval: Duration,
    /// Stop once the waits add up to this.
    pub max_elapsed: Duration,
    /// Stop after this many retries (unlimited by default).
    pub max_attempts: u64,
}

impl ExponentialBackOff {
    /// A policy with unlimited attempts, bounded by `max_elapsed`.
    pub fn new(
        initial: Duration,
        multiplier: f64,
        max_interval: Duration,
        max_elapsed: Duration,
    ) -> Self {
        Self {
            initial,
            multiplier: multiplier.max(1.0),
            max_interval,
            max_elapsed,
            max_attempts: u64::MAX,
        }
    }

    /// Also stop after `max_attempts` retries.
    pub fn with_max_attempts(mut self, max_attempts: u64) -> Self {
        self.max_attempts = max_attempts;
        self
    }
}

impl Default for ExponentialBackOff {
    /// Spring's defaults: 2 s, × 1.5, at most 30 s each, unlimited elapsed time.
    fn default() -> Self {
        Self::new(
            Duration::from_secs(2),
            1.5,
            Duration::from_secs(30),
            Duration::MAX,
        )
    }
}

impl BackOff for ExponentialBackOff {
    fn start(&self) -> BackOffExecution {
        BackOffExecution {
            schedule: Schedule::Exponential(*self),
            retries: 0,
            elapsed: Duration::ZERO,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_fixed_back_off_gives_nine_immediate_retries_like_spring() {
        let mut execution = FixedBackOff::default().start();
        let waits: Vec<_> = std::iter::from_fn(|| execution.next()).collect();
        assert_eq!(waits, vec![Duration::ZERO; 9]);
        assert_eq!(execution.retries(), 9);
    }

    #[test]
    fn each_record_gets_a_fresh_execution() {
        let policy = FixedBackOff::new(Duration::ZERO, 1);
        let mut first = policy.start();
        assert!(first.next().is_some());
        assert!(first.next().is_none());
        assert!(policy.start().next().is_some());
    }

    #[test]
    fn exponential_back_off_honours_max_attempts() {
        let ms = Duration::from_millis;
        let mut execution = ExponentialBackOff::new(ms(10), 3.0, ms(1000), Duration::MAX)
            .with_max_attempts(3)
            .start();
        assert_eq!(execution.next(), Some(ms(10)));
        assert_eq!(execution.next(), Some(ms(30)));
        assert_eq!(execution.next(), Some(ms(90)));
        assert_eq!(execution.next(), None);
    }

    #[test]
    fn a_multiplier_below_one_does_not_shrink_waits() {
        let ms = Duration::from_millis;
        let mut execution = ExponentialBackOff::new(ms(10), 0.5, ms(1000), ms(100)).start();
        assert_eq!(execution.next(), Some(ms(10)));
        assert_eq!(execution.next(), Some(ms(10)));
    }
}
