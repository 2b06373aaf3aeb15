//! Connecting: `Db::connect(url)` picks the backend from the URL and opens a pool.

use std::sync::Arc;
use std::time::Duration;

use crate::backend::replicas::{Replica, Replicas, WriteTracker};
use crate::backend::{ConnectOptions, Pool};
use crate::error::Result;
use crate::read_cache::{BoxFuture, ReadCache};
use crate::retry::RetryPolicy;
use crate::session::{Origin, Session};
use crate::settings::Settings;

pub use crate::backend::Synchronous;
pub use crate::backend::position::ConsistencyToken;
pub use crate::backend::replicas::{ReadFrom, ReplicaReads};
pub use crate::dialect::{Backend, Capabilities, UpsertSyntax};

/// Pool settings for [`Db::connect_with`].
///
/// Defaults: up to 10 connections (1 for an in-memory SQLite database, which exists once per
/// connection), a 30 s acquire timeout, a 5 s SQLite busy timeout, and a ping on checkout
/// only for a connection that may have died while idle: one idle for a second or more
/// ([`ping_idle_after`](DbOptions::ping_idle_after)), or idle since the pool last saw a
/// connection lost (a restarted server leaves every idle connection dead). A dead one is
/// closed and another lent, so a write is not sent on it. sqlx's `test_before_acquire`, which
/// pings on every checkout (a round trip per call), is off.
#[derive(Clone, Default)]
pub struct DbOptions {
    pub(crate) cursor_key: Option<Vec<u8>>,
    /// How to build the read cache, when there is one (see [`crate::cache`]).
    pub(crate) cache: Option<Arc<dyn CacheSetup>>,
    pub(crate) retry: RetryPolicy,
    /// What the driver opens connections with.
    pub(crate) connect: ConnectOptions,
    /// Read replicas' URLs, and how reads use them.
    pub(crate) replicas: Vec<String>,
    pub(crate) read_from: ReadFrom,
    pub(crate) replica_wait: Option<Duration>,
    pub(crate) replica_max_lag: Option<Duration>,
    /// What statements tell tracing and metrics (see [`crate::telemetry`]).
    pub(crate) telemetry: crate::telemetry::TelemetryOptions,
}

/// How long a read waits, by default, for a replica to replay its caller's writes.
const REPLICA_WAIT: Duration = Duration::from_millis(100);
/// Replicas further behind than this are not read from, by default.
const REPLICA_MAX_LAG: Duration = Duration::from_secs(5);
/// The longest a read waits for a replica's connection before it goes to the primary.
const REPLICA_ACQUIRE: Duration = Duration::from_secs(1);

impl std::fmt::Debug for DbOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbOptions")
            .field("max_connections", &self.connect.max_connections)
            .field("min_connections", &self.connect.min_connections)
            .field("acquire_timeout", &self.connect.acquire_timeout)
            .field("test_before_acquire", &self.connect.test_before_acquire)
            .field("ping_idle_after", &self.connect.ping_idle_after)
            .field("busy_timeout", &self.connect.busy_timeout)
            .field("retry", &self.retry)
            .field("statement_timeout", &self.connect.statement_timeout)
            .field("synchronous", &self.connect.synchronous)
            .field("on_connect", &self.connect.on_connect)
            .field("cursor_key", &self.cursor_key.as_ref().map(|_| "<set>"))
            .field("cache", &self.cache)
            .field("replicas", &self.replicas.len())
            .field("read_from", &self.read_from)
            .field("replica_wait", &self.replica_wait)
            .field("replica_max_lag", &self.replica_max_lag)
            .field("record_query_text", &self.telemetry.query_text)
            .field("slow_statement_threshold", &self.telemetry.slow)
            .field("metrics", &self.telemetry.metrics)
            .finish()
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
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }
    /// Most connections the pool opens.
    #[must_use]
    pub fn max_connections(mut self, n: u32) -> Self {
        self.connect.max_connections = n;
        self
    }
    /// Connections the pool keeps open when idle.
    #[must_use]
    pub fn min_connections(mut self, n: u32) -> Self {
        self.connect.min_connections = n;
        self
    }
    /// How long a call waits for a free connection before failing.
    #[must_use]
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.connect.acquire_timeout = timeout;
        self
    }
    /// Ping each connection when it is taken from the pool (one extra round trip per call).
    #[must_use]
    pub fn test_before_acquire(mut self, test: bool) -> Self {
        self.connect.test_before_acquire = test;
        self
    }
    /// Ping a connection idle for `idle` or longer before lending it (default 1 s; a
    /// connection idle since the pool last saw one lost is pinged whatever this says). A
    /// connection that died while idle (a server restart, a firewall dropping quiet links)
    /// then costs a round trip on checkout instead of failing the call it was lent to, which
    /// for a write would be an [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown).
    /// `Duration::MAX` turns the idle ping off. PostgreSQL and MariaDB; SQLite has no link
    /// to lose.
    #[must_use]
    pub fn ping_idle_after(mut self, idle: Duration) -> Self {
        self.connect.ping_idle_after = idle;
        self
    }
    /// The secret keyset cursors are sealed with (at least 16 bytes, of any length above: the
    /// encryption key is derived from it with HKDF-SHA256). By default each `Db` draws a random
    /// one, so cursors are valid only for the `Db` (and process) that issued them; set the same
    /// key on every instance of a service whose clients may send a cursor to another instance,
    /// or that must accept cursors across restarts. A cursor that was not sealed with the key,
    /// or was edited, is an [`Error::Validation`](crate::Error::Validation) on `cursor`. Changing the key invalidates
    /// every cursor issued under the old one.
    #[must_use]
    pub fn cursor_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.cursor_key = Some(key.into());
        self
    }
    /// How long SQLite waits on a locked database before failing.
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.connect.busy_timeout = timeout;
        self
    }
    /// The longest a statement may run: the server cancels it after `timeout` and the call
    /// returns [`Error::Timeout`](crate::Error::Timeout) (PostgreSQL `statement_timeout`, MariaDB
    /// `max_statement_time`, both per connection). SQLite has no per-statement limit: there
    /// [`busy_timeout`](DbOptions::busy_timeout) bounds the wait for the write lock.
    #[must_use]
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.connect.statement_timeout = Some(timeout);
        self
    }
    /// SQLite's `synchronous` setting (default [`Synchronous::Full`]).
    #[must_use]
    pub fn sqlite_synchronous(mut self, synchronous: Synchronous) -> Self {
        self.connect.synchronous = synchronous;
        self
    }
    /// Run through a transaction-mode pooler (`PgBouncer` with `pool_mode = transaction`, the
    /// pooler of a hosted PostgreSQL): the same as `?pooler=transaction` in the URL. Every
    /// statement then runs inside a transaction (an autocommit call gets one of its own, which
    /// keeps sqlx's prepare and execute on one server connection); each transaction first
    /// drops the prepared statements its server connection holds and drops its own before it
    /// ends; and [`statement_timeout`](DbOptions::statement_timeout), the
    /// [`on_connect`](DbOptions::on_connect) statements (which must then be `SET`
    /// statements) and the URL's `options` (`-c name=value`) are set with `SET LOCAL` in every
    /// transaction, so they never reach the pooler's other clients. A call on the pool costs
    /// three round trips more (see the README section "Behind a transaction pooler").
    /// PostgreSQL only: `Error::Validation` on another backend.
    #[must_use]
    pub fn transaction_pooler(mut self, on: bool) -> Self {
        self.connect.pooler = on;
        self
    }
    /// A read replica of the database (a PostgreSQL hot standby, a MariaDB replica), on the
    /// same backend as the primary URL; call once per replica. Its connections open when first
    /// needed, so a replica that is down when the `Db` connects is no error. Reads go to
    /// replicas only on a handle that asks ([`read_from`](DbOptions::read_from),
    /// [`Db::on_replica`]); see the README section "Read replicas". PostgreSQL and MariaDB:
    /// `Error::Validation` on SQLite.
    #[must_use]
    pub fn replica(mut self, url: impl Into<String>) -> Self {
        self.replicas.push(url.into());
        self
    }
    /// Where reads on the pool go unless a handle says otherwise (default
    /// [`ReadFrom::Primary`]).
    #[must_use]
    pub fn read_from(mut self, read_from: ReadFrom) -> Self {
        self.read_from = read_from;
        self
    }
    /// How long a read waits for a replica to replay the writes of its handle's
    /// [`ConsistencyToken`] before it goes to the primary (default 100 ms). A replica known to
    /// be further behind than this is not waited for.
    #[must_use]
    pub fn replica_wait(mut self, wait: Duration) -> Self {
        self.replica_wait = Some(wait);
        self
    }
    /// Replicas further behind the primary than this are not read from (default 5 s): the
    /// most a read without a token may miss.
    #[must_use]
    pub fn replica_max_lag(mut self, lag: Duration) -> Self {
        self.replica_max_lag = Some(lag);
        self
    }
    /// Put each statement's text in its span, as `db.query.text` (default off). The text
    /// has placeholders (`$1`, `?`) where values go: no value is ever recorded. Off, spans
    /// carry `db.query.summary` (`SELECT datasets`) only.
    #[must_use]
    pub fn record_query_text(mut self, record: bool) -> Self {
        self.telemetry.query_text = record;
        self
    }
    /// Log every statement slower than `threshold` as one `WARN` event (target
    /// `repo_core::slow_statement`) naming the entity, method, operation, query summary, rows
    /// and duration, never a value; `None` logs none. Default 1 s (sqlx's own slow-statement
    /// log, which prints the whole text, is turned off on the framework's connections).
    #[must_use]
    pub fn slow_statement_threshold(mut self, threshold: Option<Duration>) -> Self {
        self.telemetry.slow = threshold;
        self
    }
    /// Record metrics through the [`metrics`](https://docs.rs/metrics) facade (default on):
    /// `db.client.operation.duration` per statement, the pool's `db.client.connection.*`,
    /// retries and rows (see [`crate::telemetry`]). With no recorder installed they cost tens of
    /// nanoseconds per statement; install the recorder before `Db::connect`, which registers
    /// the pool's handles.
    #[must_use]
    pub fn metrics(mut self, record: bool) -> Self {
        self.telemetry.metrics = record;
        self
    }
    /// SQL to run on every new connection, after the framework's own settings (a
    /// `search_path`, a session variable, a pragma). A statement that fails makes the
    /// connection fail to open.
    #[must_use]
    pub fn on_connect(mut self, sql: impl Into<String>) -> Self {
        self.connect.on_connect.push(sql.into());
        self
    }
}

/// Builds a `Db`'s read cache once the database is known: the cache feature's options
/// ([`crate::cache::CacheOptions`]) implement it.
pub(crate) trait CacheSetup: Send + Sync + std::fmt::Debug {
    /// The cache of the database `identity` names (the same for every connection to it).
    fn build(&self, identity: String) -> BoxFuture<'_, Result<Arc<dyn ReadCache>>>;
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
    /// The read replicas, when there are.
    pub(crate) replicas: Option<Arc<Replicas>>,
    /// Where this handle's reads go.
    pub(crate) read_from: ReadFrom,
    /// Where the writes through this handle (and its clones) stood.
    pub(crate) writes: Arc<WriteTracker>,
}

tokio::task_local! {
    /// Set while a read must see the primary whatever its handle says (a read-cache fill).
    static PRIMARY_ONLY: ();
}

/// Run `reads` with every read on the primary: what a read-cache fill stores must be no older
/// than the writes that invalidated the cache.
pub(crate) fn on_primary_only<F: std::future::Future>(
    reads: F,
) -> impl std::future::Future<Output = F::Output> {
    // Not an `async fn`: its future would hold `reads` twice.
    PRIMARY_ONLY.scope((), reads)
}

crate::backend::pool_accessors!();

impl Db {
    /// Connect with default [`DbOptions`]; the URL's scheme picks the backend.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, DbOptions::default()).await
    }

    /// Connect with the given pool options.
    pub async fn connect_with(url: &str, options: DbOptions) -> Result<Self> {
        let backend = Backend::from_url(url)?;
        let mut telemetry = crate::telemetry::Telemetry::new(backend, url, options.telemetry);
        // Checked before connecting: a bad key is the caller's error, whatever the server.
        Settings::new(
            options.cursor_key.as_deref(),
            options.retry,
            None,
            telemetry.clone(),
        )?;
        let mut pool = Pool::connect(backend, url, &options.connect).await?;
        telemetry.pooler = pool.pooler().is_some();
        if telemetry.metrics {
            pool = pool.with_metrics(telemetry.pool_name("primary"));
        }
        let replicas = Self::connect_replicas(&pool, &options).await?;
        let cache = match &options.cache {
            Some(setup) => {
                let identity = pool
                    .identity(url)
                    .await
                    .map_err(crate::backend::classify::classify_untyped)?;
                Some(setup.build(identity).await?)
            }
            None => None,
        };
        let settings = Arc::new(Settings::new(
            options.cursor_key.as_deref(),
            options.retry,
            cache,
            telemetry,
        )?);
        Ok(Self {
            pool,
            settings,
            actor: None,
            replicas,
            read_from: options.read_from,
            writes: Arc::default(),
        })
    }

    /// The replicas `options` name, checked once before the `Db` is handed out and watched
    /// from then on.
    async fn connect_replicas(
        primary: &Pool,
        options: &DbOptions,
    ) -> Result<Option<Arc<Replicas>>> {
        if options.replicas.is_empty() {
            return Ok(None);
        }
        let backend = primary.backend();
        if backend == Backend::Sqlite {
            return Err(crate::Error::validation(
                "replica",
                "read replicas are for PostgreSQL and MariaDB",
            ));
        }
        let connect = ConnectOptions {
            lazy: true,
            acquire_timeout: options.connect.acquire_timeout.min(REPLICA_ACQUIRE),
            ..options.connect.clone()
        };
        let mut pools = Vec::with_capacity(options.replicas.len());
        for url in &options.replicas {
            if Backend::from_url(url)? != backend {
                return Err(crate::Error::validation(
                    "replica",
                    format!("a replica of a {backend:?} primary must be {backend:?} too"),
                ));
            }
            let mut pool = Pool::connect(backend, url, &connect).await?;
            if options.telemetry.metrics {
                let telemetry = crate::telemetry::Telemetry::new(backend, url, options.telemetry);
                pool = pool.with_metrics(telemetry.pool_name("replica"));
            }
            pools.push(pool);
        }
        let replicas = Arc::new(Replicas::new(
            pools,
            options.replica_wait.unwrap_or(REPLICA_WAIT),
            options.replica_max_lag.unwrap_or(REPLICA_MAX_LAG),
        ));
        replicas.check(primary).await;
        crate::backend::replicas::watch(Arc::downgrade(&replicas), primary.clone());
        Ok(Some(replicas))
    }

    /// Whether reads through this handle may go to a replica.
    pub(crate) fn routes_reads(&self) -> bool {
        self.read_from == ReadFrom::ReplicaPreferred && self.replicas.is_some()
    }

    /// A replica for a read on the pool through this handle: `None` for the primary (the
    /// handle reads from the primary, no replica is fit, or a cache fill is under way).
    pub(crate) async fn replica_for_read(&self) -> Option<&Replica> {
        if !self.routes_reads() || PRIMARY_ONLY.try_with(|()| ()).is_ok() {
            return None;
        }
        let replicas = self.replicas.as_deref()?;
        if let Ok(token) = self.writes.position() {
            replicas.choose(token.as_ref()).await
        } else {
            replicas.choose_primary();
            None
        }
    }

    /// A read that failed on `replica` runs on the primary; the replica rests when `rest`.
    pub(crate) fn read_failed_over(&self, replica: &Replica, rest: bool) {
        if let Some(replicas) = &self.replicas {
            replicas.failed_over(replica, rest);
        }
    }

    /// A write through this handle returned: with replicas, note where it stands.
    pub(crate) async fn after_write(&self) {
        if let Some(replicas) = &self.replicas {
            self.writes.note_write(&self.pool, replicas.max_lag).await;
        }
    }

    /// What a session opened here notes its commit in: this handle's writes.
    pub(crate) fn commit_note(&self) -> Option<crate::backend::replicas::WriteNote> {
        let replicas = self.replicas.as_ref()?;
        Some(crate::backend::replicas::WriteNote {
            tracker: Arc::clone(&self.writes),
            primary: self.pool.clone(),
            max_lag: replicas.max_lag,
        })
    }

    /// This handle with its reads on replicas ([`ReadFrom::ReplicaPreferred`]): per call
    /// (`Repo::new(&db.on_replica())`) or per repository. Cheap; it shares the pool and the
    /// [`consistency_token`](Db::consistency_token) of the handle it came from. Without
    /// replicas it reads from the primary.
    #[must_use]
    pub fn on_replica(&self) -> Self {
        Self {
            read_from: ReadFrom::ReplicaPreferred,
            ..self.clone()
        }
    }

    /// This handle with every read on the primary ([`ReadFrom::Primary`]).
    #[must_use]
    pub fn on_primary(&self) -> Self {
        Self {
            read_from: ReadFrom::Primary,
            ..self.clone()
        }
    }

    /// Where this handle's reads go.
    #[must_use]
    pub fn reads_from(&self) -> ReadFrom {
        self.read_from
    }

    /// Where the writes through this handle stood in the primary's log: carry it to the
    /// caller's next request and give it back with
    /// [`with_consistency_token`](Db::with_consistency_token). `None` before any write, and
    /// on a `Db` without replicas.
    ///
    /// A handle from [`Db::connect`] and its clones share one position, so a read through any
    /// of them sees every write made through any of them; a handle from
    /// [`with_consistency_token`](Db::with_consistency_token) has a position of its own (one
    /// per request), so its reads wait only for its own writes.
    #[must_use]
    pub fn consistency_token(&self) -> Option<ConsistencyToken> {
        self.writes.position().ok().flatten().map(ConsistencyToken)
    }

    /// A handle for one caller (a request), whose reads on replicas see the writes `token`
    /// stands for (the caller's earlier requests) and its own from now on: it has a position
    /// of its own, not shared with the handle it came from. `None` starts with none.
    ///
    /// A token of the other backend's kind (a PostgreSQL LSN for a MariaDB `Db`) is an
    /// [`Error::Validation`](crate::Error::Validation) on `consistency_token`.
    pub fn with_consistency_token(&self, token: Option<ConsistencyToken>) -> Result<Self> {
        use crate::backend::position::Position;
        let position = token.map(|token| token.0);
        match (&position, self.backend()) {
            (None, _)
            | (Some(Position::Lsn(_)), Backend::Postgres)
            | (Some(Position::Gtids(_)), Backend::MySql) => {}
            (Some(_), backend) => {
                return Err(crate::Error::validation(
                    "consistency_token",
                    format!("the token is not a position of a {backend:?} database"),
                ));
            }
        }
        Ok(Self {
            writes: Arc::new(WriteTracker::starting_at(position)),
            ..self.clone()
        })
    }

    /// What reads asked of the replicas since the `Db` connected (all zero without replicas).
    #[must_use]
    pub fn replica_reads(&self) -> ReplicaReads {
        self.replicas
            .as_deref()
            .map(Replicas::counts)
            .unwrap_or_default()
    }

    /// Where its units of work open.
    pub(crate) fn origin(&self) -> Origin<'_> {
        Origin {
            pool: &self.pool,
            settings: &self.settings,
            actor: self.actor.clone(),
            commit_note: self.commit_note(),
        }
    }

    /// The backend this pool talks to.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.pool.backend()
    }

    /// Whether the `Db` runs through a transaction-mode pooler
    /// ([`DbOptions::transaction_pooler`], or `?pooler=transaction` in its URL): then
    /// hand-written sqlx on its pool must stay inside a transaction, and take transaction-level
    /// locks only.
    #[must_use]
    pub fn through_transaction_pooler(&self) -> bool {
        self.transaction_preamble().is_some()
    }

    /// Through a transaction pooler, the SQL the framework runs at the start of each of its
    /// transactions: drop the prepared statements the server connection holds, then the
    /// settings (`SET LOCAL`). A hand-written transaction on [`postgres_pool`](Db::postgres_pool)
    /// runs it first (`sqlx::raw_sql`) to see what the framework's statements see, and
    /// `DEALLOCATE ALL` before it commits. `None` without a pooler.
    #[must_use]
    pub fn transaction_preamble(&self) -> Option<&str> {
        self.pool.pooler().map(crate::backend::Pooler::preamble)
    }

    /// Open a unit of work. See [`Session`] for commit, rollback and drop behaviour.
    pub async fn begin(&self) -> Result<Session> {
        Session::begin(self.origin(), None).await
    }

    /// Open a unit of work whose writes the audit log records as made by `actor` (a user id, a
    /// service name); see [`crate::audit`]. The same as `begin` then
    /// [`Session::set_actor`].
    pub async fn begin_as(&self, actor: impl Into<String>) -> Result<Session> {
        let session = Session::begin(self.origin(), None).await?;
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
    pub async fn begin_with(&self, isolation: crate::dialect::Isolation) -> Result<Session> {
        Session::begin(self.origin(), Some(isolation)).await
    }

    /// Close every connection; later calls fail.
    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(replicas) = &self.replicas {
            replicas.close().await;
        }
    }
}
