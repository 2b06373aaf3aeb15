//! Everything a database product decides, one file per backend behind one set of enums.
//!
//! A backend file (`postgres.rs`, `sqlite.rs`) owns connecting and per-connection settings,
//! beginning a unit of work, binding values, wrapping and decoding rows, naming what an error
//! leaves unnamed, its bind limit, and its [`Capabilities`]. The rest of the crate asks
//! [`Backend::capabilities`] or calls the dispatchers here; it never names a backend.
//! Adding a backend is one file here, one variant in each enum below, and its cargo feature.

pub mod db_enum;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

use sea_query::{QueryStatementWriter, SchemaStatementBuilder, Value};

use crate::db::DbOptions;
use crate::error::{Error, Result};

/// The database products the framework speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// PostgreSQL (URLs `postgres://…`, `postgresql://…`).
    Postgres,
    /// SQLite (URLs `sqlite:…`), the embedded default.
    Sqlite,
}

/// What a backend's SQL can do, for statement building.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
// A table of independent yes/no facts about a product: flags are what they are.
#[allow(clippy::struct_excessive_bools)]
pub struct Capabilities {
    /// The most bind parameters one statement may carry; bulk writes chunk under it.
    pub max_bind_parameters: usize,
    /// Enums are a type of their own that sorts by declaration order (else: text labels).
    pub native_enums: bool,
    /// Arrays are a column and parameter type (else an embedding is a BLOB and a long list a
    /// JSON parameter).
    pub arrays: bool,
    /// A failed statement aborts the whole transaction (so a session guards each write with a
    /// savepoint); else the database undoes just the statement.
    pub failed_statement_aborts_transaction: bool,
    /// Constraint errors name the constraint (else the framework looks the name up).
    pub errors_name_constraints: bool,
    /// Placeholders are numbered (`$1`); else positional (`?`).
    pub numbered_placeholders: bool,
    /// `SELECT … FOR UPDATE SKIP LOCKED` (else writers are serialized and no lock is needed).
    pub skip_locked: bool,
}

/// The number of [`Backend`] variants: slots per statement in a statement cache.
pub(crate) const BACKENDS: usize = 2;

impl Backend {
    /// What the backend's SQL can do; statement building asks this, not the backend's name.
    #[must_use]
    pub const fn capabilities(self) -> Capabilities {
        match self {
            Self::Postgres => POSTGRES,
            Self::Sqlite => SQLITE,
        }
    }

    /// The largest number of bind parameters one statement may carry.
    #[must_use]
    pub const fn max_bind_parameters(self) -> usize {
        self.capabilities().max_bind_parameters
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

    /// This backend's slot in per-backend tables.
    pub(crate) const fn slot(self) -> usize {
        match self {
            Self::Postgres => 0,
            Self::Sqlite => 1,
        }
    }

    /// Render a query in this backend's dialect.
    pub(crate) fn render(self, statement: &impl QueryStatementWriter) -> (String, Vec<Value>) {
        let (sql, values) = match self {
            Self::Postgres => statement.build(sea_query::PostgresQueryBuilder),
            Self::Sqlite => statement.build(sea_query::SqliteQueryBuilder),
        };
        (sql, values.0)
    }

    /// Render DDL in this backend's dialect.
    pub(crate) fn render_schema(self, statement: &impl SchemaStatementBuilder) -> String {
        match self {
            Self::Postgres => statement.to_string(sea_query::PostgresQueryBuilder),
            Self::Sqlite => statement.to_string(sea_query::SqliteQueryBuilder),
        }
    }

    /// The parameter-type signature a statement's text carries where a prepared statement fixes
    /// its parameter types; `None` where it does not, or there are no parameters.
    pub(crate) fn type_signature(self, values: &[Value]) -> Option<String> {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres if !values.is_empty() => Some(postgres::type_signature(values)),
            _ => None,
        }
    }

    /// The start of the hour of the UTC timestamp `column`, as a timestamp of this backend's
    /// storage form (for hourly roll-ups in custom queries).
    #[must_use]
    pub fn hour_of(self, column: &str) -> sea_query::Expr {
        match self {
            Self::Postgres => sea_query::Expr::cust(format!(
                "date_trunc('hour', \"{column}\" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
            )),
            // The text form SQLite timestamps are stored in (a whole second has no fraction).
            Self::Sqlite => {
                sea_query::Expr::cust(format!("strftime('%Y-%m-%d %H:00:00', \"{column}\")"))
            }
        }
    }

    /// `column IN (values)` for a long list, as one bound parameter.
    pub(crate) fn in_list(
        self,
        column: &'static str,
        typed_null: &Value,
        values: &[Value],
    ) -> sea_query::Expr {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres => postgres::in_list(column, typed_null, values),
            #[cfg(feature = "sqlite")]
            Self::Sqlite => sqlite::in_list(column, typed_null, values),
            #[allow(unreachable_patterns)]
            _ => unreachable!("a statement for a backend that is not compiled in"),
        }
    }
}

const POSTGRES: Capabilities = Capabilities {
    max_bind_parameters: 65_535,
    native_enums: true,
    arrays: true,
    failed_statement_aborts_transaction: true,
    errors_name_constraints: true,
    numbered_placeholders: true,
    skip_locked: true,
};

const SQLITE: Capabilities = Capabilities {
    max_bind_parameters: 32_766,
    native_enums: false,
    arrays: false,
    failed_statement_aborts_transaction: false,
    errors_name_constraints: false,
    numbered_placeholders: false,
    skip_locked: false,
};

/// A connection pool of one backend.
#[derive(Debug, Clone)]
pub(crate) enum Pool {
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
}

/// An open transaction of one backend.
#[derive(Debug)]
pub(crate) enum Tx {
    #[cfg(feature = "postgres")]
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

/// One result row, from whichever backend ran the statement.
///
/// Generated entity code decodes it by column position; custom queries decode it into any
/// [`FromDbRow`](crate::row::FromDbRow) type with [`Row::decode`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Row {
    /// A PostgreSQL row.
    #[cfg(feature = "postgres")]
    Postgres(sqlx::postgres::PgRow),
    /// A SQLite row.
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::sqlite::SqliteRow),
}

/// Run `$body` with `$inner` bound to the backend value inside `$value` (a `Pool`, `Tx` or
/// `Row`, by reference or by value), and `$driver` to the backend's sqlx database type.
macro_rules! dispatch {
    ($enum:ident, $value:expr, |$inner:pat_param, $driver:ident| $body:expr) => {
        match $value {
            #[cfg(feature = "postgres")]
            $crate::backend::$enum::Postgres($inner) => {
                #[allow(dead_code)]
                type $driver = ::sqlx::Postgres;
                $body
            }
            #[cfg(feature = "sqlite")]
            $crate::backend::$enum::Sqlite($inner) => {
                #[allow(dead_code)]
                type $driver = ::sqlx::Sqlite;
                $body
            }
        }
    };
}
pub(crate) use dispatch;

/// A backend's sqlx database with what the framework needs of it.
pub(crate) trait Driver: sqlx::Database<Arguments: sqlx::IntoArguments<Self>> {
    /// Bind values, applying the backend's storage choices.
    fn arguments(values: Vec<Value>) -> Result<Self::Arguments, sqlx::error::BoxDynError>;
    /// Wrap a driver row.
    fn wrap(row: Self::Row) -> Row;
    /// Rows a statement changed.
    fn rows_affected(result: &Self::QueryResult) -> u64;
}

impl Pool {
    /// Open a pool for `url` on `backend`.
    pub(crate) async fn connect(backend: Backend, url: &str, options: &DbOptions) -> Result<Self> {
        match backend {
            #[cfg(feature = "postgres")]
            Backend::Postgres => Ok(Self::Postgres(postgres::connect(url, options).await?)),
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => Ok(Self::Sqlite(sqlite::connect(url, options).await?)),
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

    pub(crate) async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(pool) => Tx::Postgres(pool.begin().await?),
            // Take the write lock at once, so concurrent writers queue instead of deadlocking.
            #[cfg(feature = "sqlite")]
            Self::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
        })
    }

    pub(crate) async fn close(&self) {
        dispatch!(Pool, self, |pool, D| pool.close().await);
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
        dispatch!(Tx, self, |tx, D| sqlx::raw_sql(sql)
            .execute(&mut **tx)
            .await
            .map(drop))
    }
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

/// The column a NOT NULL violation names, where the driver reports it apart from the message.
pub(crate) fn not_null_column(db: &dyn sqlx::error::DatabaseError) -> Option<String> {
    #[cfg(feature = "postgres")]
    if let Some(column) = postgres::not_null_column(db) {
        return Some(column);
    }
    let _ = db;
    None
}

#[cfg(feature = "postgres")]
use sqlx::postgres::Postgres;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::Sqlite;

macro_rules! backend_trait {
    ($(#[$m:meta])* $name:ident, $feature:literal, $($bound:tt)+) => {
        $(#[$m])*
        #[cfg(feature = $feature)]
        pub trait $name: $($bound)+ {}
        #[cfg(feature = $feature)]
        impl<T: $($bound)+> $name for T {}
        $(#[$m])*
        #[cfg(not(feature = $feature))]
        pub trait $name {}
        #[cfg(not(feature = $feature))]
        impl<T: ?Sized> $name for T {}
    };
}

backend_trait!(
    /// A type sqlx can decode from a PostgreSQL column (every type when the backend is off).
    PgDecode, "postgres", for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>
);
backend_trait!(
    /// A type sqlx can decode from a SQLite column (every type when the backend is off).
    SqliteDecode, "sqlite", for<'r> sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>
);
/// A type sqlx decodes from a single column on every enabled backend.
pub trait Decodable: PgDecode + SqliteDecode {}
impl<T: PgDecode + SqliteDecode> Decodable for T {}

impl Row {
    /// Decode a UTC timestamp, as this backend stores it.
    pub(crate) fn timestamp(
        &self,
        index: usize,
    ) -> Result<chrono::DateTime<chrono::Utc>, sqlx::Error> {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(row) => sqlx::Row::try_get(row, index),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(row) => sqlite::timestamp::decode(row, index),
        }
    }

    /// Decode an embedding, as this backend stores it.
    pub(crate) fn floats(&self, index: usize) -> Result<Vec<f32>, sqlx::Error> {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(row) => sqlx::Row::try_get(row, index),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(row) => {
                let bytes: &[u8] = sqlx::Row::try_get(row, index)?;
                crate::field::decode_f32_blob(bytes).map_err(|source| sqlx::Error::ColumnDecode {
                    index: index.to_string(),
                    source: source.into(),
                })
            }
        }
    }
}
