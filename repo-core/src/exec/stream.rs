//! Rows one at a time, as the server sends them: [`Conn::fetch`].

use futures_core::stream::BoxStream;
use futures_util::{StreamExt as _, TryStreamExt as _};

use super::Conn;
use super::driver::{Bind, into_parts, query};
use crate::backend::classify::classify_untyped;
use crate::backend::{Driver, Pool, Tx};
use crate::dialect::dispatch;
use crate::error::{Error, Result};
use crate::row::Row;
use crate::statements::Statement;

/// Stream the rows of `statement` from an executor; the first failure ends the stream.
macro_rules! stream_rows {
    ($driver:ty, $executor:expr, $statement:expr) => {
        async_stream::stream! {
            let (sql, values) = into_parts($statement);
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
    /// Run a query and receive its rows one at a time, as the server sends them.
    ///
    /// The rows are handed over undecoded, after the statement ran: for a write that returns
    /// rows, decode them through the repository (`fetch_entities_statement`, `fetch_rows`),
    /// which reads them before the write may stand.
    ///
    /// A statement that writes makes the read cache forget every cached table its text names,
    /// once the stream ends or is dropped.
    #[must_use]
    pub fn fetch(self, statement: Statement) -> BoxStream<'a, Result<Row>> {
        let Some(guard) = self.writing(&statement) else {
            return self.fetch_as(statement, classify_untyped);
        };
        let rows = self.fetch_as(statement, classify_untyped);
        Box::pin(async_stream::stream! {
            for await row in rows {
                yield row;
            }
            guard.done(None).await;
        })
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
                    let answered = std::sync::Arc::clone(&state.stream_answered);
                    answered.store(false, std::sync::atomic::Ordering::SeqCst);
                    let mut failure = None;
                    {
                        let rows = dispatch!(Tx, &mut state.tx, |tx, D| {
                            stream_rows!(D, &mut **tx, statement).boxed()
                        });
                        for await row in rows {
                            answered.store(true, std::sync::atomic::Ordering::SeqCst);
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
                    state.tx.settled();
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
}
