//! Claims under a lease: a claimed row belongs to its holder until the lease runs out; after
//! that another claimer may take it, as it would a row whose holder died. Only the holder may
//! finish a claimed row.

use crate::entity::Writable;
use chrono::{DateTime, TimeDelta, Utc};

use crate::error::Result;
use crate::filter::{Column, Filter};
use crate::repository::{Guarded, Repository, UpdateReturning, now};

/// How rows of `E` are held once claimed: the column naming the holder, the column with the
/// time the lease was taken, the state a held row is in, and how long a lease lasts.
///
/// ```
/// use repo_core::prelude::*;
/// use repo_core::{DbField as _, Lease};
///
/// #[derive(Debug, Clone, Copy, PartialEq, DbEnum)]
/// pub enum JobState { Queued, Running, Done }
///
/// #[derive(Debug, Clone, Repository)]
/// #[repo(table = "jobs")]
/// pub struct Job {
///     #[repo(primary_key, auto)]
///     pub id: i64,
///     pub state: JobState,
///     pub worker: Option<String>,
///     pub leased_at: Option<DateTime<Utc>>,
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> repo_core::Result<()> {
/// let db = Db::connect("sqlite::memory:").await?;
/// db.create_schema::<Job>().await?;
/// let jobs = JobRepository::new(&db);
/// jobs.insert(&Job { id: 0, state: JobState::Queued, worker: None, leased_at: None }).await?;
///
/// let lease = Lease::new(Job::WORKER, Job::LEASED_AT, Job::STATE.eq(JobState::Running))
///     .lasting(chrono::TimeDelta::minutes(5));
/// let mut start = jobs.update_returning();
/// start.value(Job::STATE, JobState::Running.to_value());
/// let taken = jobs
///     .claim_leased(start, Job::STATE.eq(JobState::Queued), &lease, "w1", 10)
///     .await?;
/// assert_eq!(taken[0].worker.as_deref(), Some("w1"));
///
/// // Only the holder finishes it.
/// let finish = |jobs: &JobRepository<'_>, id: i64| {
///     let mut done = jobs.update_returning();
///     done.value(Job::STATE, JobState::Done.to_value())
///         .cond_where(jobs.condition(Job::ID.eq(id)));
///     done
/// };
/// let refused = jobs.update_as_holder(finish(&jobs, taken[0].id), &lease, "w2").await?;
/// assert!(matches!(refused, Guarded::Refused(_)));
/// let done = jobs.update_as_holder(finish(&jobs, taken[0].id), &lease, "w1").await?;
/// assert!(matches!(done, Guarded::Updated(job) if job.state == JobState::Done));
/// # Ok(()) }
/// ```
pub struct Lease<E> {
    holder: Column<E, String>,
    taken_at: Column<E, DateTime<Utc>>,
    held: Filter<E>,
    duration: TimeDelta,
}

impl<E> std::fmt::Debug for Lease<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("holder", &self.holder)
            .field("taken_at", &self.taken_at)
            .field("duration", &self.duration)
            .finish_non_exhaustive()
    }
}

impl<E: 'static> Lease<E> {
    /// A lease recorded in `holder` (who holds the row) and `taken_at` (when the lease was
    /// taken), on rows in the state `held` describes (such as `status = running`); it lasts
    /// five minutes unless [`lasting`](Lease::lasting) says otherwise.
    #[must_use]
    pub fn new(
        holder: Column<E, String>,
        taken_at: Column<E, DateTime<Utc>>,
        held: Filter<E>,
    ) -> Self {
        Self {
            holder,
            taken_at,
            held,
            duration: TimeDelta::minutes(5),
        }
    }

    /// How long a lease lasts.
    #[must_use]
    pub fn lasting(mut self, duration: TimeDelta) -> Self {
        self.duration = duration;
        self
    }

    /// How long a lease lasts.
    #[must_use]
    pub fn duration(&self) -> TimeDelta {
        self.duration
    }

    /// Rows held under a lease that had run out at `at`.
    #[must_use]
    pub fn expired(&self, at: DateTime<Utc>) -> Filter<E> {
        self.held.clone().and(self.taken_at.lt(at - self.duration))
    }

    /// Rows `holder` holds (whether or not the lease has run out: until another claimer takes
    /// the row, its holder may still finish it).
    #[must_use]
    pub fn held_by(&self, holder: &str) -> Filter<E> {
        self.held.clone().and(self.holder.eq(holder))
    }
}

impl<E: Writable> Repository<'_, E> {
    /// Claim up to `limit` rows for `holder`, as [`claim`](Repository::claim) does: rows whose
    /// lease ran out (their holder is presumed dead) first, then rows matching `available`, in
    /// one statement (one transaction where `UPDATE … RETURNING` is missing). Each claimed row
    /// gets `holder`, a new lease starting now, and `update`'s values, whose condition (if any)
    /// applies too. Concurrent claimers never take the same row, and a row
    /// under a live lease is never taken.
    pub async fn claim_leased(
        &self,
        update: UpdateReturning<E>,
        available: Filter<E>,
        lease: &Lease<E>,
        holder: &str,
        limit: u64,
    ) -> Result<Vec<E>> {
        let at = now();
        let mut update = update;
        update.value(lease.holder, holder).value(lease.taken_at, at);
        // Expired rows first, so they are never starved; in one statement, but each condition
        // its own scan rather than `expired OR available`: each alone can use an index that
        // yields rows in key order (a partial index on the available states, say), which an OR
        // of the two defeats.
        let choices = vec![self.condition(lease.expired(at)), self.condition(available)];
        self.claim_in_turn(update, choices, limit).await
    }

    /// Apply `update` (its condition picks the row) only while `holder` holds the row under
    /// `lease`: a row another claimer took over after the lease ran out is
    /// [`Guarded::Refused`], and nothing is written.
    pub async fn update_as_holder(
        &self,
        update: UpdateReturning<E>,
        lease: &Lease<E>,
        holder: &str,
    ) -> Result<Guarded<E>> {
        self.update_guarded(update, lease.held_by(holder)).await
    }
}
