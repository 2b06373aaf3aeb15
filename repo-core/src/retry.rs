//! How units of work run again when the database says a retry may succeed (deadlocks,
//! serialization failures, lock timeouts, a busy SQLite database): the policy, and the options
//! of one [`Db::transaction_with`](crate::Db::transaction_with) call.

use std::time::{Duration, Instant};

use crate::dialect::Isolation;

/// How [`Db::transaction`](crate::Db::transaction) retries: at most `attempts` runs in all, waiting between them an
/// exponentially growing delay (`base_delay`, doubled per retry, at most `max_delay`) of which a
/// random part is left out (jitter), so workers that collided do not collide again in step.
///
/// A call whose connection was lost before anything of it could commit (see
/// [`Error::is_connection_lost`](crate::Error::is_connection_lost)) runs again with the same
/// delays for as long as [`reconnect_for`](RetryPolicy::reconnect_for) allows since its first
/// run, even past `attempts`: a server restarting or failing over takes seconds, longer than a
/// few doubling delays last.
///
/// The default: 5 attempts, 10 ms doubling up to 1 s, and 30 s to find a working connection
/// again. Set it for a [`Db`](crate::Db) with [`DbOptions::retry`](crate::DbOptions::retry) or
/// per call with [`Db::transaction_with`](crate::Db::transaction_with).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    reconnect: Duration,
}

/// How long a call that lost its connection keeps trying a fresh one, by default.
const RECONNECT: Duration = Duration::from_secs(30);

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(1),
            reconnect: RECONNECT,
        }
    }
}

impl RetryPolicy {
    /// At most `attempts` runs in all (1: never retry, not even after a lost connection), with
    /// the default delays.
    #[must_use]
    pub fn attempts(attempts: u32) -> Self {
        let attempts = attempts.max(1);
        Self {
            attempts,
            reconnect: if attempts == 1 {
                Duration::ZERO
            } else {
                RECONNECT
            },
            ..Self::default()
        }
    }

    /// How long after its first run a call whose connection was lost before anything could
    /// commit may still run again (default 30 s; `Duration::ZERO`: only within `attempts`).
    #[must_use]
    pub fn reconnect_for(mut self, window: Duration) -> Self {
        self.reconnect = window;
        self
    }

    /// Whether a call first run at `since` may run again after its run `attempt` failed,
    /// `lost_connection` saying whether it lost its connection before anything could commit.
    pub(crate) fn may_retry(&self, attempt: u32, since: Instant, lost_connection: bool) -> bool {
        attempt < self.attempts || (lost_connection && since.elapsed() < self.reconnect)
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

    #[test]
    fn a_lost_connection_is_retried_for_the_reconnect_window() {
        let since = Instant::now();
        let policy = RetryPolicy::attempts(2);
        assert!(policy.may_retry(1, since, false));
        assert!(!policy.may_retry(2, since, false));
        assert!(policy.may_retry(9, since, true));
        let past = since.checked_sub(Duration::from_secs(31)).unwrap_or(since);
        assert!(!policy.may_retry(9, past, true) || past == since);
        assert!(!RetryPolicy::never().may_retry(1, since, true));
        assert!(
            !policy
                .reconnect_for(Duration::ZERO)
                .may_retry(2, since, true)
        );
    }
}
