//! Connecting: `Db::connect(url)` picks the backend from the URL and opens a pool.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::session::Session;

/// The database products the framework speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// PostgreSQL (URLs `postgres://…`, `postgresql://…`).
    Postgres,
    /// SQLite (URLs `sqlite:…`), the embedded default.
    Sqlite,
}

impl Backend {
    /// The largest number of bind parameters one statement may carry; bulk writes chunk under it.
    #[must_use]
    pub const fn max_bind_parameters(self) -> usize {
        match self {
            Self::Postgres => 65_535,
            Self::Sqlite => 32_766,
        }
    }

    /// What the backend's SQL can do; statement building asks this, not the backend's name.
    #[must_use]
    pub const fn capabilities(self) -> Capabilities {
        match self {
            Self::Postgres => Capabilities {
                native_enums: true,
                failed_statement_aborts_transaction: true,
                errors_name_constraints: true,
            },
            Self::Sqlite => Capabilities {
                native_enums: false,
                failed_statement_aborts_transaction: false,
                errors_name_constraints: false,
            },
        }
    }

    /// The backend a URL names, from its scheme.
    pub fn from_url(url: &str) -> Result<Self> {
        let scheme = url.split(':').next().unwrap_or_default();
        match scheme {
            "postgres" | "postgresql" => Ok(Self::Postgres),
            "sqlite" => Ok(Self::Sqlite),
            _ => Err(Error::validation(
                "url",
                format!("unsupported scheme `{scheme}`: expected `postgres://…` or `sqlite:…`"),
            )),
        }
    }
}

/// What a backend's SQL can do, for statement building.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Enums are a type of their own that sorts by declaration order (else: text labels).
    pub native_enums: bool,
    /// A failed statement aborts the whole transaction (so a session guards each write with a
    /// savepoint); else the database undoes just the statement.
    pub failed_statement_aborts_transaction: bool,
    /// Constraint errors name the constraint (else the framework looks the name up).
    pub errors_name_constraints: bool,
}

/// Pool settings for [`Db::connect_with`].
///
/// Defaults: up to 10 connections (1 for an in-memory SQLite database, which exists once per
/// connection), a 30 s acquire timeout, a 5 s SQLite busy timeout, and **no ping on checkout**:
/// sqlx's `test_before_acquire` costs one round trip per query, so it is off; a connection that
/// died while idle fails its next statement with [`Error::Database`] and is then discarded.
#[derive(Clone)]
pub struct DbOptions {
    cursor_key: Option<Vec<u8>>,
    max_connections: u32,
    min_connections: u32,
    acquire_timeout: Duration,
    test_before_acquire: bool,
    busy_timeout: Duration,
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
            .field("cursor_key", &self.cursor_key.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// What every repository of one [`Db`] shares besides the pool.
pub(crate) struct Settings {
    /// The key keyset cursors are signed with.
    pub(crate) cursor_key: Vec<u8>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings").finish_non_exhaustive()
    }
}

/// Shortest cursor key accepted: HMAC-SHA256 wants at least 128 bits of secret.
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
            Some(key) => key.clone(),
            None => {
                let mut key = vec![0; 32];
                getrandom::fill(&mut key).map_err(|e| {
                    Error::validation("cursor_key", format!("no random key available: {e}"))
                })?;
                key
            }
        };
        Ok(Self { cursor_key })
    }
}

impl DbOptions {
    /// Default options.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
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
    /// The secret keyset cursors are signed with (at least 16 bytes). By default each `Db`
    /// draws a random one, so cursors are valid only for the `Db` (and process) that issued
    /// them; set the same key on every instance of a service whose clients may send a cursor
    /// to another instance, or that must accept cursors across restarts. A cursor that was not
    /// signed with the key, or was edited, is an [`Error::Validation`] on `cursor`.
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
}

#[derive(Debug, Clone)]
pub(crate) enum Pool {
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
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
}

impl Db {
    /// Connect with default [`DbOptions`]; the URL's scheme picks the backend.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, DbOptions::default()).await
    }

    /// Connect with the given pool options.
    pub async fn connect_with(url: &str, options: DbOptions) -> Result<Self> {
        let settings = Arc::new(Settings::from_options(&options)?);
        match Backend::from_url(url)? {
            #[cfg(feature = "postgres")]
            Backend::Postgres => {
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(options.max_connections)
                    .min_connections(options.min_connections)
                    .acquire_timeout(options.acquire_timeout)
                    .test_before_acquire(options.test_before_acquire)
                    .connect(url)
                    .await?;
                Ok(Self {
                    pool: Pool::Postgres(pool),
                    settings,
                })
            }
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => {
                use std::str::FromStr as _;
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                let mut connect = sqlx::sqlite::SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .foreign_keys(true)
                    // LIKE is case-sensitive on every backend (PostgreSQL's LIKE always is).
                    .pragma("case_sensitive_like", "ON")
                    .busy_timeout(options.busy_timeout);
                if !in_memory {
                    connect = connect.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
                }
                let mut pool = sqlx::sqlite::SqlitePoolOptions::new()
                    .acquire_timeout(options.acquire_timeout)
                    .test_before_acquire(options.test_before_acquire)
                    .after_connect(|conn, _| Box::pin(forbid_double_quoted_strings(conn)));
                pool = if in_memory {
                    // Each connection to `:memory:` is its own database: keep exactly one, forever.
                    pool.max_connections(1)
                        .min_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None)
                } else {
                    pool.max_connections(options.max_connections)
                        .min_connections(options.min_connections)
                };
                Ok(Self {
                    pool: Sqlite(pool.connect_with(connect).await?),
                    settings,
                })
            }
            #[allow(unreachable_patterns)]
            backend => Err(Error::validation(
                "url",
                format!("the {backend:?} backend is not compiled in: enable its cargo feature"),
            )),
        }
    }

    /// The backend this pool talks to.
    #[must_use]
    pub fn backend(&self) -> Backend {
        match self.pool {
            #[cfg(feature = "postgres")]
            Pool::Postgres(_) => Backend::Postgres,
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Open a unit of work. See [`Session`] for commit, rollback and drop behaviour.
    pub async fn begin(&self) -> Result<Session> {
        Session::begin(self).await
    }

    /// The PostgreSQL pool, for hand-written sqlx beside the repositories.
    #[cfg(feature = "postgres")]
    #[must_use]
    pub fn postgres_pool(&self) -> Option<&sqlx::PgPool> {
        #[allow(irrefutable_let_patterns)]
        if let Pool::Postgres(pool) = &self.pool {
            Some(pool)
        } else {
            None
        }
    }

    /// The SQLite pool, for hand-written sqlx beside the repositories.
    #[cfg(feature = "sqlite")]
    #[must_use]
    pub fn sqlite_pool(&self) -> Option<&sqlx::SqlitePool> {
        #[allow(irrefutable_let_patterns)]
        if let Pool::Sqlite(pool) = &self.pool {
            Some(pool)
        } else {
            None
        }
    }

    /// Close every connection; later calls fail.
    pub async fn close(&self) {
        match &self.pool {
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => pool.close().await,
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => pool.close().await,
        }
    }
}

#[cfg(feature = "sqlite")]
use Pool::Sqlite;

/// Turn off SQLite's double-quoted string literals on a new connection, for DML and DDL alike.
///
/// By default SQLite reads a double-quoted name that matches no column as a string literal, so
/// `SELECT "no_such_column" FROM t` returns the text instead of failing, and a typo or a drifted
/// schema gives wrong results silently. With this off, such a statement fails as it does on
/// PostgreSQL; string literals take single quotes, as generated SQL always writes them.
#[cfg(feature = "sqlite")]
async fn forbid_double_quoted_strings(
    conn: &mut sqlx::SqliteConnection,
) -> Result<(), sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    switch_off_double_quoted_strings(&mut handle).map_err(|(name, code)| {
        sqlx::Error::Configuration(
            format!("SQLite refused to turn off {name}: result code {code}").into(),
        )
    })
}

/// `sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, NULL)`, then the same for
/// `SQLITE_DBCONFIG_DQS_DDL`; on failure the option's name and SQLite's result code.
///
/// `unsafe` is needed because this is a C call into the SQLite library sqlx links (through
/// `libsqlite3-sys`, the same version): sqlx has no option for these settings, and SQLite offers
/// them only through this variadic function, not as a pragma.
#[cfg(feature = "sqlite")]
#[allow(unsafe_code)]
fn switch_off_double_quoted_strings(
    handle: &mut sqlx::sqlite::LockedSqliteHandle<'_>,
) -> Result<(), (&'static str, std::ffi::c_int)> {
    use libsqlite3_sys::{SQLITE_DBCONFIG_DQS_DDL, SQLITE_DBCONFIG_DQS_DML, SQLITE_OK};
    let db = handle.as_raw_handle().as_ptr();
    let off: std::ffi::c_int = 0;
    for (option, name) in [
        (SQLITE_DBCONFIG_DQS_DML, "SQLITE_DBCONFIG_DQS_DML"),
        (SQLITE_DBCONFIG_DQS_DDL, "SQLITE_DBCONFIG_DQS_DDL"),
    ] {
        // SAFETY: `db` is the handle of an open connection, valid, and used by no other thread
        // while `handle` (sqlx's lock on it) is borrowed, which spans this function. Both
        // options are documented to take exactly an `int` (the new setting) and an `int*` for
        // the previous one, which may be NULL; they are passed with exactly those C types.
        let code = unsafe {
            libsqlite3_sys::sqlite3_db_config(
                db,
                option,
                off,
                std::ptr::null_mut::<std::ffi::c_int>(),
            )
        };
        if code != SQLITE_OK {
            return Err((name, code));
        }
    }
    Ok(())
}
