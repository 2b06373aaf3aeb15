//! Units of work that run again when the database says a retry may succeed: deadlocks,
//! serialization failures, lock timeouts, a busy SQLite database.

use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::db::Db;
use crate::error::Result;
use crate::session::{Isolation, Session};

/// How [`Db::transaction`] retries: at most `attempts` runs in all, waiting between them an
/// exponentially growing delay (`base_delay`, doubled per retry, at most `max_delay`) of which a
/// random part is left out (jitter), so workers that collided do not collide again in step.
///
/// The default: 5 attempts, 10 ms doubling up to 1 s. Set it for a [`Db`] with
/// [`DbOptions::retry`](crate::DbOptions::retry) or per call with
/// [`Db::transaction_with`].
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

/// How [`Db::transaction_with`] runs a unit of work: its retry policy (else the `Db`'s) and
/// isolation level (else the database's default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransactionOptions {
    retry: Option<RetryPolicy>,
    isolation: Option<Isolation>,
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

impl Db {
    /// Run `work` as one unit of work and commit it; when it fails with a
    /// [retryable](crate::Error::is_retryable) error (in a statement or at commit), roll back
    /// and run it again, as the [`RetryPolicy`] of this `Db` allows. Any other error returns at
    /// once, with the unit of work rolled back.
    ///
    /// **`work` may run more than once**: it must not have effects outside the session that a
    /// second run would repeat (or they must be idempotent). Each retry is recorded as a
    /// tracing event with the attempt, the delay and the error.
    ///
    /// `work` returns a boxed future that borrows the session (`Box::pin(async move { … })`),
    /// so the whole call stays `Send` and can run in a spawned task.
    ///
    /// ```
    /// use repo_core::prelude::*;
    ///
    /// #[derive(Debug, Clone, Repository)]
    /// #[repo(table = "accounts")]
    /// pub struct Account {
    ///     #[repo(primary_key)]
    ///     pub id: String,
    ///     pub balance: i64,
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> repo_core::Result<()> {
    /// let db = Db::connect("sqlite::memory:").await?;
    /// db.create_schema::<Account>().await?;
    /// let total = db
    ///     .transaction(|session| {
    ///         Box::pin(async move {
    ///             let accounts = AccountRepository::new(session);
    ///             accounts.insert(&Account { id: "a".into(), balance: 10 }).await?;
    ///             accounts.insert(&Account { id: "b".into(), balance: 5 }).await?;
    ///             accounts.count(Filter::all()).await
    ///         })
    ///     })
    ///     .await?;
    /// assert_eq!(total, 2);
    /// # Ok(()) }
    /// ```
    pub async fn transaction<T, F>(&self, work: F) -> Result<T>
    where
        F: for<'s> FnMut(&'s Session) -> BoxFuture<'s, Result<T>>,
    {
        self.transaction_with(TransactionOptions::new(), work).await
    }

    /// [`transaction`](Db::transaction) with a retry policy or isolation level of its own.
    pub async fn transaction_with<T, F>(
        &self,
        options: TransactionOptions,
        mut work: F,
    ) -> Result<T>
    where
        F: for<'s> FnMut(&'s Session) -> BoxFuture<'s, Result<T>>,
    {
        let policy = options.retry.unwrap_or(self.settings.retry);
        let mut attempt = 1;
        loop {
            let result = match Session::begin(self, options.isolation).await {
                Ok(session) => match work(&session).await {
                    Ok(value) => session.commit().await.map(|()| value),
                    Err(error) => {
                        // The error matters more than a failed rollback; dropping the session
                        // rolls back regardless.
                        let _ = session.rollback().await;
                        Err(error)
                    }
                },
                Err(error) => Err(error),
            };
            match result {
                Err(error) if error.is_retryable() && attempt < policy.attempts => {
                    let delay = policy.delay(attempt);
                    tracing::info!(
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        error = %error,
                        "unit of work failed with a retryable error: running it again"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
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
