//! Handing statements to sqlx: the text and values of a [`Statement`], bound for the backend's
//! driver, run on any of its executors.

use std::borrow::Cow;
use std::sync::Arc;

use sea_query::Value;
use sqlx::{AssertSqlSafe, SqlSafeStr as _, SqlStr};

use crate::backend::Driver;
use crate::error::{Error, Result};
use crate::row::Row;
use crate::statements::Statement;

/// The one place generated SQL is handed to sqlx: every identifier in it comes from entity
/// declarations and every value travels as a bound parameter.
pub(super) fn into_parts(statement: Statement) -> (SqlStr, Vec<Value>) {
    let (sql, values) = statement.into_text_and_values();
    (AssertSqlSafe(sql).into_sql_str(), values)
}

/// The text, to hand to sqlx once per attempt without copying it, and the values.
pub(super) fn into_shared(statement: Statement) -> (Text, Vec<Value>) {
    let (sql, values) = statement.into_text_and_values();
    let text = match sql {
        Cow::Borrowed(sql) => Text::Static(sql),
        Cow::Owned(sql) => Text::Shared(Arc::new(sql)),
    };
    (text, values)
}

/// A statement's text that can be handed to sqlx again (for a retry) without a copy.
pub(super) enum Text {
    Static(&'static str),
    Shared(Arc<String>),
}

impl Text {
    /// The text.
    pub(super) fn as_str(&self) -> &str {
        match self {
            Self::Static(sql) => sql,
            Self::Shared(sql) => sql,
        }
    }

    /// See [`into_parts`]: the same generated SQL.
    pub(super) fn sql(&self) -> SqlStr {
        match self {
            Self::Static(sql) => SqlStr::from_static(sql),
            Self::Shared(sql) => AssertSqlSafe(Arc::clone(sql)).into_sql_str(),
        }
    }
}

/// The values of a statement: moved into the arguments where the statement runs once, borrowed
/// where it may run again, so a retry needs no copy of them.
pub(super) enum Bind<'v> {
    Owned(Vec<Value>),
    Borrowed(&'v [Value]),
}

pub(super) fn query<DB: Driver>(
    sql: SqlStr,
    values: Bind<'_>,
) -> Result<sqlx::query::Query<'static, DB, DB::Arguments>, sqlx::Error> {
    let arguments = match values {
        Bind::Owned(values) => DB::arguments_owned(values),
        Bind::Borrowed(values) => DB::arguments(values),
    }
    .map_err(sqlx::Error::Encode)?;
    Ok(sqlx::query_with(sql, arguments))
}

pub(super) async fn execute_on<'c, DB: Driver, X: sqlx::Executor<'c, Database = DB>>(
    executor: X,
    sql: SqlStr,
    values: Bind<'_>,
) -> Result<u64, sqlx::Error> {
    let result = query::<DB>(sql, values)?.execute(executor).await?;
    Ok(DB::rows_affected(&result))
}

pub(super) async fn fetch_all_on<'c, DB: Driver, X: sqlx::Executor<'c, Database = DB>>(
    executor: X,
    sql: SqlStr,
    values: Bind<'_>,
) -> Result<Vec<Row>, sqlx::Error> {
    let rows = query::<DB>(sql, values)?.fetch_all(executor).await?;
    Ok(rows.into_iter().map(DB::wrap).collect())
}

pub(super) async fn fetch_optional_on<'c, DB: Driver, X: sqlx::Executor<'c, Database = DB>>(
    executor: X,
    sql: SqlStr,
    values: Bind<'_>,
) -> Result<Option<Row>, sqlx::Error> {
    let row = query::<DB>(sql, values)?.fetch_optional(executor).await?;
    Ok(row.map(DB::wrap))
}

/// Run `statements` in order on one connection; stop at the first error. With `decode`, the
/// rows the statements return, decoded as they come (a row that does not decode stops the run
/// like a failed statement).
pub(super) async fn run_all<DB, C, I, T>(
    connection: &mut C,
    telemetry: &crate::telemetry::Telemetry,
    statements: I,
    decode: Option<fn(&Row) -> Result<T>>,
    map: fn(sqlx::Error) -> Error,
) -> Result<(u64, Vec<T>)>
where
    DB: Driver,
    for<'c> &'c mut C: sqlx::Executor<'c, Database = DB>,
    I: Iterator<Item = Result<Statement>>,
{
    let mut affected = 0;
    let mut rows = Vec::new();
    for statement in statements {
        let (text, values) = into_shared(statement?);
        let values = Bind::Owned(values);
        let observed = super::observe::Observed::start(telemetry, text.as_str());
        if let Some(decode) = decode {
            let fetched = fetch_all_on(&mut *connection, text.sql(), values)
                .await
                .map_err(map);
            let returned = fetched.as_ref().ok().map(|rows| rows.len() as u64);
            observed.finish(&fetched, returned, None);
            let fetched = fetched?;
            affected += fetched.len() as u64;
            rows.reserve(fetched.len());
            for row in &fetched {
                rows.push(decode(row)?);
            }
        } else {
            let done = execute_on(&mut *connection, text.sql(), values)
                .await
                .map_err(map);
            observed.finish(&done, None, done.as_ref().ok().copied());
            affected += done?;
        }
    }
    Ok((affected, rows))
}
