//! The pool's metrics, in the names of OpenTelemetry's database client conventions:
//! connections used and idle, the most it opens, calls waiting for one, how long they waited,
//! and how many found none in time. Handles are registered once, when the pool is made: a
//! `metrics` recorder installed after `Db::connect` does not see this pool.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Instant;

use metrics::{Counter, Gauge, Histogram, Label};

use crate::telemetry::names;

/// The metric handles of one pool, and how to read how full it is.
pub(crate) struct PoolMetrics {
    used: Gauge,
    idle: Gauge,
    pending: Gauge,
    wait: Histogram,
    timeouts: Counter,
    waiting: AtomicI64,
    /// The pool's open and idle connections.
    state: Box<dyn Fn() -> (u32, usize) + Send + Sync>,
}

impl std::fmt::Debug for PoolMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PoolMetrics").finish_non_exhaustive()
    }
}

impl PoolMetrics {
    /// The metrics of `pool`, labelled `name`.
    pub(crate) fn new<DB: sqlx::Database>(pool: &sqlx::Pool<DB>, name: String) -> Self {
        let max = pool.options().get_max_connections();
        let pool_label = Label::new(names::DB_CLIENT_CONNECTION_POOL_NAME, name);
        let labels = |state: Option<&'static str>| {
            let mut labels = vec![pool_label.clone()];
            if let Some(state) = state {
                labels.push(Label::new(names::DB_CLIENT_CONNECTION_STATE, state));
            }
            labels
        };
        metrics::gauge!(names::DB_CLIENT_CONNECTION_MAX, labels(None)).set(f64::from(max));
        let pool = pool.clone();
        Self {
            used: metrics::gauge!(names::DB_CLIENT_CONNECTION_COUNT, labels(Some("used"))),
            idle: metrics::gauge!(names::DB_CLIENT_CONNECTION_COUNT, labels(Some("idle"))),
            pending: metrics::gauge!(names::DB_CLIENT_CONNECTION_PENDING_REQUESTS, labels(None)),
            wait: metrics::histogram!(names::DB_CLIENT_CONNECTION_WAIT_TIME, labels(None)),
            timeouts: metrics::counter!(names::DB_CLIENT_CONNECTION_TIMEOUTS, labels(None)),
            waiting: AtomicI64::new(0),
            state: Box::new(move || (pool.size(), pool.num_idle())),
        }
    }

    /// A call starts waiting for a connection; the wait ends when the returned guard is
    /// told how it went, or dropped (the call was cancelled while it waited).
    pub(crate) fn acquiring(&self) -> Waiting<'_> {
        let waiting = self.waiting.fetch_add(1, Ordering::Relaxed) + 1;
        self.pending.set(waiting as f64);
        Waiting {
            metrics: self,
            since: Instant::now(),
        }
    }

    fn done_waiting(&self) {
        let waiting = self.waiting.fetch_sub(1, Ordering::Relaxed) - 1;
        self.pending.set(waiting.max(0) as f64);
    }

    /// Read how many connections are used and idle now.
    pub(crate) fn sample(&self) {
        let (size, idle) = (self.state)();
        self.set(size as usize, idle);
    }

    /// A lent connection was handed back (`kept`: to be idle again, not closed): the pool
    /// counts it once its return, which runs on, is done.
    pub(crate) fn returned(&self, kept: bool) {
        let (size, idle) = (self.state)();
        let size = size as usize;
        if kept {
            self.set(size, idle.saturating_add(1));
        } else {
            self.set(size.saturating_sub(1), idle);
        }
    }

    fn set(&self, size: usize, idle: usize) {
        // The pool's two counts are read one after the other while others change them.
        let idle = idle.min(size);
        self.idle.set(idle as f64);
        self.used.set((size - idle) as f64);
    }
}

/// A call waiting for a connection (see [`PoolMetrics::acquiring`]).
pub(crate) struct Waiting<'a> {
    metrics: &'a PoolMetrics,
    since: Instant,
}

impl Waiting<'_> {
    /// The call got a connection, or `timed_out`, or failed.
    pub(crate) fn acquired(self, timed_out: bool) {
        let metrics = self.metrics;
        metrics.wait.record(self.since.elapsed().as_secs_f64());
        if timed_out {
            metrics.timeouts.increment(1);
        }
        drop(self);
        metrics.sample();
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.metrics.done_waiting();
    }
}
