//! Units of work that run again after a retryable failure: [`Db::transaction`].

use futures_util::future::BoxFuture;

use crate::db::Db;
use crate::error::Result;
use crate::retry::TransactionOptions;
use crate::session::Session;

impl Db {
    /// Run `work` as one unit of work and commit it; when it fails with a
    /// [retryable](crate::Error::is_retryable) error (in a statement or at commit), roll back
    /// and run it again, as the [`RetryPolicy`](crate::RetryPolicy) of this `Db` allows. Any other error returns at
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
        let (mut attempt, since) = (1, std::time::Instant::now());
        loop {
            let result = match Session::begin(self.origin(), options.isolation).await {
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
            // A write refused as read-only by a node a failover demoted wrote nothing: the
            // pool searches the hosts again and the unit of work runs on the new primary.
            let moved =
                |error: &crate::Error| self.pool.follows_hosts() && error.refused_as_read_only();
            match result {
                Err(error)
                    if (error.is_retryable() || moved(&error))
                        && policy.may_retry(
                            attempt,
                            since,
                            error.is_connection_lost() || moved(&error),
                        ) =>
                {
                    let delay = policy.delay(attempt);
                    crate::exec::observe::count_retry(&self.settings.telemetry);
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
