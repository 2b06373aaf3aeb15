//! A unit of work: one transaction shared by every repository built on it.

use std::sync::Arc;

use tokio::sync::{Mutex, MutexGuard};

use crate::backend::Tx;
use crate::db::{Backend, Db, Settings};
use crate::error::{Error, Result};
use crate::statements;

/// The transaction and what the session knows about it.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) tx: Tx,
    /// Why the unit of work can no longer commit, once a statement failed in a way that
    /// aborts it.
    aborted: Option<Aborted>,
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
}

/// The failure that aborted a unit of work.
#[derive(Debug, Clone)]
struct Aborted {
    cause: String,
    retryable: bool,
}

impl Aborted {
    fn error(&self) -> Error {
        Error::SessionAborted {
            cause: self.cause.clone(),
            retryable: self.retryable,
        }
    }
}

impl State {
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
        described.map_err(crate::classify::classify_untyped)
    }

    /// Mark the unit of work aborted by `error`; the error to return.
    pub(crate) fn abort(&mut self, error: sqlx::Error) -> Error {
        let error = crate::classify::classify_untyped(error);
        self.abort_with(&error);
        error
    }

    /// Mark the unit of work aborted by a failure seen outside a single statement.
    pub(crate) fn abort_with(&mut self, error: &Error) {
        if self.aborted.is_none() {
            self.aborted = Some(Aborted {
                cause: error.to_string(),
                retryable: error.is_retryable(),
            });
        }
    }

    /// Open the savepoint of a group of statements that succeed or fail together (an audited
    /// write: the write and its log entries) inside the unit of work.
    async fn open_group(&mut self) -> Result<()> {
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
    async fn close_group(&mut self, keep: bool) -> Result<()> {
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
/// another unique key (a conflict too, see [`statements::refused_by_guard`]) and errors
/// raised before anything was sent.
pub(crate) fn leaves_transaction_usable(error: &sqlx::Error) -> bool {
    use sqlx::error::ErrorKind;
    match error {
        sqlx::Error::Database(db) => {
            matches!(
                db.kind(),
                ErrorKind::UniqueViolation
                    | ErrorKind::ForeignKeyViolation
                    | ErrorKind::NotNullViolation
                    | ErrorKind::CheckViolation
            ) || statements::refused_by_guard(error)
        }
        sqlx::Error::Encode(_) => true,
        _ => false,
    }
}

/// The isolation level of a unit of work ([`Db::begin_with`]); without one, the database's
/// default (READ COMMITTED on PostgreSQL and, as the framework sets it, on MariaDB). SQLite
/// units of work are always serializable (one writer at a time) and ignore it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Isolation {
    /// Each statement sees what committed before it started.
    ReadCommitted,
    /// Every statement sees the snapshot of the first; a row another unit of work changed
    /// since is a serialization failure on PostgreSQL (retryable).
    RepeatableRead,
    /// As if the units of work ran one after another; conflicts are serialization failures.
    Serializable,
}

impl Isolation {
    /// The level's SQL name.
    #[must_use]
    pub const fn sql(self) -> &'static str {
        match self {
            Self::ReadCommitted => "READ COMMITTED",
            Self::RepeatableRead => "REPEATABLE READ",
            Self::Serializable => "SERIALIZABLE",
        }
    }
}

/// A unit of work: a transaction that several repositories share.
///
/// Build repositories with `XRepository::new(&session)`; every call they make runs in this
/// transaction, one at a time (a call waits while another holds the session, and a
/// [`stream`](crate::BaseRepository::stream) holds it until the stream is dropped).
/// [`commit`](Session::commit) makes the work durable; [`rollback`](Session::rollback) or simply
/// dropping the session undoes all of it. On SQLite the transaction starts `IMMEDIATE`, taking
/// the write lock at once, so concurrent sessions queue instead of failing with a deadlock.
///
/// # After a failed statement
///
/// The same on every backend:
///
/// - A constraint violation ([`Error::Conflict`], [`Error::ForeignKey`], [`Error::NotNull`],
///   [`Error::Check`]) undoes that statement only: catch it, and the session goes on with its
///   earlier writes intact. On PostgreSQL, where a failed statement would abort the whole
///   transaction, each write runs under a savepoint for this (one extra round trip per write;
///   reads need none). Errors raised before anything is sent ([`Error::Validation`]) and
///   outcomes of guarded writes ([`Error::NotFound`], [`Error::StaleVersion`]) change nothing.
/// - Any other failure (a syntax error in a custom query, a timeout, a deadlock, a lost
///   connection) aborts the unit of work: every later call on the session, and
///   [`commit`](Session::commit), returns [`Error::SessionAborted`], and nothing is written.
///
/// Statements streamed with [`Conn::fetch`](crate::Conn::fetch) follow the same rules. A stream
/// dropped before its end leaves its statement to finish on the server: on PostgreSQL a failure
/// in the unread rows aborts the unit of work like any other, and the next call (or `commit`)
/// reports it; SQLite never computes the unread rows.
///
/// So `commit()` returning `Ok` means every write that reported success is durable.
///
/// An in-memory SQLite database has a single connection: while a session holds it, a
/// repository on the `Db` itself waits for it (and fails after the acquire timeout), so use the
/// session's repositories until it ends.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> repo_core::Result<()> {
/// let db = repo_core::Db::connect("sqlite::memory:").await?;
/// let session = db.begin().await?;
/// // ... repositories on &session ...
/// session.commit().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Session {
    backend: Backend,
    pub(crate) settings: Arc<Settings>,
    state: Mutex<State>,
    /// Who the session's writes are recorded as, in the audit log.
    actor: std::sync::Mutex<Option<Arc<str>>>,
    /// Held by the group of statements running (an audited write): one at a time, so two
    /// groups never share or undo each other's savepoint.
    groups: Mutex<()>,
    /// Set when a group was dropped before it ended (its call was cancelled): its writes may
    /// be in the transaction without their log entries, so the unit of work must not commit.
    abandoned: std::sync::atomic::AtomicBool,
}

/// A group of statements open in a session (see [`Session::open_group`]).
pub(crate) struct Group<'a> {
    session: &'a Session,
    _turn: MutexGuard<'a, ()>,
    closed: bool,
}

impl Drop for Group<'_> {
    fn drop(&mut self) {
        if !self.closed {
            self.session
                .abandoned
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

/// Why a session whose group was abandoned cannot commit.
fn abandoned() -> Error {
    Error::validation(
        "session",
        "an audited write was cancelled before it finished; its changes cannot be told apart \
         from its log entries, so the unit of work was rolled back",
    )
}

impl Session {
    pub(crate) async fn begin(db: &Db, isolation: Option<Isolation>) -> Result<Self> {
        Self::open(db, isolation, true).await
    }

    /// A unit of work that is rolled back whole after any failure, so its writes need no
    /// savepoints: the framework's own, around an audited write on the pool.
    pub(crate) async fn begin_all_or_nothing(db: &Db) -> Result<Self> {
        Self::open(db, None, false).await
    }

    async fn open(db: &Db, isolation: Option<Isolation>, guard_writes: bool) -> Result<Self> {
        let tx = db.pool.begin(isolation).await?;
        Ok(Self {
            backend: db.backend(),
            settings: Arc::clone(&db.settings),
            actor: std::sync::Mutex::new(db.actor.clone()),
            groups: Mutex::new(()),
            abandoned: std::sync::atomic::AtomicBool::new(false),
            state: Mutex::new(State {
                tx,
                aborted: None,
                savepoint_open: false,
                guard_writes,
                stream_unfinished: false,
            }),
        })
    }

    /// The backend of the session's database.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Record the session's writes from now on as made by `actor` in the audit log (see
    /// [`crate::audit`]); [`Db::begin_as`](crate::Db::begin_as) sets it from the start.
    pub fn set_actor(&self, actor: impl Into<String>) {
        *self
            .actor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::from(actor.into()));
    }

    /// Record the session's writes from now on without an actor.
    pub fn clear_actor(&self) {
        *self
            .actor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }

    /// The actor the session's writes are recorded as made by, if any.
    #[must_use]
    pub fn actor(&self) -> Option<String> {
        self.actor_name().map(|actor| actor.to_string())
    }

    pub(crate) fn actor_name(&self) -> Option<Arc<str>> {
        self.actor
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Whether an earlier failure aborted the unit of work (see the type's docs): then every
    /// call fails with [`Error::SessionAborted`] and `commit` writes nothing.
    pub async fn is_aborted(&self) -> bool {
        self.lock().await.aborted.is_some()
    }

    /// Make every write of the session durable. If an earlier failure aborted the unit of
    /// work, it is rolled back instead and the result is [`Error::SessionAborted`].
    pub async fn commit(self) -> Result<()> {
        let abandoned_group = self.abandoned.load(std::sync::atomic::Ordering::SeqCst);
        let mut state = self.state.into_inner();
        if abandoned_group {
            state.abort_with(&abandoned());
        }
        // The only failure `ready` reports is the abort handled just below.
        let _ = state.ready().await;
        if let Some(aborted) = state.aborted {
            // Dropping the transaction would roll it back too; do it now so the connection
            // returns to the pool clean, and report the abort rather than a rollback error.
            let _ = rollback(state.tx).await;
            return Err(aborted.error());
        }
        let committed = state.tx.commit().await;
        committed.map_err(crate::classify::classify_untyped)
    }

    /// Undo every write of the session.
    pub async fn rollback(self) -> Result<()> {
        rollback(self.state.into_inner().tx).await
    }

    /// Start a group of statements that succeed or fail together, inside the unit of work.
    /// Groups run one at a time: this waits for one another task runs.
    pub(crate) async fn open_group(&self) -> Result<Group<'_>> {
        let turn = self.groups.lock().await;
        let mut group = Group {
            session: self,
            _turn: turn,
            // Nothing is open until the savepoint is.
            closed: true,
        };
        self.lock().await.open_group().await?;
        group.closed = false;
        Ok(group)
    }

    /// End `group`: keep its statements, or undo them all (the unit of work goes on as before
    /// the group).
    pub(crate) async fn close_group(&self, mut group: Group<'_>, keep: bool) -> Result<()> {
        let closed = self.lock().await.close_group(keep).await;
        group.closed = true;
        closed
    }

    pub(crate) async fn lock(&self) -> MutexGuard<'_, State> {
        let mut state = self.state.lock().await;
        if self
            .abandoned
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            state.abort_with(&abandoned());
        }
        state
    }
}

async fn rollback(tx: Tx) -> Result<()> {
    Ok(tx.rollback().await?)
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
