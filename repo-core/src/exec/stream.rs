//! Rows one at a time, as the server sends them: [`Conn::fetch`].

use futures_core::stream::BoxStream;
use futures_util::{StreamExt as _, TryStreamExt as _};

use super::Conn;
use super::driver::{Bind, into_parts, query};
use super::observe::{Failure, Observed};
use crate::backend::classify::classify_untyped;
use crate::backend::{Driver, Lent, Pool, Tx};
use crate::dialect::dispatch;
use crate::error::{Error, Result};
use crate::row::Row;
use crate::statements::Statement;

/// Stream the rows of `statement` on a connection of `$conns` inside a transaction of its own
/// (through a transaction pooler), committed once the statement ran to its end.
macro_rules! stream_in_own_transaction {
    ($driver:ty, $conns:expr, $statement:expr) => {{
        let conns = $conns.clone();
        async_stream::stream! {
            let mut lent = match Lent::acquire(&conns).await {
                Ok(lent) => lent,
                Err(error) => {
                    yield Err(error);
                    return;
                }
            };
            let mut failed = false;
            {
                let connection = &mut *lent;
                let rows = stream_rows!($driver, connection, $statement);
                for await row in rows {
                    failed |= row.is_err();
                    yield row;
                }
            }
            lent.settled();
            if let Err(error) = lent.end(!failed).await {
                if !failed {
                    yield Err(error);
                }
            }
        }
    }};
}

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
        let telemetry = &self.settings().telemetry;
        // The call and span the stream is made in, not those it is first polled in.
        let (call, parent) = (crate::telemetry::current_call(), tracing::Span::current());
        let rows = self.fetch_unobserved(statement, classify);
        Box::pin(async_stream::stream! {
            // Observed from the first poll to the end of the rows (a stream dropped before its
            // end records nothing but its span).
            let Unobserved { sql, stream: mut rows } = rows;
            let observed = parent.in_scope(|| Observed::start_in(telemetry, &sql, call));
            let (mut returned, mut failure) = (0u64, None);
            while let Some(row) = rows.next().await {
                match row {
                    Ok(row) => {
                        returned += 1;
                        yield Ok(row);
                    }
                    Err(error) => {
                        failure = Some(Failure::of(&error));
                        yield Err(error);
                    }
                }
            }
            observed.end(failure.as_ref(), Some(returned), None);
        })
    }

    fn fetch_unobserved(
        self,
        statement: Statement,
        classify: fn(sqlx::Error) -> Error,
    ) -> Unobserved<'a> {
        let sql = statement.sql().to_owned();
        let stream = Box::pin(async_stream::stream! {
            match self {
                Conn::Db(db) => {
                    // A write streamed on the pool commits as it ends: one whose connection
                    // was lost may have committed.
                    let writes = !crate::session::is_read_only(statement.sql());
                    let rows = dispatch!(Pool, &db.pool, |conns, D| {
                        if conns.pooler.is_none() {
                            stream_rows!(D, &conns.pool, statement).boxed()
                        } else {
                            stream_in_own_transaction!(D, conns, statement).boxed()
                        }
                    });
                    for await row in rows {
                        yield row.map_err(|error| {
                            if writes && crate::backend::is_connection_lost(&error) {
                                Error::OutcomeUnknown { source: error }
                            } else {
                                classify(error)
                            }
                        });
                    }
                    if writes {
                        db.after_write().await;
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
        });
        Unobserved { sql, stream }
    }
}

/// A statement's rows, not yet observed, and its text.
struct Unobserved<'a> {
    sql: String,
    stream: BoxStream<'a, Result<Row>>,
}
