//! `DatasetRepository`: lookups by external id, the enrichment workflow and its statistics.

use chrono::TimeDelta;
use repo_core::prelude::*;
use repo_core::repository::now;
use repo_core::{DbField as _, Lease, Result};

use crate::entities::{Dataset, DatasetRepository, EnrichmentStatus};

/// How many datasets of one source are in each enrichment status
/// ([`get_stats_by_source`](DatasetRepository::get_stats_by_source)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatusCounts {
    /// Imported, not enriched yet.
    pub minimal: u64,
    /// Held by a worker.
    pub enriching: u64,
    /// Done.
    pub enriched: u64,
    /// Last attempt failed.
    pub failed: u64,
}

impl StatusCounts {
    /// The count of `status`.
    #[must_use]
    pub fn get(&self, status: EnrichmentStatus) -> u64 {
        match status {
            EnrichmentStatus::Minimal => self.minimal,
            EnrichmentStatus::Enriching => self.enriching,
            EnrichmentStatus::Enriched => self.enriched,
            EnrichmentStatus::Failed => self.failed,
        }
    }

    fn slot(&mut self, status: EnrichmentStatus) -> &mut u64 {
        match status {
            EnrichmentStatus::Minimal => &mut self.minimal,
            EnrichmentStatus::Enriching => &mut self.enriching,
            EnrichmentStatus::Enriched => &mut self.enriched,
            EnrichmentStatus::Failed => &mut self.failed,
        }
    }
}

/// The datasets of one source: how many in all and in each status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceStats {
    /// The source.
    pub source: String,
    /// Every dataset of the source.
    pub total: u64,
    /// Per status; they add up to `total`.
    pub by_status: StatusCounts,
}

#[derive(FromRow, serde::Serialize, serde::Deserialize)]
struct StatusRow {
    enrichment_status: EnrichmentStatus,
    count: i64,
}

impl DatasetRepository<'_> {
    /// The dataset `external_id` of `source_name`, if any.
    pub async fn get_by_external_id(
        &self,
        source_name: &str,
        external_id: &str,
    ) -> Result<Option<Dataset>> {
        self.find_one(
            Dataset::SOURCE_NAME
                .eq(source_name)
                .and(Dataset::EXTERNAL_ID.eq(external_id)),
        )
        .await
    }

    /// Up to `limit` datasets of `source_name` a worker may enrich: status `minimal` or
    /// `failed` with fewer than `max_attempts` failed attempts, oldest (lowest id) first.
    ///
    /// This only reads: with several workers, use
    /// [`claim_pending_for_enrichment`](Self::claim_pending_for_enrichment), which also takes
    /// the datasets so no two workers get the same one.
    pub async fn get_pending_for_enrichment(
        &self,
        source_name: &str,
        limit: u64,
        max_attempts: i32,
    ) -> Result<Vec<Dataset>> {
        repo_core::page::check_limit(limit)?;
        let mut select = self.select();
        select
            .cond_where(self.condition(pending(source_name, max_attempts)))
            .order_by(Dataset::ID, Order::Asc)
            .limit(limit);
        self.fetch_entities(&select).await
    }

    /// Atomically take up to `limit` pending datasets of `source_name` (as
    /// [`get_pending_for_enrichment`](Self::get_pending_for_enrichment) selects them) for
    /// `worker`, under a lease of [`DEFAULT_LEASE`]: each is set to `enriching` with
    /// `claimed_by = worker` and `claimed_at = now`, and returned. However many workers call
    /// this at once, every dataset goes to exactly one of them. See
    /// [`claim_pending_for_enrichment_leased`](Self::claim_pending_for_enrichment_leased).
    pub async fn claim_pending_for_enrichment(
        &self,
        source_name: &str,
        limit: u64,
        max_attempts: i32,
        worker: &str,
    ) -> Result<Vec<Dataset>> {
        self.claim_pending_for_enrichment_leased(
            source_name,
            limit,
            max_attempts,
            worker,
            DEFAULT_LEASE,
        )
        .await
    }

    /// [`claim_pending_for_enrichment`](Self::claim_pending_for_enrichment) under a lease of
    /// `lease`. Datasets still `enriching` whose lease ran out (their worker is presumed dead)
    /// are taken too, and that lost attempt is counted in `enrichment_attempts`; a dataset
    /// under a live lease is never taken. Only the holder can then finish a dataset
    /// ([`mark_enriched_by`](Self::mark_enriched_by), [`mark_failed_by`](Self::mark_failed_by)).
    ///
    /// [`Repository::claim_leased`]: on PostgreSQL one `UPDATE … WHERE id IN (SELECT id FROM
    /// (<expired> ORDER BY id LIMIT n FOR UPDATE SKIP LOCKED) UNION ALL (SELECT id FROM
    /// (<pending> …)) LIMIT n) RETURNING …` (concurrent claims skip each other's rows instead of
    /// waiting); on SQLite the same without the lock clauses (one writer at a time); on MariaDB
    /// the locking selects, the update by id and the read back in one transaction. Returned in
    /// id order.
    pub async fn claim_pending_for_enrichment_leased(
        &self,
        source_name: &str,
        limit: u64,
        max_attempts: i32,
        worker: &str,
        lease: TimeDelta,
    ) -> Result<Vec<Dataset>> {
        let lease = enrichment_lease(lease);
        let mut update = self.update_returning();
        // Before the status: MariaDB reads columns an update already set.
        let expired = Expr::col(Dataset::ENRICHMENT_STATUS)
            .eq(Expr::Constant(EnrichmentStatus::Enriching.to_value()));
        update
            .value(
                Dataset::ENRICHMENT_ATTEMPTS,
                Expr::case(expired, Dataset::ENRICHMENT_ATTEMPTS.expr().add(1))
                    .finally(Dataset::ENRICHMENT_ATTEMPTS.expr()),
            )
            .value(
                Dataset::ENRICHMENT_STATUS,
                EnrichmentStatus::Enriching.to_value(),
            )
            .cond_where(
                self.condition(
                    Dataset::SOURCE_NAME
                        .eq(source_name)
                        .and(Dataset::ENRICHMENT_ATTEMPTS.lt(max_attempts)),
                ),
            );
        let available = Dataset::ENRICHMENT_STATUS.is_in(EnrichmentStatus::PENDING);
        let mut claimed = self
            .claim_leased(update, available, &lease, worker, limit)
            .await?;
        claimed.sort_by_key(|d| d.id);
        Ok(claimed)
    }

    /// [`mark_enriched`](Self::mark_enriched), only while `worker` holds dataset `id` (it
    /// claimed it and no other worker has taken it over since): otherwise an
    /// [`Error::Validation`] naming the holder, and nothing is written.
    pub async fn mark_enriched_by(
        &self,
        id: i64,
        worker: &str,
        embedding: Vec<f32>,
    ) -> Result<Dataset> {
        let update = self.enriched(id, &embedding);
        self.as_holder(id, worker, update, "mark_enriched_by").await
    }

    /// [`mark_failed`](Self::mark_failed), only while `worker` holds dataset `id`; otherwise
    /// an [`Error::Validation`] naming the holder, and nothing is written.
    pub async fn mark_failed_by(&self, id: i64, worker: &str, message: &str) -> Result<Dataset> {
        let update = self.failed(id, message);
        self.as_holder(id, worker, update, "mark_failed_by").await
    }

    async fn as_holder(
        &self,
        id: i64,
        worker: &str,
        update: UpdateReturning<Dataset>,
        operation: &str,
    ) -> Result<Dataset> {
        // The holder is checked, not the lease's age: a worker past its lease may still finish
        // a dataset nobody has taken over.
        let lease = enrichment_lease(DEFAULT_LEASE);
        match self.update_as_holder(update, &lease, worker).await? {
            Guarded::Updated(dataset) => Ok(dataset),
            Guarded::Missing => Err(Error::not_found::<Dataset>(&id)),
            Guarded::Refused(current) => Err(Error::validation(
                "claimed_by",
                format!(
                    "{operation}: dataset {id} is {:?} and held by {:?}, not {worker:?}",
                    current.enrichment_status, current.claimed_by
                ),
            )),
        }
    }

    /// Set dataset `id` to `enriching`. Allowed from `minimal` and `failed` only; from any
    /// other state it is an [`Error::Validation`] naming the current state, and nothing is
    /// written. An unknown id is [`Error::NotFound`].
    pub async fn mark_enriching(&self, id: i64) -> Result<Dataset> {
        let mut update = self.update_returning();
        update
            .value(
                Dataset::ENRICHMENT_STATUS,
                EnrichmentStatus::Enriching.to_value(),
            )
            .cond_where(self.condition(Dataset::ID.eq(id)));
        self.transition(id, update, &EnrichmentStatus::PENDING, "mark_enriching")
            .await
    }

    /// Store the embedding of dataset `id` and set it `enriched` (`enriched_at` now,
    /// `last_error` cleared). Allowed from `enriching` only; otherwise an
    /// [`Error::Validation`] and nothing is written. An unknown id is [`Error::NotFound`].
    pub async fn mark_enriched(&self, id: i64, embedding: Vec<f32>) -> Result<Dataset> {
        let update = self.enriched(id, &embedding);
        self.transition(id, update, &[EnrichmentStatus::Enriching], "mark_enriched")
            .await
    }

    /// Record a failed attempt on dataset `id`: status `failed`, `enrichment_attempts` + 1,
    /// `last_error = message`. Allowed from `enriching` only; otherwise an
    /// [`Error::Validation`] and nothing is written. An unknown id is [`Error::NotFound`].
    /// The dataset is pending again until its attempts reach the caller's `max_attempts`.
    pub async fn mark_failed(&self, id: i64, message: &str) -> Result<Dataset> {
        let update = self.failed(id, message);
        self.transition(id, update, &[EnrichmentStatus::Enriching], "mark_failed")
            .await
    }

    fn enriched(&self, id: i64, embedding: &[f32]) -> UpdateReturning<Dataset> {
        let mut update = self.update_returning();
        update
            .value(
                Dataset::ENRICHMENT_STATUS,
                EnrichmentStatus::Enriched.to_value(),
            )
            .value(Dataset::EMBEDDING, embedding.to_vec().to_value())
            .value(Dataset::ENRICHED_AT, now())
            .value(Dataset::LAST_ERROR, None::<String>)
            .cond_where(self.condition(Dataset::ID.eq(id)));
        update
    }

    fn failed(&self, id: i64, message: &str) -> UpdateReturning<Dataset> {
        let mut update = self.update_returning();
        update
            .value(
                Dataset::ENRICHMENT_ATTEMPTS,
                Dataset::ENRICHMENT_ATTEMPTS.expr().add(1),
            )
            .value(
                Dataset::ENRICHMENT_STATUS,
                EnrichmentStatus::Failed.to_value(),
            )
            .value(Dataset::LAST_ERROR, message)
            .cond_where(self.condition(Dataset::ID.eq(id)));
        update
    }

    /// How many datasets `source_name` has, in all and per status.
    pub async fn get_stats_by_source(&self, source_name: &str) -> Result<SourceStats> {
        let select = Query::select()
            .column(Dataset::ENRICHMENT_STATUS)
            .expr_as(count_rows(), "count")
            .from(Dataset::table())
            .cond_where(self.condition(Dataset::SOURCE_NAME.eq(source_name)))
            .group_by_col(Dataset::ENRICHMENT_STATUS)
            .to_owned();
        let rows: Vec<StatusRow> = self.fetch_rows_cached(&select).await?;
        let mut stats = SourceStats {
            source: source_name.to_owned(),
            total: 0,
            by_status: StatusCounts::default(),
        };
        for row in rows {
            let count = row.count as u64;
            stats.total += count;
            *stats.by_status.slot(row.enrichment_status) += count;
        }
        Ok(stats)
    }

    /// How many datasets of `source_name` are in `status`.
    pub async fn count_by_status(
        &self,
        source_name: &str,
        status: EnrichmentStatus,
    ) -> Result<u64> {
        self.count(
            Dataset::SOURCE_NAME
                .eq(source_name)
                .and(Dataset::ENRICHMENT_STATUS.eq(status)),
        )
        .await
    }

    /// Run `update` on dataset `id` only if its status is one of `from`; on no match, tell
    /// `NotFound` from a wrong state.
    async fn transition(
        &self,
        id: i64,
        update: UpdateReturning<Dataset>,
        from: &[EnrichmentStatus],
        operation: &str,
    ) -> Result<Dataset> {
        let guard = Dataset::ENRICHMENT_STATUS.is_in(from.iter().copied());
        match self.update_guarded(update, guard).await? {
            Guarded::Updated(dataset) => Ok(dataset),
            Guarded::Missing => Err(Error::not_found::<Dataset>(&id)),
            Guarded::Refused(current) => Err(Error::validation(
                "enrichment_status",
                format!(
                    "{operation} needs dataset {id} in {from:?}, but it is {:?}",
                    current.enrichment_status
                ),
            )),
        }
    }
}

fn pending(source_name: &str, max_attempts: i32) -> repo_core::Filter<Dataset> {
    Dataset::SOURCE_NAME
        .eq(source_name)
        .and(Dataset::ENRICHMENT_STATUS.is_in(EnrichmentStatus::PENDING))
        .and(Dataset::ENRICHMENT_ATTEMPTS.lt(max_attempts))
}

/// How long a claim holds a dataset unless the caller says otherwise.
pub const DEFAULT_LEASE: TimeDelta = TimeDelta::minutes(10);

/// The lease enrichment claims take: `claimed_by` holds, from `claimed_at`, while the dataset
/// is `enriching`.
fn enrichment_lease(duration: TimeDelta) -> Lease<Dataset> {
    Lease::new(
        Dataset::CLAIMED_BY,
        Dataset::CLAIMED_AT,
        Dataset::ENRICHMENT_STATUS.eq(EnrichmentStatus::Enriching),
    )
    .lasting(duration)
}
