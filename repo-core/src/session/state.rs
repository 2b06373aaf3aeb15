//! What a session knows about its transaction, statement by statement: savepoints around the
//! writes a failure must undo alone, and whether an earlier failure aborted the unit of work.

use crate::backend::Tx;
use crate::error::{Error, Result};

/// The transaction and what the session knows about it.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) tx: Tx,
    /// Why the unit of work can no longer commit, once a statement failed in a way that
    /// aborts it.
    pub(super) aborted: Option<Aborted>,
    /// Whether the statement savepoint is defined (it is released lazily, together with
    /// opening the next one, to save a round trip per statement).
    savepoint_open: bool,
    /// Whether a failed write must leave the unit of work usable (a session a caller holds);
    /// else (a unit of work the framework opens and rolls back whole on any failure) writes
    /// need no savepoint of their own.
    guard_writes: bool,
    /// Whether a stream was dropped before its statement finished. PostgreSQL runs the whole
    /// statement regardless, and a failure in its unread part aborts the transaction.
    pub(crate) stream_unfinished: bool,
    /// Whether that stream's statement answered (a row or an error came): dropped after that,
    /// every driver reads the rest of its reply on the next call; dropped before, the
    /// statement was cut off.
    pub(crate) stream_answered: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// The failure that aborted a unit of work.
#[derive(Debug, Clone)]
pub(super) struct Aborted {
    cause: String,
    retryable: bool,
}

impl Aborted {
    pub(super) fn error(&self) -> Error {
        Error::SessionAborted {
            cause: self.cause.clone(),
            retryable: self.retryable,
        }
    }
}

impl State {
    /// The state of a unit of work that just began on `tx` (see the field `guard_writes`).
    pub(super) fn new(tx: Tx, guard_writes: bool) -> Self {
        Self {
            tx,
            aborted: None,
            savepoint_open: false,
            guard_writes,
            stream_unfinished: false,
            stream_answered: std::sync::Arc::default(),
        }
    }

    /// Take note of a call cut off while its statement was under way (its future dropped: a
    /// timeout, a cancelled task): whether that statement ran is unknown, so the unit of work
    /// can no longer commit, and nothing more is sent on its connection (closed when the
    /// session ends, on the backends whose driver cannot resume after it). A stream dropped
    /// after its statement answered is no such call: its unread rows are read past.
    pub(crate) fn notice_cut_off(&mut self) {
        if !self.tx.cut_off() {
            return;
        }
        if self.stream_unfinished
            && self
                .stream_answered
                .load(std::sync::atomic::Ordering::SeqCst)
        {
            self.tx.settled();
            return;
        }
        if self.aborted.is_none() {
            self.aborted = Some(Aborted {
                cause: "a call was cancelled while its statement was under way, so whether \
                        it ran is unknown"
                    .to_owned(),
                retryable: false,
            });
        }
    }

    /// Fail at once if an earlier statement aborted the unit of work.
    fn check_usable(&self) -> Result<()> {
        match &self.aborted {
            Some(aborted) => Err(aborted.error()),
            None => Ok(()),
        }
    }

    /// Fail if the unit of work was aborted, including by the unread end of a dropped stream:
    /// after one, a round trip finds out whether the transaction still stands.
    pub(crate) async fn ready(&mut self) -> Result<()> {
        self.check_usable()?;
        if self.stream_unfinished {
            self.stream_unfinished = false;
            if let Err(error) = self.raw("SELECT 1").await {
                self.abort(error);
                return self.check_usable();
            }
        }
        Ok(())
    }

    /// Prepare to run a statement: on a backend whose failed statement aborts the whole
    /// transaction (PostgreSQL), a write runs under a savepoint so that a constraint
    /// violation can be undone alone. Returns whether the statement is guarded.
    pub(crate) async fn before_statement(&mut self, sql: &str) -> Result<bool> {
        let needed = self.needs_statement_savepoint();
        self.guard_statement(sql, needed).await
    }

    /// [`before_statement`](State::before_statement) for a write whose returned rows are
    /// decoded before it may stand: guarded on every backend (in a unit of work the caller
    /// holds), so a row that does not decode can be undone alone with
    /// [`undo_statement`](State::undo_statement).
    pub(crate) async fn before_undoable_statement(&mut self, sql: &str) -> Result<bool> {
        let needed = self.guard_writes;
        self.guard_statement(sql, needed).await
    }

    async fn guard_statement(&mut self, sql: &str, needed: bool) -> Result<bool> {
        self.ready().await?;
        if !needed || is_read_only(sql) {
            return Ok(false);
        }
        let sql = if self.savepoint_open {
            "RELEASE SAVEPOINT repo_statement; SAVEPOINT repo_statement"
        } else {
            "SAVEPOINT repo_statement"
        };
        if let Err(error) = self.raw(sql).await {
            return Err(self.abort(error));
        }
        self.savepoint_open = true;
        Ok(true)
    }

    /// Record how a statement ended. A constraint violation leaves the unit of work usable
    /// with its earlier writes (rolled back to the statement's savepoint where there is one;
    /// SQLite undoes the failed statement by itself); any other failure aborts it.
    pub(crate) async fn after_statement<T>(
        &mut self,
        result: Result<T, sqlx::Error>,
        guarded: bool,
        classify: fn(sqlx::Error) -> Error,
    ) -> Result<T> {
        let error = match result {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        if !leaves_transaction_usable(&error) {
            return Err(self.abort(error));
        }
        if guarded && let Err(rollback) = self.raw("ROLLBACK TO SAVEPOINT repo_statement").await {
            self.aborted = Some(Aborted {
                cause: format!("{error}; then the rollback failed: {rollback}"),
                retryable: false,
            });
        }
        Err(classify(error))
    }

    /// Undo a guarded statement that succeeded but whose result the caller cannot accept (a
    /// returned row that does not decode); `error` is what the caller returns. The unit of
    /// work goes on as before the statement, or is aborted if the undo itself fails. Where the
    /// statement was not guarded (a unit of work the framework rolls back whole on any
    /// failure), nothing is needed.
    pub(crate) async fn undo_statement(&mut self, guarded: bool, error: Error) -> Error {
        if guarded && let Err(rollback) = self.raw("ROLLBACK TO SAVEPOINT repo_statement").await {
            self.aborted = Some(Aborted {
                cause: format!("{error}; then the rollback failed: {rollback}"),
                retryable: false,
            });
        }
        error
    }

    /// What the database says about `table`, read inside the transaction. Where a failed
    /// statement would abort the transaction, the read runs under a savepoint of its own, so a
    /// missing table leaves the unit of work as it was.
    pub(crate) async fn describe(
        &mut self,
        table: &crate::backend::Table<'_>,
    ) -> Result<crate::backend::TableDescription> {
        self.ready().await?;
        let guard = self
            .tx
            .backend()
            .capabilities()
            .failed_statement_aborts_transaction;
        if guard && let Err(error) = self.raw("SAVEPOINT repo_describe").await {
            return Err(self.abort(error));
        }
        let described = self.tx.describe(table).await;
        if guard {
            let undo = if described.is_err() {
                "ROLLBACK TO SAVEPOINT repo_describe; RELEASE SAVEPOINT repo_describe"
            } else {
                "RELEASE SAVEPOINT repo_describe"
            };
            if let Err(error) = self.raw(undo).await {
                return Err(self.abort(error));
            }
        }
        described.map_err(crate::backend::classify::classify_untyped)
    }

    /// Mark the unit of work aborted by `error`; the error to return.
    pub(crate) fn abort(&mut self, error: sqlx::Error) -> Error {
        let error = crate::backend::classify::classify_untyped(error);
        self.abort_with(&error);
        error
    }

    /// Mark the unit of work aborted by a failure seen outside a single statement.
    pub(crate) fn abort_with(&mut self, error: &Error) {
        if self.aborted.is_none() {
            self.aborted = Some(Aborted {
                cause: error.to_string(),
                // A refusal as read-only on a pool that follows the primary means the
                // primary moved: the whole unit of work may run again on the new one.
                retryable: error.is_retryable()
                    || (self.tx.follows_hosts() && error.refused_as_read_only()),
            });
        }
    }

    /// Open the savepoint of a group of statements that succeed or fail together (an audited
    /// write: the write and its log entries) inside the unit of work.
    pub(super) async fn open_group(&mut self) -> Result<()> {
        self.ready().await?;
        // A savepoint released later would take the group's with it: release it first.
        let sql = if self.savepoint_open {
            "RELEASE SAVEPOINT repo_statement; SAVEPOINT repo_group"
        } else {
            "SAVEPOINT repo_group"
        };
        if let Err(error) = self.raw(sql).await {
            return Err(self.abort(error));
        }
        self.savepoint_open = false;
        Ok(())
    }

    /// Close the group's savepoint: keep its statements, or undo every one of them.
    pub(super) async fn close_group(&mut self, keep: bool) -> Result<()> {
        self.check_usable()?;
        // The statement savepoints of the group go with it.
        self.savepoint_open = false;
        if !keep && let Err(error) = self.raw("ROLLBACK TO SAVEPOINT repo_group").await {
            return Err(self.abort(error));
        }
        if let Err(error) = self.raw("RELEASE SAVEPOINT repo_group").await {
            return Err(self.abort(error));
        }
        Ok(())
    }

    fn needs_statement_savepoint(&self) -> bool {
        self.guard_writes
            && self
                .tx
                .backend()
                .capabilities()
                .failed_statement_aborts_transaction
    }

    async fn raw(&mut self, sql: &'static str) -> Result<(), sqlx::Error> {
        self.tx.raw(sql).await
    }
}

/// Whether `sql` only reads (a failed read needs no savepoint: it cannot violate a constraint;
/// the rows it returns change nothing when they do not decode).
pub(crate) fn is_read_only(sql: &str) -> bool {
    let mut sql = sql.trim_start();
    // A leading comment (the parameter-type signature) says nothing about the statement.
    if let Some(rest) = sql.strip_prefix("/*")
        && let Some((_, after)) = rest.split_once("*/")
    {
        sql = after.trim_start();
    }
    let head = sql.get(..6).unwrap_or_default();
    head.eq_ignore_ascii_case("SELECT")
}

/// Failures after which the transaction goes on as if the statement had not run: constraint
/// violations (the statement is undone, alone), an upsert its guard refused for clashing on
/// another unique key (a conflict too, see [`refused_by_guard`](crate::backend::upsert_errors::refused_by_guard)) and errors
/// raised before anything was sent.
fn leaves_transaction_usable(error: &sqlx::Error) -> bool {
    use sqlx::error::ErrorKind;
    match error {
        sqlx::Error::Database(db) => {
            matches!(
                db.kind(),
                ErrorKind::UniqueViolation
                    | ErrorKind::ForeignKeyViolation
                    | ErrorKind::NotNullViolation
                    | ErrorKind::CheckViolation
            ) || crate::backend::upsert_errors::refused_by_guard(error)
        }
        sqlx::Error::Encode(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::is_read_only;

    #[test]
    fn reads_are_recognised_by_their_first_keyword() {
        assert!(is_read_only("SELECT 1"));
        assert!(is_read_only("  select * from t"));
        assert!(is_read_only("/*is*/ SELECT 1"));
        assert!(!is_read_only("/*i*/ DELETE FROM t"));
        assert!(!is_read_only("INSERT INTO t VALUES (1)"));
        assert!(!is_read_only("UPDATE t SET a = 1"));
        assert!(!is_read_only(
            "WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x"
        ));
        assert!(!is_read_only(""));
    }
}
