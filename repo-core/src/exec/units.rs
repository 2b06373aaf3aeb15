//! Statements that stand or fall together: a batch run atomically, and a write whose returned
//! rows are decoded before it may stand.

use super::driver::{Bind, fetch_all_on, into_shared, run_all};
use super::observe::Observed;
use super::{Conn, before_retry, commit_failed, primary_moved, uncommitted_retryable};
use crate::backend::{Tx, is_connection_lost};
use crate::db::Db;
use crate::dialect::dispatch;
use crate::error::{Error, Result};
use crate::row::Row;
use crate::session::State;
use crate::statements::Statement;

impl Conn<'_> {
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
        let (text, values) = into_shared(statement);
        let observed = Observed::start(&self.settings().telemetry, text.as_str());
        let items = async {
            match self {
                Conn::Db(db) => {
                    let policy = db.settings.retry;
                    let (mut attempt, since) = (1, std::time::Instant::now());
                    loop {
                        let mut tx = match db.pool.begin(None).await {
                            Ok(tx) => tx,
                            Err(error)
                                if error.is_connection_lost()
                                    && policy.may_retry(attempt, since, true) =>
                            {
                                before_retry(&db.settings, observed.span(), attempt, &error).await;
                                attempt += 1;
                                continue;
                            }
                            Err(error) => return Err(error),
                        };
                        let values = Bind::Borrowed(&values);
                        let fetched = dispatch!(Tx, &mut tx, |inner, D| fetch_all_on(
                            &mut **inner,
                            text.sql(),
                            values
                        )
                        .await);
                        tx.settle(&fetched);
                        let error = match fetched {
                            Ok(rows) => match decode_all(rows) {
                                Ok(items) => {
                                    tx.commit()
                                        .await
                                        .map_err(|error| commit_failed(error, classify))?;
                                    db.after_write().await;
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
                        let moved = primary_moved(db, &error);
                        if (uncommitted_retryable(&error) || moved)
                            && policy.may_retry(attempt, since, is_connection_lost(&error) || moved)
                        {
                            before_retry(&db.settings, observed.span(), attempt, &error).await;
                            attempt += 1;
                            continue;
                        }
                        return Err(classify(error));
                    }
                }
                Conn::Session(session) => {
                    let mut state = session.lock().await;
                    let guarded = state.before_undoable_statement(text.as_str()).await?;
                    let values = Bind::Owned(values);
                    let fetched = dispatch!(Tx, &mut state.tx, |tx, D| fetch_all_on(
                        &mut **tx,
                        text.sql(),
                        values
                    )
                    .await);
                    state.tx.settle(&fetched);
                    let rows = state.after_statement(fetched, guarded, classify).await?;
                    match decode_all(rows) {
                        Ok(items) => Ok(items),
                        Err(error) => Err(state.undo_statement(guarded, error).await),
                    }
                }
            }
        }
        .await;
        let returned = items.as_ref().ok().map(|items| items.len() as u64);
        observed.finish(&items, returned, None);
        items
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
        match self {
            // A transaction of its own, run again as a whole after a retryable failure.
            Conn::Db(db) => {
                let policy = db.settings.retry;
                let (mut attempt, since) = (1, std::time::Instant::now());
                loop {
                    let result = Self::atomic_on_pool(db, statements(), decode, map).await;
                    match result {
                        Err(Error::Database(error))
                            if (uncommitted_retryable(&error) || primary_moved(db, &error))
                                && policy.may_retry(
                                    attempt,
                                    since,
                                    is_connection_lost(&error) || primary_moved(db, &error),
                                ) =>
                        {
                            before_retry(&db.settings, &tracing::Span::none(), attempt, &error)
                                .await;
                            attempt += 1;
                        }
                        other => return other,
                    }
                }
            }
            Conn::Session(session) => {
                let mut state = session.lock().await;
                state.ready().await?;
                let result = within_savepoint(
                    &mut state,
                    &session.settings.telemetry,
                    statements(),
                    decode,
                    map,
                )
                .await;
                // The savepoint is undone: the session goes on after what a single statement
                // would leave it usable after (a refused upsert is a conflict here too).
                if let Err(error) = &result
                    && !(error.is_constraint_violation()
                        || matches!(error, Error::Validation { .. } | Error::Decode { .. })
                        || matches!(error, Error::Database(e)
                            if crate::backend::upsert_errors::refused_by_guard(e)))
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
            run_all(
                &mut **inner,
                &db.settings.telemetry,
                statements,
                decode,
                map,
            )
            .await
        });
        tx.settled();
        if let Err(Error::Database(error)) = &result {
            tx.observe(error);
        }
        match result {
            Ok(done) => {
                tx.commit()
                    .await
                    .map_err(|error| commit_failed(error, map))?;
                db.after_write().await;
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

/// Run `statements` in order under a savepoint of the session's transaction: kept whole, or
/// undone whole when one fails (the session goes on as before them unless the undo fails).
async fn within_savepoint<I, T: Send>(
    state: &mut State,
    telemetry: &crate::telemetry::Telemetry,
    statements: I,
    decode: Option<fn(&Row) -> Result<T>>,
    map: fn(sqlx::Error) -> Error,
) -> Result<(u64, Vec<T>)>
where
    I: Iterator<Item = Result<Statement>> + Send,
{
    if let Err(error) = state.tx.raw("SAVEPOINT repo_unit").await {
        return Err(state.abort(error));
    }
    let ran = dispatch!(Tx, &mut state.tx, |tx, D| {
        run_all(&mut **tx, telemetry, statements, decode, map).await
    });
    state.tx.settled();
    match ran {
        Ok(done) => match state.tx.raw("RELEASE SAVEPOINT repo_unit").await {
            Ok(()) => Ok(done),
            Err(error) => Err(state.abort(error)),
        },
        Err(error) => {
            let undone = state
                .tx
                .raw("ROLLBACK TO SAVEPOINT repo_unit; RELEASE SAVEPOINT repo_unit")
                .await;
            if let Err(undo) = undone {
                state.abort(undo);
            }
            Err(error)
        }
    }
}
