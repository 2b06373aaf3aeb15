//! Running statements on a pool or inside a session, on whichever backend it is.

use std::borrow::Cow;
use std::sync::Arc;

use futures_core::stream::BoxStream;
use futures_util::{StreamExt as _, TryStreamExt as _};
use sea_query::{QueryStatementWriter, Value};
use sqlx::{AssertSqlSafe, SqlSafeStr as _, SqlStr};

use crate::backend::{Driver, dispatch};
use crate::classify::classify_untyped;
use crate::db::{Backend, Db, Settings};
use crate::error::{Error, Result};
use crate::row::Row;
use crate::session::Session;

/// A sea-query statement a [`Repository`](crate::repository::Repository) runs as it is: a
/// `SelectStatement`, `InsertStatement`, `UpdateStatement`, `DeleteStatement` or `WithQuery`
/// (every sea-query `QueryStatementWriter` that is `Sync`), taken by
/// [`fetch_entities`](crate::Repository::fetch_entities), [`fetch_rows`](crate::Repository::fetch_rows),
/// [`execute`](crate::Repository::execute) and the like.
///
/// An [`UpdateReturning`](crate::UpdateReturning) is not one: it needs the framework to run
/// it (`UPDATE … RETURNING`, or lock, update and read back where the backend lacks it), so
/// passing it here does not compile and the message names
/// [`fetch_updated`](crate::Repository::fetch_updated) instead.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a statement `fetch_entities`, `fetch_rows` or `execute` can run",
    label = "not a sea-query statement",
    note = "an `UpdateReturning` runs with `repo.fetch_updated(update)` (the changed rows), `repo.fetch_updated_one(update)` or `repo.claim(update, limit)`"
)]
pub trait RunnableStatement: Sync {
    /// The statement rendered for `backend`, as [`Statement::build`] renders it.
    fn to_statement(&self, backend: Backend) -> Statement;
}

impl<T: QueryStatementWriter + Sync> RunnableStatement for T {
    fn to_statement(&self, backend: Backend) -> Statement {
        Statement::build(self, backend)
    }
}

/// SQL text with its bound values, ready to run.
#[derive(Debug, Clone)]
pub struct Statement {
    sql: Cow<'static, str>,
    values: Vec<Value>,
}

impl Statement {
    /// A statement from SQL text (placeholders in the backend's style) and its values.
    pub fn new(sql: impl Into<Cow<'static, str>>, values: Vec<Value>) -> Self {
        Self {
            sql: sql.into(),
            values,
        }
    }

    /// Render a sea-query statement for `backend`.
    ///
    /// Where a prepared statement fixes its parameter types (PostgreSQL), the text starts with
    /// a comment naming them, because the driver caches prepared statements by text: a custom
    /// condition comparing a column with an `i32` in one call and an `f64` in another must not
    /// reuse the other's statement.
    pub fn build(statement: &impl QueryStatementWriter, backend: Backend) -> Self {
        let (sql, values) = backend.render(statement);
        Self::new(backend.with_type_signature(sql, &values), values)
    }

    /// The SQL text.
    #[must_use]
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// Append `LIMIT n` as literal text to a query that has no LIMIT yet. Fixed limits are
    /// cheaper as literals: SQLite re-plans a cached statement whose LIMIT is a parameter.
    #[must_use]
    pub fn with_literal_limit(mut self, n: u64) -> Self {
        use std::fmt::Write as _;
        let _ = write!(self.sql.to_mut(), " LIMIT {n}");
        self
    }

    /// The bound values.
    #[must_use]
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    /// The one place generated SQL is handed to sqlx: every identifier in it comes from entity
    /// declarations and every value travels as a bound parameter.
    fn into_parts(self) -> (SqlStr, Vec<Value>) {
        (AssertSqlSafe(self.sql).into_sql_str(), self.values)
    }

    /// The text, to hand to sqlx once per attempt without copying it, and the values.
    fn into_shared(self) -> (Text, Vec<Value>) {
        let text = match self.sql {
            Cow::Borrowed(sql) => Text::Static(sql),
            Cow::Owned(sql) => Text::Shared(Arc::new(sql)),
        };
        (text, self.values)
    }
}

/// A statement's text that can be handed to sqlx again (for a retry) without a copy.
enum Text {
    Static(&'static str),
    Shared(Arc<String>),
}

impl Text {
    /// See [`Statement::into_parts`]: the same generated SQL.
    fn sql(&self) -> SqlStr {
        match self {
            Self::Static(sql) => SqlStr::from_static(sql),
            Self::Shared(sql) => AssertSqlSafe(Arc::clone(sql)).into_sql_str(),
        }
    }
}

/// The values of a statement: moved into the arguments where the statement runs once, borrowed
/// where it may run again, so a retry needs no copy of them.
enum Bind<'v> {
    Owned(Vec<Value>),
    Borrowed(&'v [Value]),
}

fn query<DB: Driver>(
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

async fn execute_on<'c, DB: Driver, X: sqlx::Executor<'c, Database = DB>>(
    executor: X,
    sql: SqlStr,
    values: Bind<'_>,
) -> Result<u64, sqlx::Error> {
    let result = query::<DB>(sql, values)?.execute(executor).await?;
    Ok(DB::rows_affected(&result))
}

async fn fetch_all_on<'c, DB: Driver, X: sqlx::Executor<'c, Database = DB>>(
    executor: X,
    sql: SqlStr,
    values: Bind<'_>,
) -> Result<Vec<Row>, sqlx::Error> {
    let rows = query::<DB>(sql, values)?.fetch_all(executor).await?;
    Ok(rows.into_iter().map(DB::wrap).collect())
}

async fn fetch_optional_on<'c, DB: Driver, X: sqlx::Executor<'c, Database = DB>>(
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
async fn run_all<DB, C, I, T>(
    connection: &mut C,
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
        let (sql, values) = statement?.into_parts();
        let values = Bind::Owned(values);
        if let Some(decode) = decode {
            let fetched = fetch_all_on(&mut *connection, sql, values)
                .await
                .map_err(map)?;
            affected += fetched.len() as u64;
            rows.reserve(fetched.len());
            for row in &fetched {
                rows.push(decode(row)?);
            }
        } else {
            affected += execute_on(&mut *connection, sql, values)
                .await
                .map_err(map)?;
        }
    }
    Ok((affected, rows))
}

/// Where a repository runs its statements: the pool (autocommit) or a [`Session`].
#[derive(Debug, Clone, Copy)]
pub enum Conn<'a> {
    /// Each call on its own pooled connection, committed at once.
    Db(&'a Db),
    /// Every call inside the session's transaction.
    Session(&'a Session),
}

impl<'a> From<&'a Db> for Conn<'a> {
    fn from(db: &'a Db) -> Self {
        Self::Db(db)
    }
}

impl<'a> From<&'a Session> for Conn<'a> {
    fn from(session: &'a Session) -> Self {
        Self::Session(session)
    }
}

impl<'a> From<&Conn<'a>> for Conn<'a> {
    fn from(conn: &Conn<'a>) -> Self {
        *conn
    }
}

/// Statements with more values than this are not run again on their own: only bulk chunks
/// are that large, and a bulk write retries as a whole (see [`Conn::atomic`]).
const RETRY_VALUE_LIMIT: usize = 1_024;

/// Whether a driver error means "run it again" (a deadlock, a busy database, …).
fn retryable(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if crate::backend::is_retryable(&**db))
}

/// Wait before running a statement or unit of work on the pool again, and say so.
async fn before_retry(policy: &crate::retry::RetryPolicy, attempt: u32, error: &sqlx::Error) {
    let delay = policy.delay(attempt);
    tracing::info!(
        attempt,
        delay_ms = delay.as_millis() as u64,
        error = %error,
        "statement failed with a retryable error: running it again"
    );
    tokio::time::sleep(delay).await;
}

macro_rules! run {
    ($conn:expr, $op:ident, $statement:expr, $classify:expr) => {
        match $conn {
            // A statement on the pool is its own transaction: one that failed changed nothing
            // and can run again.
            Conn::Db(db) => {
                let policy = db.settings.retry;
                // Bound from a borrow on each attempt: a retry copies neither text nor values.
                let (text, values) = $statement.into_shared();
                let retries = values.len() <= RETRY_VALUE_LIMIT;
                let mut attempt = 1;
                loop {
                    let values = Bind::Borrowed(&values);
                    let result = dispatch!(Pool, &db.pool, |pool, D| $op(pool, text.sql(), values)
                        .await);
                    match result {
                        Err(error)
                            if retries && attempt < policy.max_attempts() && retryable(&error) =>
                        {
                            before_retry(&policy, attempt, &error).await;
                            attempt += 1;
                        }
                        result => break result.map_err($classify),
                    }
                }
            }
            Conn::Session(session) => {
                let statement = $statement;
                let mut state = session.lock().await;
                let guarded = state.before_statement(statement.sql()).await?;
                let (sql, values) = statement.into_parts();
                let values = Bind::Owned(values);
                let result =
                    dispatch!(Tx, &mut state.tx, |tx, D| $op(&mut **tx, sql, values).await);
                state.after_statement(result, guarded, $classify).await
            }
        }
    };
}

/// Stream the rows of `statement` from an executor; the first failure ends the stream.
macro_rules! stream_rows {
    ($driver:ty, $executor:expr, $statement:expr) => {
        async_stream::stream! {
            let (sql, values) = $statement.into_parts();
            let query = match query::<$driver>(sql, Bind::Owned(values)) {
                Ok(query) => query,
                Err(error) => {
                    yield Err(error);
                    return;
                }
            };
            let mut rows = query.fetch($executor);
            loop {
                match rows.try_next().await {
                    Ok(Some(row)) => yield Ok(<$driver as Driver>::wrap(row)),
                    Ok(None) => break,
                    Err(error) => {
                        yield Err(error);
                        break;
                    }
                }
            }
        }
    };
}

impl<'a> Conn<'a> {
    /// The backend statements run on.
    #[must_use]
    pub fn backend(&self) -> Backend {
        match self {
            Self::Db(db) => db.backend(),
            Self::Session(session) => session.backend(),
        }
    }

    /// Who writes made here are recorded as, in the audit log.
    pub(crate) fn actor(&self) -> Option<std::sync::Arc<str>> {
        match self {
            Self::Db(db) => db.actor.clone(),
            Self::Session(session) => session.actor_name(),
        }
    }

    pub(crate) fn settings(&self) -> &'a Settings {
        match self {
            Self::Db(db) => &db.settings,
            Self::Session(session) => &session.settings,
        }
    }

    /// What the database says about `table`, read where statements run (inside the session's
    /// transaction, so a table it created is seen, and never aborting it).
    pub(crate) async fn describe(
        &self,
        table: &crate::backend::Table<'_>,
    ) -> Result<crate::backend::TableDescription> {
        match self {
            Conn::Db(db) => db.pool.describe(table).await.map_err(classify_untyped),
            Conn::Session(session) => session.lock().await.describe(table).await,
        }
    }

    /// Run a statement; the number of rows it affected.
    pub async fn execute(&self, statement: Statement) -> Result<u64> {
        self.execute_as(statement, classify_untyped).await
    }

    /// Run a query; all its rows, undecoded (see [`fetch`](Conn::fetch) for writes).
    pub async fn fetch_all(&self, statement: Statement) -> Result<Vec<Row>> {
        self.fetch_all_as(statement, classify_untyped).await
    }

    /// Run a query; its first row, if any.
    pub async fn fetch_optional(&self, statement: Statement) -> Result<Option<Row>> {
        self.fetch_optional_as(statement, classify_untyped).await
    }

    pub(crate) async fn execute_as(
        &self,
        statement: Statement,
        classify: fn(sqlx::Error) -> Error,
    ) -> Result<u64> {
        run!(self, execute_on, statement, classify)
    }

    pub(crate) async fn fetch_all_as(
        &self,
        statement: Statement,
        classify: fn(sqlx::Error) -> Error,
    ) -> Result<Vec<Row>> {
        run!(self, fetch_all_on, statement, classify)
    }

    pub(crate) async fn fetch_optional_as(
        &self,
        statement: Statement,
        classify: fn(sqlx::Error) -> Error,
    ) -> Result<Option<Row>> {
        run!(self, fetch_optional_on, statement, classify)
    }

    /// Run `statement`, a write that returns rows, and decode every row with `decode` before
    /// the write may stand: on the pool in a transaction of its own, committed only once every
    /// row decoded (run again as a whole after a retryable failure); in a session under a
    /// savepoint, rolled back to it when a row does not decode, so the session goes on as before
    /// the statement. A row that does not decode is the call's error and nothing is written.
    pub(crate) async fn fetch_all_undoable<T: Send>(
        &self,
        statement: Statement,
        classify: fn(sqlx::Error) -> Error,
        decode: impl Fn(&Row) -> Result<T> + Send + Sync,
    ) -> Result<Vec<T>> {
        let decode_all = |rows: Vec<Row>| rows.iter().map(&decode).collect::<Result<Vec<T>>>();
        match self {
            Conn::Db(db) => {
                let policy = db.settings.retry;
                let (text, values) = statement.into_shared();
                let mut attempt = 1;
                loop {
                    let mut tx = db.pool.begin(None).await?;
                    let values = Bind::Borrowed(&values);
                    let fetched = dispatch!(Tx, &mut tx, |inner, D| fetch_all_on(
                        &mut **inner,
                        text.sql(),
                        values
                    )
                    .await);
                    let error = match fetched {
                        Ok(rows) => match decode_all(rows) {
                            Ok(items) => {
                                tx.commit().await.map_err(classify)?;
                                return Ok(items);
                            }
                            Err(error) => {
                                let _ = tx.rollback().await;
                                return Err(error);
                            }
                        },
                        Err(error) => error,
                    };
                    // Dropping the transaction rolls it back too; the error matters more.
                    let _ = tx.rollback().await;
                    if attempt < policy.max_attempts() && retryable(&error) {
                        before_retry(&policy, attempt, &error).await;
                        attempt += 1;
                        continue;
                    }
                    return Err(classify(error));
                }
            }
            Conn::Session(session) => {
                let mut state = session.lock().await;
                let guarded = state.before_undoable_statement(statement.sql()).await?;
                let (sql, values) = statement.into_parts();
                let values = Bind::Owned(values);
                let fetched = dispatch!(Tx, &mut state.tx, |tx, D| fetch_all_on(
                    &mut **tx, sql, values
                )
                .await);
                let rows = state.after_statement(fetched, guarded, classify).await?;
                match decode_all(rows) {
                    Ok(items) => Ok(items),
                    Err(error) => Err(state.undo_statement(guarded, error).await),
                }
            }
        }
    }

    /// Run a query and receive its rows one at a time, as the server sends them.
    ///
    /// The rows are handed over undecoded, after the statement ran: for a write that returns
    /// rows, decode them through the repository (`fetch_entities_statement`, `fetch_rows`),
    /// which reads them before the write may stand.
    #[must_use]
    pub fn fetch(self, statement: Statement) -> BoxStream<'a, Result<Row>> {
        self.fetch_as(statement, classify_untyped)
    }

    pub(crate) fn fetch_as(
        self,
        statement: Statement,
        classify: fn(sqlx::Error) -> Error,
    ) -> BoxStream<'a, Result<Row>> {
        Box::pin(async_stream::stream! {
            match self {
                Conn::Db(db) => {
                    let rows = dispatch!(Pool, &db.pool, |pool, D| {
                        stream_rows!(D, pool, statement).boxed()
                    });
                    for await row in rows {
                        yield row.map_err(classify);
                    }
                }
                Conn::Session(session) => {
                    let mut state = session.lock().await;
                    let guarded = match state.before_statement(statement.sql()).await {
                        Ok(guarded) => guarded,
                        Err(error) => {
                            yield Err(error);
                            return;
                        }
                    };
                    // Cleared once the statement has run to its end, whichever way it ended.
                    state.stream_unfinished = true;
                    let mut failure = None;
                    {
                        let rows = dispatch!(Tx, &mut state.tx, |tx, D| {
                            stream_rows!(D, &mut **tx, statement).boxed()
                        });
                        for await row in rows {
                            match row {
                                Ok(row) => yield Ok(row),
                                Err(error) => {
                                    failure = Some(error);
                                    break;
                                }
                            }
                        }
                    }
                    state.stream_unfinished = false;
                    if let Some(error) = failure {
                        // A constraint violation (a streamed write) is undone alone, as in
                        // `execute`; any other failure aborts the unit of work.
                        if let Err(error) =
                            state.after_statement::<()>(Err(error), guarded, classify).await
                        {
                            yield Err(error);
                        }
                    }
                }
            }
        })
    }

    /// Run every statement or none: in a transaction of its own on the pool, or in a savepoint
    /// inside a session (so a failure leaves the session's earlier work intact and usable).
    /// Returns the rows affected and, with `decode`, the rows the statements returned, decoded
    /// before anything is committed (a row that does not decode undoes every statement).
    pub(crate) async fn atomic<I, T: Send>(
        &self,
        statements: impl Fn() -> I + Send,
        decode: Option<fn(&Row) -> Result<T>>,
        map: fn(sqlx::Error) -> Error,
    ) -> Result<(u64, Vec<T>)>
    where
        I: Iterator<Item = Result<Statement>> + Send,
    {
        use sqlx::Connection as _;
        macro_rules! within {
            ($tx:expr, $statements:expr) => {{
                let mut tx = $tx;
                match run_all(&mut *tx, $statements, decode, map).await {
                    Ok(done) => {
                        tx.commit().await.map_err(map)?;
                        Ok(done)
                    }
                    Err(error) => {
                        // The error that stopped the batch matters more than a failed rollback,
                        // and dropping the transaction rolls it back regardless.
                        let _ = tx.rollback().await;
                        Err(error)
                    }
                }
            }};
        }
        match self {
            // A transaction of its own, run again as a whole after a retryable failure.
            Conn::Db(db) => {
                let policy = db.settings.retry;
                let mut attempt = 1;
                loop {
                    let result = Self::atomic_on_pool(db, statements(), decode, map).await;
                    match result {
                        Err(Error::Database(error))
                            if attempt < policy.max_attempts() && retryable(&error) =>
                        {
                            before_retry(&policy, attempt, &error).await;
                            attempt += 1;
                        }
                        other => return other,
                    }
                }
            }
            Conn::Session(session) => {
                let mut state = session.lock().await;
                state.ready().await?;
                let result = dispatch!(Tx, &mut state.tx, |tx, D| within!(
                    tx.begin().await.map_err(map)?,
                    statements()
                ));
                // The savepoint is undone: the session goes on after what a single statement
                // would leave it usable after (a refused upsert is a conflict here too).
                if let Err(error) = &result
                    && !(error.is_constraint_violation()
                        || matches!(error, Error::Validation { .. } | Error::Decode { .. })
                        || matches!(error, Error::Database(e)
                            if crate::statements::refused_by_guard(e)))
                {
                    state.abort_with(error);
                }
                result
            }
        }
    }
}

impl Conn<'_> {
    /// [`atomic`](Conn::atomic) on the pool, once: begin, run every statement, commit.
    async fn atomic_on_pool<I, T: Send>(
        db: &Db,
        statements: I,
        decode: Option<fn(&Row) -> Result<T>>,
        map: fn(sqlx::Error) -> Error,
    ) -> Result<(u64, Vec<T>)>
    where
        I: Iterator<Item = Result<Statement>> + Send,
    {
        let mut tx = db.pool.begin(None).await.map_err(|e| match e {
            Error::Database(e) => map(e),
            other => other,
        })?;
        let result = dispatch!(Tx, &mut tx, |inner, D| {
            run_all(&mut **inner, statements, decode, map).await
        });
        match result {
            Ok(done) => {
                tx.commit().await.map_err(map)?;
                Ok(done)
            }
            Err(error) => {
                // The error that stopped the batch matters more than a failed rollback, and
                // dropping the transaction rolls it back regardless.
                let _ = tx.rollback().await;
                Err(error)
            }
        }
    }
}
