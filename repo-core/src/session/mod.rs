//! A unit of work: one transaction shared by every repository built on it.

mod state;

pub use crate::dialect::Isolation;
pub(crate) use state::{State, is_read_only};

use std::sync::Arc;

use tokio::sync::{Mutex, MutexGuard};

use crate::backend::{Pool, Tx};
use crate::dialect::Backend;
use crate::error::{Error, Result};
use crate::read_cache::Written;
use crate::settings::Settings;

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
/// - A call cut off while its statement is on the wire (a `tokio::time::timeout` or a dropped
///   task cancelling it) leaves it unknown whether the statement ran, so it aborts the unit of
///   work the same way, on every backend: [`commit`](Session::commit) returns
///   [`Error::SessionAborted`] without sending anything more on the connection. A call cut off
///   before it sent anything changes nothing.
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
    /// What the session's writes changed: the read cache forgets it at commit, and reads of a
    /// table written here go to the database until then.
    written: std::sync::Mutex<Written>,
    /// Whether the session sees each commit of other units of work as the cache does (a read
    /// committed transaction, or SQLite's, which holds the write lock): then its reads of
    /// tables it has not written may be served from the cache.
    sees_commits: bool,
    /// Noted after the commit: where the primary's log stands past it.
    commit_note: Option<crate::backend::replicas::WriteNote>,
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

/// Where a unit of work opens: the pool, what the `Db` shares, and the actor it starts with.
pub(crate) struct Origin<'a> {
    pub(crate) pool: &'a Pool,
    pub(crate) settings: &'a Arc<Settings>,
    pub(crate) actor: Option<Arc<str>>,
    /// Where the commit is noted for read-your-writes on replicas, when the `Db` has them.
    pub(crate) commit_note: Option<crate::backend::replicas::WriteNote>,
}

impl Session {
    pub(crate) async fn begin(origin: Origin<'_>, isolation: Option<Isolation>) -> Result<Self> {
        Self::open(origin, isolation, true).await
    }

    /// A unit of work that is rolled back whole after any failure, so its writes need no
    /// savepoints: the framework's own, around an audited write on the pool.
    pub(crate) async fn begin_all_or_nothing(origin: Origin<'_>) -> Result<Self> {
        let isolation = origin.pool.backend().locked_write_isolation();
        Self::open(origin, isolation, false).await
    }

    async fn open(
        origin: Origin<'_>,
        isolation: Option<Isolation>,
        guard_writes: bool,
    ) -> Result<Self> {
        let tx = origin.pool.begin(isolation).await?;
        let backend = origin.pool.backend();
        // PostgreSQL's default is read committed; MariaDB's repeatable read.
        let sees_commits = matches!(
            (backend, isolation),
            (Backend::Sqlite | Backend::Postgres, None)
                | (Backend::Sqlite, _)
                | (_, Some(Isolation::ReadCommitted))
        );
        Ok(Self {
            backend: origin.pool.backend(),
            settings: Arc::clone(origin.settings),
            actor: std::sync::Mutex::new(origin.actor),
            groups: Mutex::new(()),
            abandoned: std::sync::atomic::AtomicBool::new(false),
            state: Mutex::new(State::new(tx, guard_writes)),
            written: std::sync::Mutex::new(Written::default()),
            sees_commits,
            commit_note: origin.commit_note,
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
        let written = self.take_written();
        let cache = self.settings.cache.clone();
        let abandoned_group = self.abandoned.load(std::sync::atomic::Ordering::SeqCst);
        let mut state = self.state.into_inner();
        state.notice_cut_off();
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
        if committed.is_ok()
            && let Some(note) = &self.commit_note
        {
            Box::pin(note.written()).await;
        }
        // A commit that failed may still have happened: the cache forgets what it wrote
        // either way.
        if let Some(cache) = cache
            && !written.is_empty()
        {
            cache.invalidate(&written).await;
        }
        committed.map_err(|error| {
            crate::backend::commit_failed(error, crate::backend::classify::classify_untyped)
        })
    }

    /// What the session wrote, taken.
    fn take_written(&self) -> Written {
        std::mem::take(
            &mut *self
                .written
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Note that the session wrote `rows` of `table`, for the read cache.
    pub(crate) fn record_written(&self, written: Written) {
        self.written
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(written);
    }

    /// Whether reads of `table` in this session may be served from the read cache: it sees
    /// commits as the cache does and has not written the table.
    pub(crate) fn reads_cache(&self, table: &str) -> bool {
        self.sees_commits
            && !self
                .written
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .touches(table)
    }

    /// Undo every write of the session.
    pub async fn rollback(self) -> Result<()> {
        let mut state = self.state.into_inner();
        state.notice_cut_off();
        rollback(state.tx).await
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
        state.notice_cut_off();
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
