//! A connection lent by the pool for one statement or one transaction, which knows whether a
//! statement on it was cut off: its future dropped (a timeout, a cancelled task) while the
//! server may still be answering. The PostgreSQL and MariaDB drivers cannot always tell where
//! their replies stand after that (sqlx-mysql may wait forever for the reply to a command it
//! buffered but never sent), so such a connection is closed, never handed out again; SQLite's
//! finishes every command in its own thread, so its connection stays.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{AssertSqlSafe, SqlSafeStr as _, SqlStr};

use super::{Conns, Driver, Health, Pooler, pooler};

/// How long a transaction dropped while open may take to roll back before its connection is
/// closed instead.
const ROLLBACK_WAIT: Duration = Duration::from_secs(5);

/// A pooled connection, and whether a statement on it is under way and a transaction open.
pub(crate) struct Lent<DB: Driver> {
    conn: Option<PoolConnection<DB>>,
    /// Set whenever the connection is handed to the driver ([`DerefMut`]), cleared by
    /// [`settled`](Lent::settled) once the driver's call returned: still set when the lent
    /// connection is dropped or used next, the call was cut off.
    in_flight: bool,
    /// A transaction is open on the connection.
    open: bool,
    /// The transaction pooler the connection goes through, if any.
    pooler: Option<Arc<Pooler>>,
    /// The transaction is the lender's own (through a pooler, around one statement), ended
    /// by [`finish`](Lent::finish).
    own: bool,
    /// The pool's record of lost connections, told of each loss seen here.
    health: Arc<Health>,
    /// The hosts the pool follows, told of each loss or read-only refusal seen here.
    hosts: Option<Arc<super::hosts::Hosts>>,
    /// The pool's metrics, sampled again once the connection is back.
    metrics: Option<Arc<super::pool_metrics::PoolMetrics>>,
}

/// Where a call on a lent connection failed, which decides whether it may run again: before
/// its statement was sent (no connection, or the transaction around it did not begin), in the
/// statement, or at the `COMMIT` of the transaction around it.
#[derive(Debug)]
pub(crate) enum Failed {
    /// Nothing of the statement was sent.
    Before(sqlx::Error),
    /// The statement failed; `committed_alone` when it was not inside a transaction, so a
    /// write that was cut off may have committed.
    Statement {
        error: sqlx::Error,
        committed_alone: bool,
    },
    /// The statement ran, and the `COMMIT` of the transaction around it failed.
    Commit(sqlx::Error),
}

impl<DB: Driver> std::fmt::Debug for Lent<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lent")
            .field("in_flight", &self.in_flight)
            .field("open", &self.open)
            .finish_non_exhaustive()
    }
}

impl<DB: Driver> Lent<DB> {
    /// A connection of `conns`, for statements that commit on their own; through a pooler,
    /// inside a transaction of the connection's own, ended by [`finish`](Lent::finish).
    pub(crate) async fn acquire(conns: &Conns<DB>) -> Result<Self, sqlx::Error> {
        let mut lent = Self::take(conns).await?;
        if lent.pooler.is_some() {
            lent.start("BEGIN").await?;
            lent.own = true;
        }
        Ok(lent)
    }

    /// A connection of `conns` with a transaction begun by `sql`.
    pub(crate) async fn begin(conns: &Conns<DB>, sql: &'static str) -> Result<Self, sqlx::Error> {
        let mut lent = Self::take(conns).await?;
        lent.start(sql).await?;
        Ok(lent)
    }

    async fn take(conns: &Conns<DB>) -> Result<Self, sqlx::Error> {
        if let Some(hosts) = &conns.hosts
            && hosts.stale()
        {
            // Boxed: probing the hosts would make every call's future larger.
            Box::pin(hosts.follow(&conns.pool)).await?;
        }
        let waiting = conns
            .metrics
            .as_deref()
            .map(super::pool_metrics::PoolMetrics::acquiring);
        // Boxed: sqlx's acquire is a large future, which would make every call's larger.
        let conn = Box::pin(conns.pool.acquire()).await;
        if let Some(waiting) = waiting {
            waiting.acquired(matches!(conn, Err(sqlx::Error::PoolTimedOut)));
        }
        let conn = conn.inspect_err(|error| {
            conns.health.observe(error);
            if let Some(hosts) = &conns.hosts {
                hosts.observe(error);
            }
        })?;
        Ok(Self {
            conn: Some(conn),
            in_flight: false,
            open: false,
            pooler: conns.pooler.clone(),
            own: false,
            health: Arc::clone(&conns.health),
            hosts: conns.hosts.clone(),
            metrics: conns.metrics.clone(),
        })
    }

    /// Begin a transaction with `sql` (and, through a pooler, its settings).
    async fn start(&mut self, sql: &'static str) -> Result<(), sqlx::Error> {
        let sql = match &self.pooler {
            Some(pooler) => AssertSqlSafe(format!("{sql}{}", pooler.after_begin)).into_sql_str(),
            None => SqlStr::from_static(sql),
        };
        // Open from the moment BEGIN may run: cut off while it is sent, the connection is
        // rolled back (or closed) like any other.
        self.open = true;
        if let Err(error) = self.raw(sql).await {
            self.open = false;
            return Err(error);
        }
        Ok(())
    }

    /// End what [`acquire`](Lent::acquire) began around statements whose outcome is
    /// `outcome`: commit it if they succeeded, else roll it back; `outcome`, or the commit's
    /// failure. Without a pooler there is nothing to end.
    pub(crate) async fn finish<T>(self, outcome: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        match outcome {
            Ok(value) => self.end(true).await.map(|()| value),
            Err(error) => {
                // The statement's error matters more than a failed rollback (dropping the
                // connection rolls back anyway).
                let _ = self.end(false).await;
                Err(error)
            }
        }
    }

    /// [`finish`](Lent::finish) for a statement run on a connection of
    /// [`acquire`](Lent::acquire): where it failed, if it did.
    pub(crate) async fn finish_call<T>(self, outcome: Result<T, sqlx::Error>) -> Result<T, Failed> {
        let committed_alone = !self.own;
        match outcome {
            Ok(value) => self.end(true).await.map(|()| value).map_err(Failed::Commit),
            Err(error) => {
                let _ = self.end(false).await;
                Err(Failed::Statement {
                    error,
                    committed_alone,
                })
            }
        }
    }

    /// End what [`acquire`](Lent::acquire) began: commit it when `keep`, else roll it back.
    pub(crate) async fn end(self, keep: bool) -> Result<(), sqlx::Error> {
        match (self.own, keep) {
            (false, _) => Ok(()),
            (true, true) => self.commit().await,
            (true, false) => self.rollback().await,
        }
    }

    /// `COMMIT` or `ROLLBACK` as `end` says, with what the pooler needs done along.
    fn end_sql(&self, end: &'static str) -> SqlStr {
        match &self.pooler {
            Some(_) => AssertSqlSafe(format!("{end}{}", pooler::AFTER_END)).into_sql_str(),
            None => SqlStr::from_static(end),
        }
    }

    /// The driver's call on the connection returned (with rows or an error): nothing of it is
    /// left on the wire.
    pub(crate) fn settled(&mut self) {
        self.in_flight = false;
    }

    /// Whether the connection's pool follows the primary of a multi-host URL.
    pub(crate) fn follows_hosts(&self) -> bool {
        self.hosts.is_some()
    }

    /// Tell the pool of `error`, if it says the connection was lost.
    pub(crate) fn observe(&self, error: &sqlx::Error) {
        self.health.observe(error);
        if let Some(hosts) = &self.hosts {
            hosts.observe(error);
        }
    }

    /// [`settled`](Lent::settled) with `result`, whose error, if it says the connection was
    /// lost, the pool takes note of.
    pub(crate) fn settle<T>(&mut self, result: &Result<T, sqlx::Error>) {
        self.in_flight = false;
        if let Err(error) = result {
            self.observe(error);
        }
    }

    /// Whether a statement on the connection was cut off before its reply was read.
    pub(crate) fn cut_off(&self) -> bool {
        self.in_flight
    }

    /// Run SQL text without parameters (transaction control, savepoints).
    pub(crate) async fn raw(&mut self, sql: SqlStr) -> Result<(), sqlx::Error> {
        let done = DB::raw(&mut **self, sql).await;
        self.settle(&done);
        done
    }

    /// Commit the transaction.
    pub(crate) async fn commit(mut self) -> Result<(), sqlx::Error> {
        let done = self.raw(self.end_sql("COMMIT")).await;
        // Committed or not, the transaction is over (a failed COMMIT ends it too).
        self.open = false;
        done
    }

    /// Roll the transaction back; after a statement was cut off nothing is sent, and the
    /// connection is closed (which rolls back on the server).
    pub(crate) async fn rollback(mut self) -> Result<(), sqlx::Error> {
        if self.in_flight && DB::CLOSE_CUT_OFF {
            return Ok(());
        }
        let done = self.raw(self.end_sql("ROLLBACK")).await;
        if done.is_ok() {
            self.open = false;
        }
        done
    }
}

impl<DB: Driver> Deref for Lent<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        self.conn
            .as_deref()
            .expect("a lent connection is held until dropped")
    }
}

impl<DB: Driver> DerefMut for Lent<DB> {
    /// Every use of the connection may send: it counts as under way until
    /// [`settled`](Lent::settled).
    fn deref_mut(&mut self) -> &mut DB::Connection {
        self.in_flight = true;
        self.conn
            .as_deref_mut()
            .expect("a lent connection is held until dropped")
    }
}

impl<DB: Driver> Drop for Lent<DB> {
    fn drop(&mut self) {
        let kept = self.give_back();
        if let Some(metrics) = &self.metrics {
            match kept {
                Some(kept) => metrics.returned(kept),
                None => metrics.sample(),
            }
        }
    }
}

impl<DB: Driver> Lent<DB> {
    /// Hand the connection back to the pool, rolled back or closed as its state requires:
    /// whether it will be idle again (`None`: no connection was held).
    fn give_back(&mut self) -> Option<bool> {
        let mut conn = self.conn.take()?;
        if self.in_flight && DB::CLOSE_CUT_OFF {
            conn.close_on_drop();
            return Some(false);
        }
        if !self.open {
            return Some(true);
        }
        // Dropped with its transaction open (a session dropped, a cancelled unit of work):
        // rolled back from a task of its own before the connection goes back to the pool.
        let rollback = self.end_sql("ROLLBACK");
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let rolled_back =
                    tokio::time::timeout(ROLLBACK_WAIT, DB::raw(&mut conn, rollback)).await;
                // An error the server answered (no transaction was open after all) leaves
                // the connection in step; a timeout or a broken link does not.
                if !matches!(rolled_back, Ok(Ok(()) | Err(sqlx::Error::Database(_)))) {
                    conn.close_on_drop();
                }
            });
            Some(true)
        } else {
            conn.close_on_drop();
            Some(false)
        }
    }
}
