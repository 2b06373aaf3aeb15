//! Running statements on a pool or inside a session, on whichever backend it is.

mod driver;
pub(crate) mod observe;
mod stream;
mod units;
mod write_guard;

pub(crate) use write_guard::WriteGuard;

use driver::{Bind, Text, execute_on, fetch_all_on, fetch_optional_on, into_shared};
use observe::Observed;

use crate::backend::classify::classify_untyped;
use crate::backend::{Lent, Pool, Tx};
use crate::db::Db;
use crate::dialect::Backend;
use crate::dialect::dispatch;
use crate::error::{Error, Result};
use crate::row::Row;
use crate::session::Session;
use crate::settings::Settings;
pub use crate::statements::{RunnableStatement, Statement};

/// Where a repository runs its statements: the pool (autocommit) or a [`Session`].
#[derive(Debug, Clone, Copy)]
pub enum Conn<'a> {
    /// Each call on its own pooled connection, committed at once.
    Db(&'a Db),
    /// Every call inside the session's transaction.
    Session(&'a Session),
}

impl<'a> From<&'a Db> for Conn<'a> {
    fn from(db: &'a Db) -> Self {
        Self::Db(db)
    }
}

impl<'a> From<&'a Session> for Conn<'a> {
    fn from(session: &'a Session) -> Self {
        Self::Session(session)
    }
}

impl<'a> From<&Conn<'a>> for Conn<'a> {
    fn from(conn: &Conn<'a>) -> Self {
        *conn
    }
}

/// Statements with more values than this are not run again on their own: only bulk chunks
/// are that large, and a bulk write retries as a whole (see [`Conn::atomic`]).
const RETRY_VALUE_LIMIT: usize = 1_024;

/// Whether a driver error means "run it again" (a deadlock, a busy database, …).
pub(super) fn retryable(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if crate::backend::is_retryable(&**db))
}

/// Whether a transaction that failed with `error` before its `COMMIT` was sent may run again:
/// a retryable error, or a lost connection (the server rolls back what it had).
pub(super) fn uncommitted_retryable(error: &sqlx::Error) -> bool {
    retryable(error) || crate::backend::is_connection_lost(error)
}

/// Whether `error`, on a pool that follows the hosts of a multi-host URL, says the primary may
/// have moved (a read-only server refused a write): the call runs again, as after a lost
/// connection, on the host found next.
pub(super) fn primary_moved(db: &Db, error: &sqlx::Error) -> bool {
    db.pool.follows_hosts() && crate::backend::refused_as_read_only(error)
}

pub(crate) use crate::backend::commit_failed;

/// Wait before running a statement or unit of work on the pool again, and say so.
pub(super) async fn before_retry(
    settings: &Settings,
    span: &tracing::Span,
    attempt: u32,
    error: &(dyn std::fmt::Display + Sync),
) {
    let policy = &settings.retry;
    observe::count_retry(&settings.telemetry);
    let delay = policy.delay(attempt);
    // In the statement's span when there is one (it is not entered while the statement
    // runs: entering it on every poll would cost more than the span itself).
    span.in_scope(|| {
        tracing::info!(
            attempt,
            delay_ms = delay.as_millis() as u64,
            error = %error,
            "statement failed with a retryable error: running it again"
        );
    });
    tokio::time::sleep(delay).await;
}

/// What to do with a call on the pool that failed as `failed`: run it again (after the
/// wait `before_retry` takes), or return its error. Retried, within the policy: a retryable
/// error (a deadlock, a busy database) of a statement small enough to run again alone; a
/// connection lost before anything could commit (before the statement was sent, in a
/// statement inside a transaction of its own, in a read). A write whose connection was lost
/// while it may have committed is [`Error::OutcomeUnknown`], never run again.
pub(super) fn after_pool_failure(
    failed: crate::backend::Failed,
    read_only: bool,
    small: bool,
    moved: fn(&sqlx::Error) -> bool,
    classify: fn(sqlx::Error) -> Error,
) -> std::result::Result<sqlx::Error, Error> {
    use crate::backend::{Failed, is_connection_lost};
    match failed {
        Failed::Before(error) if is_connection_lost(&error) => Ok(error),
        // Refused, so nothing was written.
        Failed::Statement { error, .. } if moved(&error) => Ok(error),
        Failed::Statement { error, .. } if small && retryable(&error) => Ok(error),
        Failed::Statement {
            error,
            committed_alone,
        } if is_connection_lost(&error) => {
            if read_only || !committed_alone {
                Ok(error)
            } else {
                Err(Error::OutcomeUnknown { source: error })
            }
        }
        // Through a pooler a read is committed too; it changed nothing, and runs again.
        Failed::Commit(error) if is_connection_lost(&error) => {
            if read_only {
                Ok(error)
            } else {
                Err(Error::OutcomeUnknown { source: error })
            }
        }
        Failed::Before(error) | Failed::Statement { error, .. } | Failed::Commit(error) => {
            Err(classify(error))
        }
    }
}

/// Whether a replica that failed a read as `failed` rests before it serves again: after a
/// lost or refused connection (or a pool with none free in time), not after a statement it
/// refused (one that writes, a conflict with the replay), which the primary then answers.
fn replica_failure(failed: &crate::backend::Failed) -> bool {
    use crate::backend::{Failed, is_connection_lost};
    match failed {
        Failed::Before(_) => true,
        Failed::Statement { error, .. } | Failed::Commit(error) => {
            is_connection_lost(error) || matches!(error, sqlx::Error::PoolTimedOut)
        }
    }
}

/// Run `$op` once on a connection of `$pool` lent for the call (closed if the call is cut off
/// mid-statement): its value, or where it failed.
macro_rules! call_on {
    ($pool:expr, $op:ident, $text:expr, $values:expr) => {
        dispatch!(Pool, $pool, |pool, D| {
            match Lent::acquire(pool).await {
                Ok(mut conn) => {
                    let result = $op(&mut *conn, $text.sql(), $values).await;
                    conn.settle(&result);
                    conn.finish_call(result).await
                }
                Err(error) => Err(crate::backend::Failed::Before(error)),
            }
        })
    };
}

/// Run `$op` with the statement `$text` and `$values` where `$conn` runs statements, observed
/// by `$observed`.
macro_rules! run {
    ($conn:expr, $op:ident, $text:expr, $values:expr, $observed:expr, $classify:expr) => {
        match $conn {
            // A statement on the pool is its own transaction: one that failed changed nothing
            // and can run again; one whose connection was lost may have committed, unless it
            // only read.
            Conn::Db(db) => {
                let policy = db.settings.retry;
                // Bound from a borrow on each attempt: a retry copies neither text nor values.
                let (text, values): (&Text, Vec<sea_query::Value>) = ($text, $values);
                let small = values.len() <= RETRY_VALUE_LIMIT;
                let read_only = crate::session::is_read_only(text.sql().as_str());
                // A read on a replica, when the handle reads from one and one is fit; boxed, so
                // that calls on the primary carry none of it.
                let on_replica = if read_only && db.routes_reads() {
                    Box::pin(async {
                        let replica = db.replica_for_read().await?;
                        let values = Bind::Borrowed(&values);
                        let result = call_on!(&replica.pool, $op, text, values);
                        // Whatever failed there runs on the primary, which answers for it.
                        result
                            .map_err(|failed| {
                                db.read_failed_over(replica, replica_failure(&failed));
                            })
                            .ok()
                    })
                    .await
                } else {
                    None
                };
                if let Some(value) = on_replica {
                    $observed.on_replica();
                    Ok(value)
                } else {
                    let (mut attempt, since) = (1, std::time::Instant::now());
                    let result = loop {
                        let values = Bind::Borrowed(&values);
                        let result = call_on!(&db.pool, $op, text, values);
                        let failed = match result {
                            Ok(value) => break Ok(value),
                            Err(failed) => failed,
                        };
                        let follows = db.pool.follows_hosts();
                        let moved: fn(&sqlx::Error) -> bool = if follows {
                            crate::backend::refused_as_read_only
                        } else {
                            |_| false
                        };
                        match after_pool_failure(failed, read_only, small, moved, $classify) {
                            Ok(error)
                                if policy.may_retry(
                                    attempt,
                                    since,
                                    crate::backend::is_connection_lost(&error) || moved(&error),
                                ) =>
                            {
                                before_retry(&db.settings, $observed.span(), attempt, &error).await;
                                attempt += 1;
                            }
                            Ok(error) => break Err($classify(error)),
                            Err(error) => break Err(error),
                        }
                    };
                    match result {
                        // Only the value is held across the wait: an error is large.
                        Ok(value) if !read_only && db.replicas.is_some() => {
                            Box::pin(db.after_write()).await;
                            Ok(value)
                        }
                        result => result,
                    }
                }
            }
            Conn::Session(session) => {
                let (text, values): (&Text, Vec<sea_query::Value>) = ($text, $values);
                let mut state = session.lock().await;
                let guarded = state.before_statement(text.as_str()).await?;
                let sql = text.sql();
                let values = Bind::Owned(values);
                let result =
                    dispatch!(Tx, &mut state.tx, |tx, D| $op(&mut **tx, sql, values).await);
                state.tx.settle(&result);
                state.after_statement(result, guarded, $classify).await
            }
        }
    };
}

impl<'a> Conn<'a> {
    /// The backend statements run on.
    #[must_use]
    pub fn backend(&self) -> Backend {
        match self {
            Self::Db(db) => db.backend(),
            Self::Session(session) => session.backend(),
        }
    }

    /// Who writes made here are recorded as, in the audit log.
    pub(crate) fn actor(&self) -> Option<std::sync::Arc<str>> {
        match self {
            Self::Db(db) => db.actor.clone(),
            Self::Session(session) => session.actor_name(),
        }
    }

    pub(crate) fn settings(&self) -> &'a Settings {
        match self {
            Self::Db(db) => &db.settings,
            Self::Session(session) => &session.settings,
        }
    }

    /// What the database says about `table`, read where statements run (inside the session's
    /// transaction, so a table it created is seen, and never aborting it).
    pub(crate) async fn describe(
        &self,
        table: &crate::backend::Table<'_>,
    ) -> Result<crate::backend::TableDescription> {
        match self {
            Conn::Db(db) => db.pool.describe(table).await.map_err(classify_untyped),
            Conn::Session(session) => session.lock().await.describe(table).await,
        }
    }

    /// Run a statement; the number of rows it affected.
    ///
    /// A statement that writes makes the read cache forget every cached table its text names
    /// (see the README section "A read cache").
    pub async fn execute(&self, statement: Statement) -> Result<u64> {
        let guard = self.writing(&statement);
        let done = self.execute_as(statement, classify_untyped).await;
        if let Some(guard) = guard {
            guard.done(None).await;
        }
        done
    }

    /// Run a query; all its rows, undecoded (see [`fetch`](Conn::fetch) for writes).
    pub async fn fetch_all(&self, statement: Statement) -> Result<Vec<Row>> {
        let guard = self.writing(&statement);
        let rows = self.fetch_all_as(statement, classify_untyped).await;
        if let Some(guard) = guard {
            guard.done(None).await;
        }
        rows
    }

    /// Run a query; its first row, if any.
    pub async fn fetch_optional(&self, statement: Statement) -> Result<Option<Row>> {
        let guard = self.writing(&statement);
        let row = self.fetch_optional_as(statement, classify_untyped).await;
        if let Some(guard) = guard {
            guard.done(None).await;
        }
        row
    }

    /// The read cache's guard of `statement`, a statement not built by the framework, when it
    /// writes and the `Db` has a cache.
    pub(crate) fn writing(&self, statement: &Statement) -> Option<WriteGuard<'a>> {
        (self.settings().cache.is_some() && !crate::session::is_read_only(statement.sql()))
            .then(|| WriteGuard::new(*self, None, false, Some(statement.sql())))
    }

    pub(crate) async fn execute_as(
        &self,
        statement: Statement,
        classify: fn(sqlx::Error) -> Error,
    ) -> Result<u64> {
        let (text, values) = into_shared(statement);
        let observed = Observed::start(&self.settings().telemetry, text.as_str());
        let done = async { run!(self, execute_on, &text, values, observed, classify) }.await;
        observed.finish(&done, None, done.as_ref().ok().copied());
        done
    }

    pub(crate) async fn fetch_all_as(
        &self,
        statement: Statement,
        classify: fn(sqlx::Error) -> Error,
    ) -> Result<Vec<Row>> {
        let (text, values) = into_shared(statement);
        let observed = Observed::start(&self.settings().telemetry, text.as_str());
        let rows = async { run!(self, fetch_all_on, &text, values, observed, classify) }.await;
        let returned = rows.as_ref().ok().map(|rows| rows.len() as u64);
        observed.finish(&rows, returned, None);
        rows
    }

    pub(crate) async fn fetch_optional_as(
        &self,
        statement: Statement,
        classify: fn(sqlx::Error) -> Error,
    ) -> Result<Option<Row>> {
        let (text, values) = into_shared(statement);
        let observed = Observed::start(&self.settings().telemetry, text.as_str());
        let row = async { run!(self, fetch_optional_on, &text, values, observed, classify) }.await;
        let returned = row.as_ref().ok().map(|row| u64::from(row.is_some()));
        observed.finish(&row, returned, None);
        row
    }
}
