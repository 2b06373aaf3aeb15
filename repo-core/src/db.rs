//! Connecting: `Db::connect(url)` picks the backend from the URL and opens a pool.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::session::Session;

use crate::backend::Pool;
pub use crate::backend::{Backend, Capabilities, UpsertSyntax};

/// Pool settings for [`Db::connect_with`].
///
/// Defaults: up to 10 connections (1 for an in-memory SQLite database, which exists once per
/// connection), a 30 s acquire timeout, a 5 s SQLite busy timeout, and **no ping on checkout**:
/// sqlx's `test_before_acquire` costs one round trip per query, so it is off; a connection that
/// died while idle fails its next statement with [`Error::Database`] and is then discarded.
#[derive(Clone)]
pub struct DbOptions {
    pub(crate) cursor_key: Option<Vec<u8>>,
    pub(crate) max_connections: u32,
    pub(crate) min_connections: u32,
    pub(crate) acquire_timeout: Duration,
    pub(crate) test_before_acquire: bool,
    pub(crate) busy_timeout: Duration,
    pub(crate) retry: crate::retry::RetryPolicy,
    pub(crate) statement_timeout: Option<Duration>,
    pub(crate) synchronous: Synchronous,
    pub(crate) on_connect: Vec<String>,
}

/// SQLite's `synchronous` setting: how hard a commit waits for the disk
/// ([`DbOptions::sqlite_synchronous`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Synchronous {
    /// No sync: fastest, a power loss may corrupt the database.
    Off,
    /// Sync at checkpoints: with WAL (file databases use it), a power loss may lose the last
    /// commits but never corrupts the database.
    Normal,
    /// Sync every commit (SQLite's default): durable through a power loss.
    #[default]
    Full,
    /// As `Full`, and also the directory after a journal is deleted.
    Extra,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(30),
            test_before_acquire: false,
            busy_timeout: Duration::from_secs(5),
            cursor_key: None,
            retry: crate::retry::RetryPolicy::default(),
            statement_timeout: None,
            synchronous: Synchronous::default(),
            on_connect: Vec::new(),
        }
    }
}

impl std::fmt::Debug for DbOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbOptions")
            .field("max_connections", &self.max_connections)
            .field("min_connections", &self.min_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("test_before_acquire", &self.test_before_acquire)
            .field("busy_timeout", &self.busy_timeout)
            .field("retry", &self.retry)
            .field("statement_timeout", &self.statement_timeout)
            .field("synchronous", &self.synchronous)
            .field("on_connect", &self.on_connect)
            .field("cursor_key", &self.cursor_key.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// What every repository of one [`Db`] shares besides the pool.
pub(crate) struct Settings {
    /// The key keyset cursors are sealed with.
    pub(crate) cursor_key: crate::cursor::CursorKey,
    /// How `Db::transaction` retries.
    pub(crate) retry: crate::retry::RetryPolicy,
    /// What was learnt about each entity's table on this database, kept for the `Db`'s life.
    pub(crate) tables: TableFacts,
}

/// Facts about entities' tables on one database, each found once (by a catalog read) and kept,
/// by the entity's type and the kind of fact.
#[derive(Default)]
pub(crate) struct TableFacts {
    facts: std::sync::RwLock<
        std::collections::HashMap<
            (std::any::TypeId, std::any::TypeId),
            Arc<dyn std::any::Any + Send + Sync>,
        >,
    >,
}

impl TableFacts {
    /// The fact of type `F` about entity `E`'s table, if it was found already.
    pub(crate) fn get<E: 'static, F: Send + Sync + 'static>(&self) -> Option<Arc<F>> {
        let facts = self
            .facts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let fact = facts.get(&(std::any::TypeId::of::<E>(), std::any::TypeId::of::<F>()))?;
        Arc::clone(fact).downcast::<F>().ok()
    }

    /// Keep `fact` about entity `E`'s table.
    pub(crate) fn insert<E: 'static, F: Send + Sync + 'static>(&self, fact: Arc<F>) {
        self.facts
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                (std::any::TypeId::of::<E>(), std::any::TypeId::of::<F>()),
                fact,
            );
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings").finish_non_exhaustive()
    }
}

/// Shortest cursor key accepted: the sealing key derived from it has no more secret than it.
const MIN_CURSOR_KEY: usize = 16;

impl Settings {
    fn from_options(options: &DbOptions) -> Result<Self> {
        let cursor_key = match &options.cursor_key {
            Some(key) if key.len() < MIN_CURSOR_KEY => {
                return Err(Error::validation(
                    "cursor_key",
                    format!(
                        "a cursor key needs at least {MIN_CURSOR_KEY} bytes, got {}",
                        key.len()
                    ),
                ));
            }
            Some(key) => crate::cursor::CursorKey::derive(key),
            None => {
                let mut key = [0; 32];
                getrandom::fill(&mut key).map_err(|e| {
                    Error::validation("cursor_key", format!("no random key available: {e}"))
                })?;
                crate::cursor::CursorKey::derive(&key)
            }
        };
        Ok(Self {
            cursor_key,
            retry: options.retry,
            tables: TableFacts::default(),
        })
    }
}

impl DbOptions {
    /// Default options.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
    /// How [`Db::transaction`] retries a unit of work that failed with a retryable error.
    #[must_use]
    pub fn retry(mut self, policy: crate::retry::RetryPolicy) -> Self {
        self.retry = policy;
        self
    }
    /// Most connections the pool opens.
    #[must_use]
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }
    /// Connections the pool keeps open when idle.
    #[must_use]
    pub fn min_connections(mut self, n: u32) -> Self {
        self.min_connections = n;
        self
    }
    /// How long a call waits for a free connection before failing.
    #[must_use]
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }
    /// Ping each connection when it is taken from the pool (one extra round trip per call).
    #[must_use]
    pub fn test_before_acquire(mut self, test: bool) -> Self {
        self.test_before_acquire = test;
        self
    }
    /// The secret keyset cursors are sealed with (at least 16 bytes, of any length above: the
    /// encryption key is derived from it with HKDF-SHA256). By default each `Db` draws a random
    /// one, so cursors are valid only for the `Db` (and process) that issued them; set the same
    /// key on every instance of a service whose clients may send a cursor to another instance,
    /// or that must accept cursors across restarts. A cursor that was not sealed with the key,
    /// or was edited, is an [`Error::Validation`] on `cursor`. Changing the key invalidates
    /// every cursor issued under the old one.
    #[must_use]
    pub fn cursor_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.cursor_key = Some(key.into());
        self
    }
    /// How long SQLite waits on a locked database before failing.
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }
    /// The longest a statement may run: the server cancels it after `timeout` and the call
    /// returns [`Error::Timeout`] (PostgreSQL `statement_timeout`, MariaDB
    /// `max_statement_time`, both per connection). SQLite has no per-statement limit: there
    /// [`busy_timeout`](DbOptions::busy_timeout) bounds the wait for the write lock.
    #[must_use]
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = Some(timeout);
        self
    }
    /// SQLite's `synchronous` setting (default [`Synchronous::Full`]).
    #[must_use]
    pub fn sqlite_synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }
    /// SQL to run on every new connection, after the framework's own settings (a
    /// `search_path`, a session variable, a pragma). A statement that fails makes the
    /// connection fail to open.
    #[must_use]
    pub fn on_connect(mut self, sql: impl Into<String>) -> Self {
        self.on_connect.push(sql.into());
        self
    }
}

/// A connection pool to one database; cheap to clone.
///
/// Repositories built on `&Db` run each call in autocommit (bulk calls in their own
/// transaction); [`Db::begin`] opens a [`Session`] for a unit of work.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> repo_core::Result<()> {
/// use repo_core::{Backend, Db};
/// let db = Db::connect("sqlite::memory:").await?;
/// assert_eq!(db.backend(), Backend::Sqlite);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Db {
    pub(crate) pool: Pool,
    pub(crate) settings: Arc<Settings>,
    /// Who the writes of this handle are recorded as, in the audit log.
    pub(crate) actor: Option<Arc<str>>,
}

impl Db {
    /// Connect with default [`DbOptions`]; the URL's scheme picks the backend.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, DbOptions::default()).await
    }

    /// Connect with the given pool options.
    pub async fn connect_with(url: &str, options: DbOptions) -> Result<Self> {
        let settings = Arc::new(Settings::from_options(&options)?);
        let pool = Pool::connect(Backend::from_url(url)?, url, &options).await?;
        Ok(Self {
            pool,
            settings,
            actor: None,
        })
    }

    /// The backend this pool talks to.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.pool.backend()
    }

    /// Open a unit of work. See [`Session`] for commit, rollback and drop behaviour.
    pub async fn begin(&self) -> Result<Session> {
        Session::begin(self, None).await
    }

    /// Open a unit of work whose writes the audit log records as made by `actor` (a user id, a
    /// service name); see [`crate::audit`]. The same as `begin` then
    /// [`Session::set_actor`].
    pub async fn begin_as(&self, actor: impl Into<String>) -> Result<Session> {
        let session = Session::begin(self, None).await?;
        session.set_actor(actor);
        Ok(session)
    }

    /// This pool, with writes made through it (and through the sessions it opens) recorded
    /// in the audit log as made by `actor`: a handle per request, say. Cheap: the pool is
    /// shared.
    #[must_use]
    pub fn with_actor(&self, actor: impl Into<String>) -> Self {
        Self {
            actor: Some(Arc::from(actor.into())),
            ..self.clone()
        }
    }

    /// The actor writes through this handle are recorded as made by, if any.
    #[must_use]
    pub fn actor(&self) -> Option<&str> {
        self.actor.as_deref()
    }

    /// Open a unit of work at isolation level `isolation`.
    pub async fn begin_with(&self, isolation: crate::session::Isolation) -> Result<Session> {
        Session::begin(self, Some(isolation)).await
    }

    /// Close every connection; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
