//! The SQL each database product speaks: which [`Backend`] a URL names, what its SQL can do
//! ([`Capabilities`]), and how a statement is written for it. Plain data and text, no
//! connections: statement building asks [`Backend::capabilities`], never a backend's name.
//! A backend's own forms are in its file here (`postgres.rs`, `sqlite.rs`, `mysql.rs`); its
//! driver (connecting, binding, rows, errors) is in `backend/`.

// Text only: compiled whatever backends are, as the statement builder writes every dialect.
pub(crate) mod mysql;
#[cfg(feature = "postgres")]
pub(crate) mod postgres;
pub(crate) mod sqlite;

use sea_query::{Expr, QueryStatementWriter, SchemaStatementBuilder, Value};

use crate::error::{Error, Result};

/// The database products the framework speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// PostgreSQL (URLs `postgres://…`, `postgresql://…`).
    Postgres,
    /// SQLite (URLs `sqlite:…`), the embedded default.
    Sqlite,
    /// MariaDB 10.6 or later (URLs `mysql://…`, `mariadb://…`).
    MySql,
}

/// How an insert that meets an existing key becomes an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpsertSyntax {
    /// `ON CONFLICT (key) DO UPDATE SET col = excluded.col` (PostgreSQL, SQLite).
    OnConflict,
    /// `ON DUPLICATE KEY UPDATE col = VALUES(col)`: every unique key of the table is the
    /// conflict target (MySQL, MariaDB).
    OnDuplicateKey,
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
    /// `INSERT … RETURNING` (else the framework reads the row back by its key).
    pub returning_on_insert: bool,
    /// `UPDATE … RETURNING` (else the framework locks the matching rows, updates them by key
    /// and reads them back, in one transaction).
    pub returning_on_update: bool,
    /// `DELETE … RETURNING`.
    pub returning_on_delete: bool,
    /// How an upsert is written.
    pub upsert: UpsertSyntax,
    /// A filtered write can take its row locks in key order through a locking subquery
    /// (`WHERE id IN (SELECT id … ORDER BY id FOR UPDATE)`), so two such writes over the same
    /// rows queue instead of deadlocking (else writers are serialized, or the table cannot be
    /// named in its own update's subquery).
    pub ordered_write_locks: bool,
    /// A locking read (`SELECT … ORDER BY … FOR UPDATE`) takes its row locks in the order it
    /// returns the rows; else in the order its plan scans them (by primary key on a small
    /// table), so the framework locks the rows of a small write in key order with one key
    /// lookup each, in a `UNION ALL` of lookups run in order.
    pub locks_in_result_order: bool,
    /// Row values compare as tuples (`(a, b) > (?, ?)`) and the planner seeks an index with
    /// them (else a keyset page is written `a > ? OR (a = ? AND b > ?)`).
    pub row_value_comparison: bool,
    /// An index can hold only the rows a condition selects (`CREATE INDEX … WHERE`); a
    /// soft-deleting entity's indexes then hold its live rows only (else they end with the
    /// soft-delete column).
    pub partial_indexes: bool,
}

/// The number of [`Backend`] variants: slots per statement in a statement cache.
pub(crate) const BACKENDS: usize = 3;

impl Backend {
    /// What the backend's SQL can do; statement building asks this, not the backend's name.
    #[must_use]
    pub const fn capabilities(self) -> Capabilities {
        match self {
            Self::Postgres => POSTGRES,
            Self::Sqlite => SQLITE,
            Self::MySql => MYSQL,
        }
    }

    /// The isolation of the units of work the framework opens for its own locked writes
    /// (audited writes on the pool), where the database's default does not suit them: on
    /// MariaDB, repeatable read locks the gaps around keys that are not there yet, so writers
    /// upserting the same new keys deadlock on each other's gap locks; every row such a unit
    /// reads it has locked first, so read committed sees the same rows.
    pub(crate) const fn locked_write_isolation(self) -> Option<Isolation> {
        match self {
            Self::MySql => Some(Isolation::ReadCommitted),
            Self::Postgres | Self::Sqlite => None,
        }
    }

    /// The largest number of bind parameters one statement may carry. It does not say alone
    /// how a bulk write is cut (on PostgreSQL rows travel as arrays): that is
    /// [`Repository::rows_per_statement`](crate::Repository::rows_per_statement).
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
            "mysql" | "mariadb" => Ok(Self::MySql),
            _ => Err(Error::validation(
                "url",
                format!(
                    "unsupported scheme `{scheme}`: expected `postgres://…`, `sqlite:…` or \
                     `mysql://…`"
                ),
            )),
        }
    }

    /// This backend's slot in per-backend tables.
    pub(crate) const fn slot(self) -> usize {
        match self {
            Self::Postgres => 0,
            Self::Sqlite => 1,
            Self::MySql => 2,
        }
    }

    /// Render a query in this backend's dialect.
    pub(crate) fn render(self, statement: &impl QueryStatementWriter) -> (String, Vec<Value>) {
        let (sql, values) = match self {
            Self::Postgres => statement.build(sea_query::PostgresQueryBuilder),
            Self::Sqlite => statement.build(sea_query::SqliteQueryBuilder),
            Self::MySql => {
                let (sql, values) = statement.build(sea_query::MysqlQueryBuilder);
                let sql = mysql::with_returning(mysql::cast_types(sql), || {
                    statement.build(sea_query::PostgresQueryBuilder).0
                });
                (sql, values)
            }
        };
        (sql, values.0)
    }

    /// Render DDL in this backend's dialect.
    pub(crate) fn render_schema(self, statement: &impl SchemaStatementBuilder) -> String {
        match self {
            Self::Postgres => statement.to_string(sea_query::PostgresQueryBuilder),
            Self::Sqlite => statement.to_string(sea_query::SqliteQueryBuilder),
            Self::MySql => mysql::if_not_exists(statement.to_string(sea_query::MysqlQueryBuilder)),
        }
    }

    /// The column type this backend's generated schema uses for a field of `declared` type;
    /// `indexed` when the column is part of a key or index.
    pub(crate) fn column_type(
        self,
        declared: sea_query::ColumnType,
        indexed: bool,
    ) -> sea_query::ColumnType {
        match self {
            #[cfg(feature = "mysql")]
            Self::MySql => mysql::column_type(declared, indexed),
            _ => {
                let _ = indexed;
                declared
            }
        }
    }

    /// `name` quoted as an identifier of this backend's SQL: backticks on MariaDB, which a
    /// connection reads whatever its `sql_mode` (a migration file may run on a tool's
    /// connection, without the framework's `ANSI_QUOTES`), double quotes elsewhere.
    pub(crate) fn identifier(self, name: &str) -> String {
        match self {
            Self::MySql => format!("`{}`", name.replace('`', "``")),
            Self::Postgres | Self::Sqlite => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    /// The statement creating `schema` (an entity's `#[repo(schema)]`) when it is missing: a
    /// PostgreSQL schema, a MariaDB database. None on SQLite, where it is a database attached
    /// to each connection (`DbOptions::on_connect("ATTACH DATABASE 'sales.db' AS sales")`).
    pub(crate) fn create_namespace(self, schema: &str) -> Option<String> {
        let name = self.identifier(schema);
        match self {
            Self::Postgres => Some(format!("CREATE SCHEMA IF NOT EXISTS {name}")),
            Self::MySql => Some(format!(
                "CREATE DATABASE IF NOT EXISTS {name} CHARACTER SET utf8mb4 COLLATE {}",
                mysql::COLLATION
            )),
            Self::Sqlite => None,
        }
    }

    /// Table options of this backend's generated schema (engine, character set).
    pub(crate) fn table_options(self, table: &mut sea_query::TableCreateStatement) {
        if self == Self::MySql {
            // Transactions, and text that compares byte by byte as on the other backends.
            table
                .engine("InnoDB")
                .character_set("utf8mb4")
                .collate(mysql::COLLATION);
        }
    }

    /// `$1 IS DISTINCT FROM $2` in this backend's SQL: true when the operands differ or
    /// exactly one is NULL.
    pub(crate) fn is_distinct_from(self) -> &'static str {
        match self {
            Self::MySql => "NOT ($1 <=> $2)",
            Self::Postgres | Self::Sqlite => "$1 IS DISTINCT FROM $2",
        }
    }

    /// `text` as a string literal of this backend's SQL (MySQL reads backslash escapes in
    /// literals; standard SQL only doubles quotes).
    #[must_use]
    pub fn string_literal(self, text: &str) -> String {
        let quotes_doubled = text.replace('\'', "''");
        match self {
            Self::MySql => format!("'{}'", quotes_doubled.replace('\\', "\\\\")),
            Self::Postgres | Self::Sqlite => format!("'{quotes_doubled}'"),
        }
    }

    /// Where bulk writes bind one array per column and select their rows from `unnest(…)`
    /// (PostgreSQL): the array for a column whose values look like `typed_null`, its element
    /// type and that type's SQL name. `None` on other backends, and for a column no array can
    /// carry row by row.
    pub(crate) fn column_array(
        self,
        typed_null: &Value,
    ) -> Option<(sea_query::ArrayType, &'static str)> {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres => postgres::column_array(typed_null),
            _ => None,
        }
    }

    /// `sql` with the parameter-type signature in front (`/*iis*/ SELECT …`) where a prepared
    /// statement fixes its parameter types; as it is where it does not, or there are no
    /// parameters. Written into one buffer: a bulk statement's text is large.
    pub(crate) fn with_type_signature(self, sql: String, values: &[Value]) -> String {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres if !values.is_empty() => {
                let mut text = String::with_capacity(values.len() + sql.len() + 5);
                text.push_str("/*");
                text.extend(values.iter().map(postgres::type_letter));
                text.push_str("*/ ");
                text.push_str(&sql);
                text
            }
            _ => sql,
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
            Self::MySql => sea_query::Expr::cust(format!(
                "CAST(DATE_FORMAT(`{column}`, '%Y-%m-%d %H:00:00') AS DATETIME(6))"
            )),
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
            #[cfg(feature = "mysql")]
            Self::MySql => mysql::in_list(column, typed_null, values),
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
    returning_on_insert: true,
    returning_on_update: true,
    returning_on_delete: true,
    upsert: UpsertSyntax::OnConflict,
    ordered_write_locks: true,
    locks_in_result_order: true,
    row_value_comparison: true,
    partial_indexes: true,
};

const SQLITE: Capabilities = Capabilities {
    max_bind_parameters: 32_766,
    native_enums: false,
    arrays: false,
    failed_statement_aborts_transaction: false,
    errors_name_constraints: false,
    numbered_placeholders: false,
    skip_locked: false,
    returning_on_insert: true,
    returning_on_update: true,
    returning_on_delete: true,
    upsert: UpsertSyntax::OnConflict,
    ordered_write_locks: false,
    // No row locks: writers are serialized.
    locks_in_result_order: true,
    row_value_comparison: true,
    partial_indexes: true,
};

const MYSQL: Capabilities = Capabilities {
    max_bind_parameters: 65_535,
    native_enums: false,
    arrays: false,
    // InnoDB undoes a failed statement only; a deadlock rolls the whole transaction back, and
    // a session treats that as any other non-constraint failure (aborted).
    failed_statement_aborts_transaction: false,
    errors_name_constraints: true,
    numbered_placeholders: false,
    skip_locked: true,
    // MariaDB 10.5+ (the connection checks for MariaDB); MySQL has none of the three.
    returning_on_insert: true,
    returning_on_update: false,
    returning_on_delete: true,
    upsert: UpsertSyntax::OnDuplicateKey,
    // MariaDB refuses a subquery on the table an UPDATE or DELETE changes (error 1093).
    ordered_write_locks: false,
    // InnoDB locks each row as the scan meets it, before any sort.
    locks_in_result_order: false,
    // MariaDB compares row values but does not seek an index with them.
    row_value_comparison: false,
    partial_indexes: false,
};

/// The isolation level of a unit of work ([`Db::begin_with`](crate::Db::begin_with)); without one, the database's
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

/// A custom SQL expression whose template numbers its operands `$1`, `$2`, … in the order
/// they appear; SQLite's builder takes them as `?`.
pub(crate) fn custom<const N: usize>(backend: Backend, template: &str, exprs: [Expr; N]) -> Expr {
    if backend.capabilities().numbered_placeholders {
        return Expr::cust_with_exprs(template.to_owned(), exprs);
    }
    let mut sequential = template.to_owned();
    for n in (1..=N).rev() {
        sequential = sequential.replace(&format!("${n}"), "?");
    }
    Expr::cust_with_exprs(sequential, exprs)
}

/// Run `$body` with `$inner` bound to the backend value inside `$value`, a value of `$enum`
/// (`Pool`, `Tx`, `Row`: an enum with one variant per backend, by reference or by value), and
/// `$driver` to the backend's sqlx database type.
macro_rules! dispatch {
    ($($enum:ident)::+, $value:expr, |$inner:pat_param, $driver:ident| $body:expr) => {
        match $value {
            #[cfg(feature = "postgres")]
            $($enum)::+::Postgres($inner) => {
                #[allow(dead_code)]
                type $driver = ::sqlx::Postgres;
                $body
            }
            #[cfg(feature = "sqlite")]
            $($enum)::+::Sqlite($inner) => {
                #[allow(dead_code)]
                type $driver = ::sqlx::Sqlite;
                $body
            }
            #[cfg(feature = "mysql")]
            $($enum)::+::MySql($inner) => {
                #[allow(dead_code)]
                type $driver = ::sqlx::MySql;
                $body
            }
        }
    };
}
pub(crate) use dispatch;
