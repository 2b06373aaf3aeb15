//! How units of work run again when the database says a retry may succeed (deadlocks,
//! serialization failures, lock timeouts, a busy SQLite database): the policy, and the options
//! of one [`Db::transaction_with`](crate::Db::transaction_with) call.

use std::time::Duration;

use crate::dialect::Isolation;

/// How [`Db::transaction`](crate::Db::transaction) retries: at most `attempts` runs in all, waiting between them an
/// exponentially growing delay (`base_delay`, doubled per retry, at most `max_delay`) of which a
/// random part is left out (jitter), so workers that collided do not collide again in step.
///
/// The default: 5 attempts, 10 ms doubling up to 1 s. Set it for a [`Db`](crate::Db) with
/// [`DbOptions::retry`](crate::DbOptions::retry) or per call with
/// [`Db::transaction_with`](crate::Db::transaction_with).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(1),
        }
    }
}

impl RetryPolicy {
    /// At most `attempts` runs in all (1: never retry), with the default delays.
    #[must_use]
    pub fn attempts(attempts: u32) -> Self {
        Self {
            attempts: attempts.max(1),
            ..Self::default()
        }
    }

    /// No retry: one run.
    #[must_use]
    pub fn never() -> Self {
        Self::attempts(1)
    }

    /// The delay before the first retry, and the most any delay grows to.
    #[must_use]
    pub fn delays(mut self, base_delay: Duration, max_delay: Duration) -> Self {
        self.base_delay = base_delay;
        self.max_delay = max_delay.max(base_delay);
        self
    }

    /// The most runs in all.
    #[must_use]
    pub fn max_attempts(&self) -> u32 {
        self.attempts
    }

    /// The wait before run `attempt + 1`: `base_delay * 2^(attempt - 1)` capped at
    /// `max_delay`, of which a random half or less is left out.
    #[must_use]
    pub fn delay(&self, attempt: u32) -> Duration {
        let doubled = self
            .base_delay
            .saturating_mul(1_u32 << attempt.saturating_sub(1).min(20));
        let full = doubled.min(self.max_delay);
        let random = getrandom::u32().unwrap_or(u32::MAX / 2);
        // A fraction in [0.5, 1.0] of the full delay.
        full.mul_f64(0.5 + f64::from(random) / f64::from(u32::MAX) / 2.0)
    }
}

/// How [`Db::transaction_with`](crate::Db::transaction_with) runs a unit of work: its retry policy (else the `Db`'s) and
/// isolation level (else the database's default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransactionOptions {
    pub(crate) retry: Option<RetryPolicy>,
    pub(crate) isolation: Option<Isolation>,
}

impl TransactionOptions {
    /// The `Db`'s retry policy, the database's isolation level.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Retry as `policy` says.
    #[must_use]
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = Some(policy);
        self
    }

    /// Run at isolation level `isolation`.
    #[must_use]
    pub fn isolation(mut self, isolation: Isolation) -> Self {
        self.isolation = Some(isolation);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_with_jitter() {
        let policy =
            RetryPolicy::attempts(8).delays(Duration::from_millis(10), Duration::from_millis(50));
        for (attempt, full) in [(1, 10), (2, 20), (3, 40), (4, 50), (9, 50)] {
            let delay = policy.delay(attempt);
            let full = Duration::from_millis(full);
            assert!(delay <= full && delay >= full / 2, "{attempt}: {delay:?}");
        }
        assert_eq!(RetryPolicy::never().max_attempts(), 1);
        assert_eq!(RetryPolicy::attempts(0).max_attempts(), 1);
    }
}
