//! Read replicas: which are fit to serve a read, how far each has replayed the primary's log,
//! and the wait that makes a read see its caller's own writes.
//!
//! A watcher task samples the primary's position and each replica's every
//! [`CHECK_EVERY`]: a replica's lag is how long ago the newest primary sample it has replayed
//! was taken; a replica that fails a check, or a read, rests for a while (doubling up to
//! [`LONGEST_REST`]) and serves again once a check answers.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::Pool;
use super::position::Position;
use crate::dialect::Backend;

/// How often the watcher samples the primary and checks each replica.
pub(crate) const CHECK_EVERY: Duration = Duration::from_millis(250);
/// The first rest of a replica that failed; doubled for each failure in a row.
const FIRST_REST: Duration = Duration::from_millis(250);
/// The longest rest.
const LONGEST_REST: Duration = Duration::from_secs(10);
/// How long a check of one server may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Where reads go: [`DbOptions::read_from`](crate::DbOptions::read_from),
/// [`Db::on_replica`](crate::Db::on_replica).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ReadFrom {
    /// Every statement on the primary.
    #[default]
    Primary,
    /// Reads on the pool on a replica that is up, lags less than
    /// [`replica_max_lag`](crate::DbOptions::replica_max_lag) and has replayed the handle's
    /// [`ConsistencyToken`](crate::ConsistencyToken), if it has one (waiting up to
    /// [`replica_wait`](crate::DbOptions::replica_wait) for that); on the primary when none is.
    /// Writes, sessions, streams and read-cache fills use the primary.
    ReplicaPreferred,
}

/// What reads asked of replicas, counted since the `Db` connected
/// ([`Db::replica_reads`](crate::Db::replica_reads)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplicaReads {
    /// Reads a replica served.
    pub on_replica: u64,
    /// Reads that asked for a replica and went to the primary: none was up, close enough, or
    /// had replayed the caller's writes in time.
    pub on_primary: u64,
    /// Of those served by a replica, the reads that first waited for it to replay the
    /// caller's writes.
    pub waited: u64,
    /// Reads that failed on a replica (a lost connection, a refused statement) and ran on
    /// the primary instead; the caller saw no error.
    pub failed_over: u64,
}

/// The replicas of one `Db`, shared by its clones.
#[derive(Debug)]
pub(crate) struct Replicas {
    members: Vec<Replica>,
    /// Round robin over the members.
    next: AtomicUsize,
    /// How long a read waits for a replica to replay its caller's writes.
    pub(crate) wait: Duration,
    /// Replicas further behind are not read from.
    pub(crate) max_lag: Duration,
    /// The primary's recent positions, newest last.
    samples: Mutex<VecDeque<(Instant, Position)>>,
    counts: Counts,
}

#[derive(Debug, Default)]
struct Counts {
    on_replica: AtomicU64,
    on_primary: AtomicU64,
    waited: AtomicU64,
    failed_over: AtomicU64,
}

/// One replica: its pool and what is known of it.
#[derive(Debug)]
pub(crate) struct Replica {
    pub(crate) pool: Pool,
    state: Mutex<ReplicaState>,
}

#[derive(Debug, Default)]
struct ReplicaState {
    /// The furthest position it was seen to have replayed.
    replayed: Option<Position>,
    /// How far behind the primary it was at the last check (`None`: not known yet).
    lag: Option<Duration>,
    /// Failures in a row, and until when it rests after the last.
    failures: u32,
    resting_until: Option<Instant>,
}

impl Replicas {
    pub(crate) fn new(pools: Vec<Pool>, wait: Duration, max_lag: Duration) -> Self {
        Self {
            members: pools
                .into_iter()
                .map(|pool| Replica {
                    pool,
                    state: Mutex::new(ReplicaState::default()),
                })
                .collect(),
            next: AtomicUsize::new(0),
            wait,
            max_lag,
            samples: Mutex::new(VecDeque::new()),
            counts: Counts::default(),
        }
    }

    /// A replica to read from for a caller whose writes stood at `token`: one that is up,
    /// close enough and has replayed `token` (waited for up to `wait`); `None` for the primary.
    pub(crate) async fn choose(&self, token: Option<&Position>) -> Option<&Replica> {
        let count = self.members.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        // First a replica that needs no wait; then one that may catch up in time.
        let mut may_catch_up = None;
        for i in 0..count {
            let replica = &self.members[(start + i) % count];
            let state = replica.lock();
            if state.resting_until.is_some_and(|until| until > now) {
                continue;
            }
            let Some(lag) = state.lag.filter(|lag| *lag <= self.max_lag) else {
                continue;
            };
            match token {
                None => {
                    self.counts.on_replica.fetch_add(1, Ordering::Relaxed);
                    return Some(replica);
                }
                Some(token) if state.replayed.as_ref().is_some_and(|at| at.covers(token)) => {
                    self.counts.on_replica.fetch_add(1, Ordering::Relaxed);
                    return Some(replica);
                }
                // A replica further behind than the wait would not make it.
                Some(_) if lag <= self.wait && may_catch_up.is_none() => {
                    may_catch_up = Some(replica);
                }
                Some(_) => {}
            }
        }
        if let (Some(replica), Some(token)) = (may_catch_up, token)
            && !self.wait.is_zero()
            && replica.wait_for(token, self.wait).await
        {
            self.counts.on_replica.fetch_add(1, Ordering::Relaxed);
            self.counts.waited.fetch_add(1, Ordering::Relaxed);
            return Some(replica);
        }
        self.counts.on_primary.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// A read asked for a replica and goes to the primary without looking (its handle's
    /// position is not known).
    pub(crate) fn choose_primary(&self) {
        self.counts.on_primary.fetch_add(1, Ordering::Relaxed);
    }

    /// A read that failed on `replica` runs on the primary instead.
    pub(crate) fn failed_over(&self, replica: &Replica, rest: bool) {
        self.counts.failed_over.fetch_add(1, Ordering::Relaxed);
        self.counts.on_replica.fetch_sub(1, Ordering::Relaxed);
        self.counts.on_primary.fetch_add(1, Ordering::Relaxed);
        if rest {
            replica.failed();
        }
    }

    pub(crate) fn counts(&self) -> ReplicaReads {
        ReplicaReads {
            on_replica: self.counts.on_replica.load(Ordering::Relaxed),
            on_primary: self.counts.on_primary.load(Ordering::Relaxed),
            waited: self.counts.waited.load(Ordering::Relaxed),
            failed_over: self.counts.failed_over.load(Ordering::Relaxed),
        }
    }

    pub(crate) async fn close(&self) {
        for replica in &self.members {
            replica.pool.close().await;
        }
    }

    /// Check every replica against the primary once: the first check, before the `Db` is
    /// handed out, and each of the watcher's.
    pub(crate) async fn check(&self, primary: &Pool) {
        let now = Instant::now();
        if let Ok(Ok(Some(position))) =
            tokio::time::timeout(CHECK_TIMEOUT, primary.primary_position()).await
        {
            let mut samples = self
                .samples
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            samples.push_back((now, position));
            // Enough samples to measure a lag a little over the largest that is served.
            let keep = (self.max_lag.as_millis() / CHECK_EVERY.as_millis()) as usize + 4;
            while samples.len() > keep {
                samples.pop_front();
            }
        }
        let checks = self.members.iter().map(|replica| async move {
            let replayed = tokio::time::timeout(CHECK_TIMEOUT, replica.pool.replayed_position())
                .await
                .map_err(|_| ())
                .and_then(|result| result.map_err(|_| ()));
            match replayed {
                Ok(Some(position)) => {
                    let lag = self.lag_of(&position);
                    let mut state = replica.lock();
                    state.failures = 0;
                    state.resting_until = None;
                    state.lag = lag;
                    state.see(position);
                }
                // Up, but replaying nothing: not a standby (a multi-host URL's standby that was
                // promoted: its hosts are searched again), or not yet.
                Ok(None) => {
                    replica.lock().lag = None;
                    replica.pool.search_hosts_again();
                }
                Err(()) => replica.failed(),
            }
        });
        futures_util::future::join_all(checks).await;
    }

    /// How far behind a replica at `replayed` is: the age of the oldest primary sample it has
    /// not replayed (what it misses was committed after the sample before that one, so this is
    /// the least its lag can be; a read that finds it further behind waits in vain, for no
    /// longer than the wait). Zero when it has replayed the newest sample.
    fn lag_of(&self, replayed: &Position) -> Option<Duration> {
        let samples = self
            .samples
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let newest_covered = samples
            .iter()
            .rposition(|(_, position)| replayed.covers(position));
        match newest_covered {
            Some(i) if i + 1 == samples.len() => Some(Duration::ZERO),
            Some(i) => Some(samples[i + 1].0.elapsed()),
            None => samples.front().map(|(taken, _)| taken.elapsed()),
        }
    }
}

impl Replica {
    fn lock(&self) -> std::sync::MutexGuard<'_, ReplicaState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// It failed a check or a read: it rests, longer after each failure in a row.
    fn failed(&self) {
        let mut state = self.lock();
        let rest = FIRST_REST
            .saturating_mul(1 << state.failures.min(6))
            .min(LONGEST_REST);
        state.failures = state.failures.saturating_add(1);
        state.resting_until = Some(Instant::now() + rest);
        state.lag = None;
    }

    /// Wait up to `wait` for the replica to replay `token`: whether it did.
    async fn wait_for(&self, token: &Position, wait: Duration) -> bool {
        match tokio::time::timeout(wait + CHECK_TIMEOUT, self.pool.wait_for(token, wait)).await {
            Ok(Ok(true)) => {
                self.lock().see(token.clone());
                true
            }
            Ok(Ok(false)) => false,
            Ok(Err(_)) | Err(_) => {
                self.failed();
                false
            }
        }
    }
}

impl ReplicaState {
    fn see(&mut self, position: Position) {
        match &mut self.replayed {
            Some(at) => at.merge(&position),
            None => self.replayed = Some(position),
        }
    }
}

/// Check the replicas every [`CHECK_EVERY`] for as long as a `Db` holds them.
pub(crate) fn watch(replicas: Weak<Replicas>, primary: Pool) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(CHECK_EVERY);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let Some(replicas) = replicas.upgrade() else {
                return;
            };
            if primary.is_closed() {
                return;
            }
            replicas.check(&primary).await;
        }
    });
}

/// What a unit of work's commit updates: its handle's writes, read from the primary.
#[derive(Debug, Clone)]
pub(crate) struct WriteNote {
    pub(crate) tracker: Arc<WriteTracker>,
    pub(crate) primary: Pool,
    pub(crate) max_lag: Duration,
}

impl WriteNote {
    pub(crate) async fn written(&self) {
        self.tracker.note_write(&self.primary, self.max_lag).await;
    }
}

/// Where the writes made through one `Db` handle (and its clones) stood in the primary's log.
#[derive(Debug, Default)]
pub(crate) struct WriteTracker {
    state: Mutex<Tracked>,
}

#[derive(Debug, Default)]
struct Tracked {
    position: Option<Position>,
    /// A write whose position could not be read: reads use the primary until then.
    primary_until: Option<Instant>,
}

impl WriteTracker {
    pub(crate) fn starting_at(position: Option<Position>) -> Self {
        Self {
            state: Mutex::new(Tracked {
                position,
                primary_until: None,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tracked> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The position reads must see; `Err` when they must use the primary.
    pub(crate) fn position(&self) -> Result<Option<Position>, ()> {
        let state = self.lock();
        if state
            .primary_until
            .is_some_and(|until| until > Instant::now())
        {
            return Err(());
        }
        Ok(state.position.clone())
    }

    /// A write through the handle returned: read where the primary's log stands now, which
    /// is past it.
    pub(crate) async fn note_write(&self, primary: &Pool, max_lag: Duration) {
        match primary.primary_position().await {
            Ok(Some(position)) => {
                let mut state = self.lock();
                match &mut state.position {
                    Some(at) => at.merge(&position),
                    None => state.position = Some(position),
                }
            }
            Ok(None) => {}
            // Not known where the write stands: a replica lagging less than `max_lag` may
            // still miss it, so reads use the primary for that long.
            Err(error) => {
                tracing::debug!(%error, "primary position not read after a write");
                self.lock().primary_until = Some(Instant::now() + max_lag);
            }
        }
    }
}

impl Pool {
    /// Where the primary's log stands.
    pub(crate) async fn primary_position(&self) -> Result<Option<Position>, sqlx::Error> {
        let sql = match self.backend() {
            Backend::Postgres => "SELECT pg_current_wal_lsn()::text",
            Backend::MySql => "SELECT @@GLOBAL.gtid_binlog_pos",
            Backend::Sqlite => return Ok(None),
        };
        self.position(sql).await
    }

    /// How far a replica has replayed the primary's log (`None`: it replays nothing).
    pub(crate) async fn replayed_position(&self) -> Result<Option<Position>, sqlx::Error> {
        let sql = match self.backend() {
            // A promoted standby keeps answering with the last position it replayed.
            Backend::Postgres => {
                "SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text END"
            }
            Backend::MySql => "SELECT @@GLOBAL.gtid_slave_pos",
            Backend::Sqlite => return Ok(None),
        };
        self.position(sql).await
    }

    async fn position(&self, sql: &'static str) -> Result<Option<Position>, sqlx::Error> {
        let text = self.text(sqlx::SqlStr::from_static(sql)).await?;
        let position = match (self.backend(), text) {
            (_, None) => None,
            (Backend::MySql, Some(text)) => Position::parse_gtids(&text).ok().flatten(),
            (_, Some(text)) => Position::parse_lsn(&text).ok(),
        };
        Ok(position)
    }

    /// Wait up to `wait` for a replica to replay `position`: whether it did.
    async fn wait_for(&self, position: &Position, wait: Duration) -> Result<bool, sqlx::Error> {
        let deadline = Instant::now() + wait;
        match (self.backend(), position) {
            // The server waits: one round trip.
            (Backend::MySql, Position::Gtids(_)) => {
                let sql = format!(
                    "SELECT CAST(MASTER_GTID_WAIT('{position}', {:.3}) AS CHAR)",
                    wait.as_secs_f64()
                );
                let answer = self
                    .text(sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(sql)))
                    .await?;
                Ok(answer.as_deref() == Some("0"))
            }
            // PostgreSQL 15 has no wait for replay: look again, a little later each time.
            (Backend::Postgres, Position::Lsn(_)) => {
                let mut pause = Duration::from_millis(1);
                loop {
                    let replayed = self.replayed_position().await?;
                    if replayed.is_some_and(|at| at.covers(position)) {
                        return Ok(true);
                    }
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Ok(false);
                    }
                    tokio::time::sleep(pause.min(left)).await;
                    pause = (pause * 2).min(Duration::from_millis(20));
                }
            }
            _ => Ok(false),
        }
    }
}
