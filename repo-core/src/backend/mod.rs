//! The drivers: connecting and per-connection settings, beginning a unit of work, binding
//! values, turning driver errors into [`Error`], reading a table's catalog and description.
//!
//! One file per backend (`postgres.rs`, `sqlite.rs`, `mysql.rs`) behind the enums here
//! (`Pool`, `Tx`) and the `Driver` trait; what each backend's SQL can do and how it is
//! written is in [`crate::dialect`]. The rest of the crate calls the dispatchers here and asks
//! [`Backend::capabilities`](crate::Backend::capabilities); it never names a backend. Adding a
//! backend is one file here and one in `dialect/`, one variant in each enum, and its cargo
//! feature.

mod cache_facts;
pub(crate) mod catalog;
pub(crate) mod classify;
pub mod db_enum;
mod describe;
mod errors;
pub(crate) mod health;
pub(crate) mod hosts;
mod lent;
pub(crate) mod macros;
#[cfg(feature = "mysql")]
pub(crate) mod mysql;
pub(crate) mod pool_metrics;
pub(crate) mod pooler;
pub(crate) mod position;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
pub(crate) mod replicas;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;
pub(crate) mod upsert_errors;

use std::time::Duration;

use sea_query::Value;

use crate::dialect::{Backend, Isolation, dispatch};
use crate::error::{Error, Result};
use crate::row::Row;
pub(crate) use describe::{Table, TableDescription};
pub(crate) use errors::{
    commit_failed, constraint_in_message, is_connection_lost, is_retryable, is_timeout,
    not_null_column, refused_as_read_only,
};
pub(crate) use health::Health;
pub(crate) use lent::{Failed, Lent};
pub(crate) use macros::pool_accessors;
#[allow(unused_imports)]
use macros::run_settings;
pub(crate) use pooler::Pooler;

/// What a driver opens connections with: the connection part of
/// [`DbOptions`](crate::DbOptions), which documents each.
#[derive(Debug, Clone)]
pub(crate) struct ConnectOptions {
    pub(crate) max_connections: u32,
    pub(crate) min_connections: u32,
    pub(crate) acquire_timeout: Duration,
    pub(crate) test_before_acquire: bool,
    pub(crate) ping_idle_after: Duration,
    pub(crate) busy_timeout: Duration,
    pub(crate) statement_timeout: Option<Duration>,
    pub(crate) synchronous: Synchronous,
    pub(crate) on_connect: Vec<String>,
    pub(crate) pooler: bool,
    /// Open connections only when first asked (a replica may be down when the `Db` connects).
    pub(crate) lazy: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(30),
            test_before_acquire: false,
            ping_idle_after: Duration::from_secs(1),
            busy_timeout: Duration::from_secs(5),
            statement_timeout: None,
            synchronous: Synchronous::default(),
            on_connect: Vec::new(),
            pooler: false,
            lazy: false,
        }
    }
}

/// SQLite's `synchronous` setting: how hard a commit waits for the disk
/// ([`DbOptions::sqlite_synchronous`](crate::DbOptions::sqlite_synchronous)).
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

/// A connection pool of one backend.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    #[cfg(feature = "postgres")]
    Postgres(Conns<sqlx::Postgres>),
    #[cfg(feature = "sqlite")]
    Sqlite(Conns<sqlx::Sqlite>),
    #[cfg(feature = "mysql")]
    MySql(Conns<sqlx::MySql>),
}

/// The connections of one backend, and the transaction pooler they go through, if any (see
/// [`pooler`]).
#[derive(Debug)]
pub(crate) struct Conns<DB: sqlx::Database> {
    pub(crate) pool: sqlx::Pool<DB>,
    pub(crate) pooler: Option<std::sync::Arc<Pooler>>,
    /// When the pool last saw a connection lost.
    pub(crate) health: std::sync::Arc<Health>,
    /// The hosts of a multi-host URL, which the pool follows (see [`hosts`]).
    pub(crate) hosts: Option<std::sync::Arc<hosts::Hosts>>,
    /// The pool's metrics, when the `Db` records them.
    pub(crate) metrics: Option<std::sync::Arc<pool_metrics::PoolMetrics>>,
}

impl<DB: sqlx::Database> Clone for Conns<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            pooler: self.pooler.clone(),
            health: std::sync::Arc::clone(&self.health),
            hosts: self.hosts.clone(),
            metrics: self.metrics.clone(),
        }
    }
}

impl<DB: sqlx::Database> Conns<DB> {
    /// Connections straight to the server.
    pub(crate) fn direct(pool: sqlx::Pool<DB>, health: std::sync::Arc<Health>) -> Self {
        Self {
            pool,
            pooler: None,
            health,
            hosts: None,
            metrics: None,
        }
    }
}

/// An open transaction of one backend.
#[derive(Debug)]
pub(crate) enum Tx {
    #[cfg(feature = "postgres")]
    Postgres(Lent<sqlx::Postgres>),
    #[cfg(feature = "sqlite")]
    Sqlite(Lent<sqlx::Sqlite>),
    #[cfg(feature = "mysql")]
    MySql(Lent<sqlx::MySql>),
}

/// A backend's sqlx database with what the framework needs of it.
pub(crate) trait Driver: sqlx::Database<Arguments: sqlx::IntoArguments<Self>> {
    /// Bind values, applying the backend's storage choices; the values stay the caller's (a
    /// statement on the pool may run again).
    fn arguments(values: &[Value]) -> Result<Self::Arguments, sqlx::error::BoxDynError>;
    /// [`arguments`](Driver::arguments) of values the statement owns: a backend whose
    /// arguments own their text takes it over instead of copying it.
    fn arguments_owned(values: Vec<Value>) -> Result<Self::Arguments, sqlx::error::BoxDynError> {
        Self::arguments(&values)
    }
    /// Wrap a driver row.
    fn wrap(row: Self::Row) -> Row;
    /// Rows a statement changed.
    fn rows_affected(result: &Self::QueryResult) -> u64;
    /// Run SQL text without parameters (transaction control, savepoints).
    fn raw(
        connection: &mut Self::Connection,
        sql: sqlx::SqlStr,
    ) -> futures_core::future::BoxFuture<'_, Result<(), sqlx::Error>>;
    /// Run SQL text without parameters; the first column of its first row, as text.
    fn text(
        connection: &mut Self::Connection,
        sql: sqlx::SqlStr,
    ) -> futures_core::future::BoxFuture<'_, Result<Option<String>, sqlx::Error>>;
    /// Whether a connection whose statement was cut off is closed rather than used again
    /// (see [`Lent`]).
    const CLOSE_CUT_OFF: bool;
    /// Point `pool`'s new connections at `url` (a multi-host URL's host, see [`hosts`]).
    fn connect_to(
        pool: &sqlx::Pool<Self>,
        url: &str,
        statement_cache: bool,
    ) -> Result<(), sqlx::Error> {
        let _ = (pool, url, statement_cache);
        Ok(())
    }
}

impl Pool {
    /// Open a pool for `url` on `backend`.
    pub(crate) async fn connect(
        backend: Backend,
        url: &str,
        options: &ConnectOptions,
    ) -> Result<Self> {
        match backend {
            #[cfg(feature = "postgres")]
            Backend::Postgres => Ok(Self::Postgres(postgres::connect(url, options).await?)),
            #[cfg(feature = "sqlite")]
            Backend::Sqlite if !options.pooler => Ok(Self::Sqlite(Conns::direct(
                sqlite::connect(url, options).await?,
                // An embedded database loses no connection to a server that went away.
                Health::new(Duration::MAX),
            ))),
            #[cfg(feature = "mysql")]
            Backend::MySql if !options.pooler => {
                let health = Health::new(options.ping_idle_after);
                let pool = mysql::connect(url, options, &health).await?;
                Ok(Self::MySql(Conns::direct(pool, health)))
            }
            Backend::Sqlite | Backend::MySql => Err(Error::validation(
                "transaction_pooler",
                "the transaction-pooler mode is for PostgreSQL behind PgBouncer or a pooler like it",
            )),
            #[allow(unreachable_patterns)]
            backend => Err(Error::validation(
                "url",
                format!("the {backend:?} backend is not compiled in: enable its cargo feature"),
            )),
        }
    }

    pub(crate) fn backend(&self) -> Backend {
        dispatch!(Pool, self, |_, D| <D as BackendOf>::BACKEND)
    }

    /// This pool, recording its connection metrics labelled `name`.
    #[must_use]
    pub(crate) fn with_metrics(mut self, name: String) -> Self {
        dispatch!(Pool, &mut self, |conns, D| {
            conns.metrics = Some(std::sync::Arc::new(pool_metrics::PoolMetrics::new(
                &conns.pool,
                name,
            )));
        });
        self
    }

    pub(crate) async fn begin(&self, isolation: Option<Isolation>) -> Result<Tx> {
        Ok(match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(conns) => Tx::Postgres(
                Lent::begin(
                    conns,
                    isolation.map_or("BEGIN", crate::dialect::postgres::begin),
                )
                .await?,
            ),
            // Take the write lock at once, so concurrent writers queue instead of deadlocking;
            // SQLite is serializable whatever the level asked.
            #[cfg(feature = "sqlite")]
            Self::Sqlite(conns) => Tx::Sqlite(Lent::begin(conns, "BEGIN IMMEDIATE").await?),
            #[cfg(feature = "mysql")]
            Self::MySql(conns) => Tx::MySql(
                Lent::begin(
                    conns,
                    isolation.map_or("BEGIN", crate::dialect::mysql::begin),
                )
                .await?,
            ),
        })
    }

    /// Whether the pool follows the hosts of a multi-host URL: then a write a read-only server
    /// refused may have met a demoted primary, and runs again on the one found next.
    pub(crate) fn follows_hosts(&self) -> bool {
        dispatch!(Pool, self, |conns, D| conns.hosts.is_some())
    }

    /// Make a pool that follows the hosts of a multi-host URL search them again before it
    /// lends its next connection.
    pub(crate) fn search_hosts_again(&self) {
        dispatch!(Pool, self, |conns, D| if let Some(hosts) = &conns.hosts {
            hosts.search_again();
        });
    }

    pub(crate) fn pooler(&self) -> Option<&Pooler> {
        dispatch!(Pool, self, |conns, D| conns.pooler.as_deref())
    }

    pub(crate) async fn close(&self) {
        dispatch!(Pool, self, |conns, D| conns.pool.close().await);
    }

    pub(crate) fn is_closed(&self) -> bool {
        dispatch!(Pool, self, |conns, D| conns.pool.is_closed())
    }

    /// Run SQL text without parameters on a connection of its own (a transaction of its own
    /// through a pooler); the first column of its first row, as text.
    pub(crate) async fn text(&self, sql: sqlx::SqlStr) -> Result<Option<String>, sqlx::Error> {
        dispatch!(Pool, self, |conns, D| {
            let mut lent = Lent::acquire(conns).await?;
            let result = <D as Driver>::text(&mut lent, sql).await;
            lent.settle(&result);
            lent.finish(result).await
        })
    }
}

impl Tx {
    pub(crate) fn backend(&self) -> Backend {
        dispatch!(Tx, self, |_, D| <D as BackendOf>::BACKEND)
    }

    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        dispatch!(Tx, self, |tx, D| tx.commit().await)
    }

    pub(crate) async fn rollback(self) -> Result<(), sqlx::Error> {
        dispatch!(Tx, self, |tx, D| tx.rollback().await)
    }

    /// Run SQL text without parameters (savepoints).
    pub(crate) async fn raw(&mut self, sql: &'static str) -> Result<(), sqlx::Error> {
        dispatch!(Tx, self, |tx, D| tx
            .raw(sqlx::SqlStr::from_static(sql))
            .await)
    }

    /// The driver's call on the transaction's connection returned (see [`Lent`]).
    pub(crate) fn settled(&mut self) {
        dispatch!(Tx, self, |tx, D| tx.settled());
    }

    /// [`Lent::settle`] on the transaction's connection.
    pub(crate) fn settle<T>(&mut self, result: &std::result::Result<T, sqlx::Error>) {
        dispatch!(Tx, self, |tx, D| tx.settle(result));
    }

    /// Whether the transaction's pool follows the primary of a multi-host URL.
    pub(crate) fn follows_hosts(&self) -> bool {
        dispatch!(Tx, self, |tx, D| tx.follows_hosts())
    }

    /// Whether a statement of the transaction was cut off before its reply was read.
    pub(crate) fn cut_off(&self) -> bool {
        dispatch!(Tx, self, |tx, D| tx.cut_off())
    }

    /// Tell the pool of `error`, if it says the connection was lost.
    pub(crate) fn observe(&self, error: &sqlx::Error) {
        dispatch!(Tx, self, |tx, D| tx.observe(error));
    }
}

/// `options` without sqlx's own slow-statement log, which prints a statement's whole text:
/// the framework logs slow statements itself, by query summary (see [`crate::telemetry`]).
pub(crate) fn without_slow_log<O: sqlx::ConnectOptions>(options: O) -> O {
    options.log_slow_statements(log::LevelFilter::Off, Duration::MAX)
}

/// The [`Backend`] of a sqlx database type.
pub(crate) trait BackendOf {
    const BACKEND: Backend;
}

#[cfg(feature = "postgres")]
impl BackendOf for sqlx::Postgres {
    const BACKEND: Backend = Backend::Postgres;
}

#[cfg(feature = "sqlite")]
impl BackendOf for sqlx::Sqlite {
    const BACKEND: Backend = Backend::Sqlite;
}

#[cfg(feature = "mysql")]
impl BackendOf for sqlx::MySql {
    const BACKEND: Backend = Backend::MySql;
}
