//! MySQL wire protocol, served by MariaDB 10.6 or later: connecting and per-connection
//! settings, binding with its storage choices, and what its errors say.
//!
//! MariaDB is required (the connection checks): it has `INSERT … RETURNING`, `DELETE …
//! RETURNING`, `FOR UPDATE SKIP LOCKED` and `JSON_TABLE`, which MySQL 8 lacks in part. It has
//! no `UPDATE … RETURNING`; [`Capabilities`](super::Capabilities) says so and the repository
//! reads updated rows back by key in the same transaction.

use sea_query::{ArrayType, Value};
use sqlx::error::{BoxDynError, DatabaseError};
use sqlx::mysql::{MySqlConnection, MySqlDatabaseError};

use super::ConnectOptions;
use super::{Driver, Row};
use crate::storage::{aware, date, floats, naive};

mod tables;

/// The oldest MariaDB with everything used here (`SKIP LOCKED`, `JSON_TABLE`).
const MINIMUM_MARIADB: (u32, u32) = (10, 6);

pub(crate) async fn connect(
    url: &str,
    options: &ConnectOptions,
    health: &std::sync::Arc<super::Health>,
) -> Result<sqlx::MySqlPool, sqlx::Error> {
    use std::str::FromStr as _;
    let url = url
        .strip_prefix("mariadb:")
        .map_or_else(|| url.to_owned(), |rest| format!("mysql:{rest}"));
    let mut settings = Vec::new();
    if let Some(timeout) = options.statement_timeout {
        settings.push(format!(
            "SET SESSION max_statement_time = {:.3}",
            timeout.as_secs_f64().max(0.001)
        ));
    }
    settings.extend(options.on_connect.iter().cloned());
    // sqlx already sets the session time zone to UTC and the character set to utf8mb4.
    let connect = super::without_slow_log(sqlx::mysql::MySqlConnectOptions::from_str(&url)?);
    let pool = sqlx::mysql::MySqlPoolOptions::new()
        .max_connections(options.max_connections)
        .min_connections(options.min_connections)
        .acquire_timeout(options.acquire_timeout)
        .test_before_acquire(options.test_before_acquire)
        .before_acquire(super::health::ping_suspects!(health))
        .after_connect(move |conn, _| {
            let settings = settings.clone();
            Box::pin(async move {
                session_settings(conn).await?;
                super::run_settings!(conn, settings)
            })
        });
    if options.lazy {
        Ok(pool.connect_lazy_with(connect))
    } else {
        pool.connect_with(connect).await
    }
}

/// Check the server, then make the session behave as the other backends do:
/// - `ANSI_QUOTES`: `"name"` is an identifier, as in standard SQL, so custom SQL written for
///   PostgreSQL or SQLite means the same here (and a misspelt column is an error, not a
///   string);
/// - `STRICT_ALL_TABLES`: a value a column cannot hold (NULL in NOT NULL, text too long) is an
///   error, never silently changed, whatever the server's own mode (the upsert guards rely on
///   it);
/// - `READ COMMITTED`, PostgreSQL's default: a statement sees what committed before it, and
///   `InnoDB` takes no gap locks, so concurrent upserts do not deadlock on each other's gaps.
async fn session_settings(conn: &mut MySqlConnection) -> Result<(), sqlx::Error> {
    let version: String = sqlx::query_scalar("SELECT VERSION()")
        .fetch_one(&mut *conn)
        .await?;
    check_server(&version).map_err(|reason| sqlx::Error::Configuration(reason.into()))?;
    sqlx::raw_sql("SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES,STRICT_ALL_TABLES')")
        .execute(&mut *conn)
        .await?;
    sqlx::raw_sql("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Refuse servers without the statements this backend writes.
fn check_server(version: &str) -> Result<(), String> {
    let mut numbers = version
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse::<u32>().ok());
    let found = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    if !version.contains("MariaDB") {
        return Err(format!(
            "server {version} is MySQL; the mysql backend needs MariaDB {}.{} or later \
             (MySQL has no INSERT … RETURNING)",
            MINIMUM_MARIADB.0, MINIMUM_MARIADB.1
        ));
    }
    if found < MINIMUM_MARIADB {
        return Err(format!(
            "MariaDB {version} is too old: {}.{} or later is needed (FOR UPDATE SKIP LOCKED, \
             JSON_TABLE)",
            MINIMUM_MARIADB.0, MINIMUM_MARIADB.1
        ));
    }
    Ok(())
}

impl Driver for sqlx::MySql {
    fn arguments(values: &[Value]) -> Result<Self::Arguments, BoxDynError> {
        Self::arguments_owned(values.to_vec())
    }
    fn arguments_owned(values: Vec<Value>) -> Result<Self::Arguments, BoxDynError> {
        let values = values
            .into_iter()
            .map(storage)
            .collect::<Result<Vec<_>, BoxDynError>>()?;
        Ok(sqlx::IntoArguments::<sqlx::MySql>::into_arguments(
            sea_query_sqlx::SqlxValues(sea_query::Values(values)),
        ))
    }
    fn wrap(row: Self::Row) -> Row {
        Row::MySql(row)
    }
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        // sqlx asks for CLIENT_FOUND_ROWS: rows matched, not only rows whose values changed.
        result.rows_affected()
    }

    fn raw(
        connection: &mut Self::Connection,
        sql: sqlx::SqlStr,
    ) -> futures_core::future::BoxFuture<'_, Result<(), sqlx::Error>> {
        Box::pin(async move { sqlx::raw_sql(sql).execute(connection).await.map(drop) })
    }

    fn text(
        connection: &mut Self::Connection,
        sql: sqlx::SqlStr,
    ) -> futures_core::future::BoxFuture<'_, Result<Option<String>, sqlx::Error>> {
        Box::pin(async move {
            use sqlx::Row as _;
            let row = sqlx::raw_sql(sql).fetch_optional(connection).await?;
            Ok(row
                .map(|row| row.try_get::<Option<String>, _>(0))
                .transpose()?
                .flatten())
        })
    }

    const CLOSE_CUT_OFF: bool = true;
}

/// A value in the form this framework stores it on MariaDB.
fn storage(value: Value) -> Result<Value, BoxDynError> {
    Ok(match value {
        // Embeddings are a BLOB of little-endian f32s, as on SQLite.
        Value::Array(ArrayType::Float, v) => {
            Value::Bytes(v.map(|v| crate::field::encode_f32_blob(&floats(&v))))
        }
        Value::Array(..) => return Err(crate::storage::unsupported(&value)),
        // Addresses are text in their `to_string()` form.
        Value::IpNetwork(v) => Value::String(v.map(|ip| ip.ip().to_string())),
        // Years every backend stores alike, or a validation error before anything is sent.
        Value::ChronoDate(v) => Value::ChronoDate(date(v)?),
        // Instants travel as DATETIME values in UTC (the session's time zone): sqlx would send
        // a zoned value as TIMESTAMP, whose range (1970 to 2038) turns other years into NULL.
        Value::ChronoDateTime(v) => Value::ChronoDateTime(naive(v)?),
        Value::ChronoDateTimeUtc(v) => Value::ChronoDateTime(aware(v)?.map(|t| t.naive_utc())),
        Value::ChronoDateTimeLocal(v) => Value::ChronoDateTime(aware(v)?.map(|t| t.naive_utc())),
        Value::ChronoDateTimeWithTimeZone(v) => {
            Value::ChronoDateTime(aware(v)?.map(|t| t.naive_utc()))
        }
        value => value,
    })
}

/// The column of a NOT NULL violation: `Column 'x' cannot be null`, `Field 'x' doesn't have a
/// default value`.
pub(crate) fn not_null_column(db: &dyn DatabaseError) -> Option<String> {
    let error = db.try_downcast_ref::<MySqlDatabaseError>()?;
    matches!(error.number(), 1048 | 1364)
        .then(|| quoted(error.message(), '\'').map(str::to_owned))?
}

/// The constraint an error message names: `Duplicate entry '…' for key 'name'` (MySQL 8 writes
/// `'table.name'`), `… CONSTRAINT "name" …` for foreign keys and checks.
pub(crate) fn constraint(db: &dyn DatabaseError) -> Option<String> {
    let error = db.try_downcast_ref::<MySqlDatabaseError>()?;
    let message = error.message();
    match error.number() {
        1062 | 1586 => {
            let key = message.rsplit_once(" for key ")?.1;
            let key = quoted(key, '\'')?;
            Some(key.rsplit('.').next().unwrap_or(key).to_owned())
        }
        1451 | 1452 | 4025 | 3819 => {
            // Quoted as the session quotes identifiers: "name" under ANSI_QUOTES, else `name`.
            let after = message.split_once("CONSTRAINT ")?.1;
            quoted(after, after.chars().next()?).map(str::to_owned)
        }
        _ => None,
    }
}

/// `Some(true)` for deadlocks (1213), lock wait timeouts (1205) and either of them met while
/// waiting for a table's AUTO-INC lock, which `InnoDB` reports as a failed read of the
/// auto-increment value (1467); `None` for errors of other backends.
pub(crate) fn is_retryable(db: &dyn DatabaseError) -> Option<bool> {
    let error = db.try_downcast_ref::<MySqlDatabaseError>()?;
    Some(matches!(error.number(), 1205 | 1213 | 1467))
}

/// `Some(true)` when the server ended the session: shutting down (1053
/// `ER_SERVER_SHUTDOWN`), the connection killed (1927 `ER_CONNECTION_KILLED`).
pub(crate) fn is_connection_lost(db: &dyn DatabaseError) -> Option<bool> {
    let error = db.try_downcast_ref::<MySqlDatabaseError>()?;
    Some(matches!(error.number(), 1053 | 1927))
}

/// `Some(true)` for statements stopped by MariaDB's `max_statement_time` (1969) or MySQL's
/// `max_execution_time` (3024).
pub(crate) fn is_timeout(db: &dyn DatabaseError) -> Option<bool> {
    let error = db.try_downcast_ref::<MySqlDatabaseError>()?;
    Some(matches!(error.number(), 1969 | 3024))
}

/// The first `q`-quoted text in `text`.
fn quoted(text: &str, q: char) -> Option<&str> {
    let start = text.find(q)? + 1;
    let len = text[start..].find(q)?;
    Some(&text[start..start + len])
}

impl super::catalog::Catalog for sqlx::MySql {
    async fn catalog(
        conn: &mut sqlx::MySqlConnection,
        schema: Option<&str>,
        table: &str,
    ) -> Result<Option<super::catalog::CatalogTable>, sqlx::Error> {
        use super::catalog::{CatalogColumn, CatalogTable};
        // `COLUMN_TYPE` names the type as MariaDB writes it (`datetime(6)`, `varchar(255)`).
        let rows: Vec<(String, String, String, String, i64, Option<String>)> = sqlx::query_as(
            "SELECT CAST(COLUMN_NAME AS CHAR), CAST(IS_NULLABLE AS CHAR), \
                    CAST(DATA_TYPE AS CHAR), CAST(COLUMN_TYPE AS CHAR), \
                    (COLUMN_DEFAULT IS NOT NULL OR EXTRA LIKE '%auto_increment%' \
                     OR IS_GENERATED = 'ALWAYS'), \
                    CAST(COLLATION_NAME AS CHAR) \
             FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? \
             ORDER BY ORDINAL_POSITION",
        )
        .bind(schema)
        .bind(table)
        .fetch_all(&mut *conn)
        .await?;
        if rows.is_empty() {
            return Ok(None);
        }
        // `json` is `longtext` with a `json_valid` check, quoted as the session quotes names.
        let checks: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(CHECK_CLAUSE AS CHAR) FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?",
        )
        .bind(schema)
        .bind(table)
        .fetch_all(&mut *conn)
        .await?;
        let keys: Vec<(String, String)> = sqlx::query_as(
            "SELECT CAST(INDEX_NAME AS CHAR), \
                    CAST(GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) AS CHAR) \
             FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? \
               AND NON_UNIQUE = 0 \
             GROUP BY INDEX_NAME",
        )
        .bind(schema)
        .bind(table)
        .fetch_all(&mut *conn)
        .await?;
        let columns = rows
            .into_iter()
            .map(
                |(name, nullable, data_type, type_name, has_default, collation)| {
                    let json = checks.iter().any(|check| {
                        check.contains(&format!("json_valid(`{name}`)"))
                            || check.contains(&format!("json_valid(\"{name}\")"))
                    });
                    let (class, serves) = class(&data_type, json);
                    CatalogColumn {
                        name,
                        type_name,
                        nullable: nullable == "YES",
                        has_default: has_default != 0,
                        class,
                        serves,
                        // MariaDB gives JSON columns `utf8mb4_bin` whatever the table's; trailing
                        // spaces after a document do not change it.
                        inexact_collation: collation.filter(|c| !json && !compares_bytes(c)),
                    }
                },
            )
            .collect();
        let split = |columns: &str| columns.split(',').map(str::to_owned).collect::<Vec<_>>();
        Ok(Some(CatalogTable {
            columns,
            primary_key: keys
                .iter()
                .find(|(name, _)| name == "PRIMARY")
                .map(|(_, columns)| split(columns))
                .unwrap_or_default(),
            unique_keys: keys.iter().map(|(_, columns)| split(columns)).collect(),
        }))
    }

    async fn relations(
        conn: &mut sqlx::MySqlConnection,
        schema: Option<&str>,
    ) -> Result<Vec<(String, bool)>, sqlx::Error> {
        tables::relations(conn, schema).await
    }

    async fn describe(
        conn: &mut sqlx::MySqlConnection,
        schema: Option<&str>,
        name: &str,
        view: bool,
    ) -> Result<crate::schema_description::TableDescription, sqlx::Error> {
        tables::describe(conn, schema, name, view).await
    }
}

/// The class of a column from `information_schema.COLUMNS`, and the classes the framework
/// also stores in that type here.
fn class(
    data_type: &str,
    json: bool,
) -> (
    super::catalog::TypeClass,
    &'static [super::catalog::TypeClass],
) {
    use super::catalog::TypeClass;
    match data_type {
        "longtext" | "text" | "mediumtext" if json => (TypeClass::Json, &[TypeClass::Text]),
        "tinyint" => (TypeClass::Bool, &[TypeClass::Integer]),
        "smallint" | "mediumint" | "int" | "bigint" => (TypeClass::Integer, &[]),
        "float" | "double" => (TypeClass::Float, &[]),
        "decimal" => (TypeClass::Decimal, &[]),
        "varchar" | "char" | "tinytext" | "text" | "mediumtext" | "longtext" => (
            TypeClass::Text,
            &[TypeClass::Enum, TypeClass::Json, TypeClass::Inet],
        ),
        // Read and written as its labels' text.
        "enum" => (TypeClass::Enum, &[TypeClass::Text]),
        "date" => (TypeClass::Date, &[]),
        "time" => (TypeClass::Time, &[]),
        "datetime" | "timestamp" => (TypeClass::Timestamp, &[TypeClass::DateTime]),
        "binary" | "varbinary" => (TypeClass::Uuid, &[TypeClass::Blob]),
        "tinyblob" | "blob" | "mediumblob" | "longblob" => (TypeClass::Blob, &[TypeClass::Array]),
        _ => (TypeClass::Other, &[]),
    }
}

/// Whether a collation compares text as its bytes, trailing spaces included: MariaDB's
/// `…_nopad_bin` collations (such as [`COLLATION`](crate::dialect::mysql::COLLATION), the generated
/// schema's). `…_bin` alone is PAD SPACE (`'k0' = 'k0 '`); others fold case or accents.
fn compares_bytes(collation: &str) -> bool {
    collation.ends_with("_nopad_bin")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_mysql_and_old_mariadb() {
        assert!(check_server("10.11.19-MariaDB-0+deb12u1").is_ok());
        assert!(check_server("11.4.2-MariaDB").is_ok());
        assert!(check_server("10.5.23-MariaDB").is_err());
        assert!(check_server("8.0.36").is_err());
    }

    #[test]
    fn only_nopad_binary_collations_compare_bytes() {
        assert!(compares_bytes(crate::dialect::mysql::COLLATION));
        assert!(compares_bytes("utf8mb3_nopad_bin"));
        assert!(!compares_bytes("utf8mb4_bin"));
        assert!(!compares_bytes("utf8mb4_general_ci"));
        assert!(!compares_bytes("utf8mb4_nopad_general_ci"));
        assert!(!compares_bytes("utf8mb4_uca1400_nopad_as_cs"));
    }

    #[test]
    fn finds_quoted_names() {
        assert_eq!(
            quoted("for key 'users_email_key'", '\''),
            Some("users_email_key")
        );
        assert_eq!(quoted("CONSTRAINT `fk` FOREIGN KEY", '`'), Some("fk"));
        assert_eq!(quoted("no quotes", '\''), None);
    }
}
