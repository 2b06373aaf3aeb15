//! `EnrichmentLogRepository`: one row per enrichment attempt, and the analytics over them.

use chrono::Duration;
use repo_core::Result;
use repo_core::prelude::*;
use repo_core::repository::now;

use crate::entities::{
    Dataset, EnrichmentLog, EnrichmentLogRepository, EnrichmentResult, EnrichmentStage,
    NewEnrichmentLog,
};

impl EnrichmentLog {
    /// A successful attempt `attempt_number` (1 for the first) at `stage` of `dataset_id`.
    #[must_use]
    pub fn success(dataset_id: i64, stage: EnrichmentStage, attempt_number: i32) -> Self {
        Self::attempt(dataset_id, stage, EnrichmentResult::Success, attempt_number)
    }

    /// A failed attempt, with the error's message and kind (e.g. `NotFoundError`).
    #[must_use]
    pub fn failure(
        dataset_id: i64,
        stage: EnrichmentStage,
        attempt_number: i32,
        error_message: &str,
        error_type: &str,
    ) -> Self {
        let mut log = Self::attempt(dataset_id, stage, EnrichmentResult::Failed, attempt_number);
        log.error_message = Some(error_message.to_owned());
        log.error_type = Some(error_type.to_owned());
        log
    }

    fn attempt(
        dataset_id: i64,
        stage: EnrichmentStage,
        result: EnrichmentResult,
        attempt_number: i32,
    ) -> Self {
        Self::from_new(NewEnrichmentLog {
            dataset_id,
            stage,
            result,
            attempt_number,
            duration_ms: None,
            worker_id: None,
            task_id: None,
            error_message: None,
            error_type: None,
        })
    }

    /// With how long the attempt took.
    #[must_use]
    pub fn duration_ms(mut self, duration_ms: i64) -> Self {
        self.duration_ms = Some(duration_ms);
        self
    }

    /// With the worker that made it.
    #[must_use]
    pub fn worker(mut self, worker_id: &str) -> Self {
        self.worker_id = Some(worker_id.to_owned());
        self
    }

    /// With the task queue's id of the attempt.
    #[must_use]
    pub fn task(mut self, task_id: &str) -> Self {
        self.task_id = Some(task_id.to_owned());
        self
    }
}

/// Attempts of one stage with one result in a window
/// ([`get_stats_by_stage_and_result`](EnrichmentLogRepository::get_stats_by_stage_and_result)).
#[derive(Debug, Clone, PartialEq)]
pub struct StageResultStats {
    /// The stage.
    pub stage: EnrichmentStage,
    /// The result.
    pub result: EnrichmentResult,
    /// How many attempts.
    pub count: u64,
    /// Their mean duration; `None` when none recorded one.
    pub avg_duration_ms: Option<f64>,
}

/// How often one kind of error occurred ([`get_top_errors`](EnrichmentLogRepository::get_top_errors)).
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct ErrorTypeCount {
    /// The error kind.
    pub error_type: String,
    /// How many failed attempts had it.
    pub count: i64,
}

#[derive(FromRow)]
struct StageResultRow {
    stage: EnrichmentStage,
    result: EnrichmentResult,
    count: i64,
    avg_duration_ms: Option<f64>,
}

/// The start of the window of the last `hours` hours.
fn window_start(hours: u32) -> DateTime<Utc> {
    now() - Duration::hours(i64::from(hours))
}

impl EnrichmentLogRepository<'_> {
    /// Record an attempt (build it with [`EnrichmentLog::success`] or
    /// [`EnrichmentLog::failure`]); the stored row. `attempt_number` below 1 is an
    /// [`Error::Validation`]; a `dataset_id` with no dataset is [`Error::NotFound`]. Nothing is
    /// written in either case.
    pub async fn log_enrichment(&self, log: &EnrichmentLog) -> Result<EnrichmentLog> {
        if log.attempt_number < 1 {
            return Err(Error::validation(
                "attempt_number",
                format!("attempts count from 1, got {}", log.attempt_number),
            ));
        }
        self.insert(log)
            .await
            .map_err(|e| e.or_missing_reference(|| Error::not_found::<Dataset>(&log.dataset_id)))
    }

    /// Per stage and result, the attempts of the last `hours` hours: how many and their mean
    /// duration. Sorted by stage, then result (declaration order).
    pub async fn get_stats_by_stage_and_result(&self, hours: u32) -> Result<Vec<StageResultStats>> {
        let select = Query::select()
            .column(EnrichmentLog::STAGE)
            .column(EnrichmentLog::RESULT)
            .expr_as(count_rows(), "count")
            .expr_as(EnrichmentLog::DURATION_MS.avg(), "avg_duration_ms")
            .from(EnrichmentLog::table())
            .cond_where(self.condition(EnrichmentLog::CREATED_AT.gte(window_start(hours))))
            .group_by_col(EnrichmentLog::STAGE)
            .group_by_col(EnrichmentLog::RESULT)
            .to_owned();
        let rows: Vec<StageResultRow> = self.fetch_rows(&select).await?;
        let mut stats: Vec<StageResultStats> = rows
            .into_iter()
            .map(|row| StageResultStats {
                stage: row.stage,
                result: row.result,
                count: row.count as u64,
                avg_duration_ms: row.avg_duration_ms,
            })
            .collect();
        stats.sort_by_key(|s| (s.stage, s.result));
        Ok(stats)
    }

    /// The `limit` most frequent error kinds among the failed attempts of the last `hours`
    /// hours, most frequent first (ties by name). Failures without an `error_type` do not count.
    pub async fn get_top_errors(&self, hours: u32, limit: u64) -> Result<Vec<ErrorTypeCount>> {
        repo_core::page::check_limit(limit)?;
        let select = Query::select()
            .column(EnrichmentLog::ERROR_TYPE)
            .expr_as(Expr::cust("COUNT(*)"), "count")
            .from(EnrichmentLog::table())
            .cond_where(
                self.condition(
                    EnrichmentLog::RESULT
                        .eq(EnrichmentResult::Failed)
                        .and(EnrichmentLog::ERROR_TYPE.is_not_null())
                        .and(EnrichmentLog::CREATED_AT.gte(window_start(hours))),
                ),
            )
            .group_by_col(EnrichmentLog::ERROR_TYPE)
            .order_by_expr(Expr::cust("COUNT(*)"), Order::Desc)
            .order_by(EnrichmentLog::ERROR_TYPE, Order::Asc)
            .limit(limit)
            .to_owned();
        self.fetch_rows(&select).await
    }

    /// The failed attempts logged at or after `since`, newest first.
    pub async fn get_failed_logs(&self, since: DateTime<Utc>) -> Result<Vec<EnrichmentLog>> {
        let mut select = self.select();
        select
            .cond_where(
                self.condition(
                    EnrichmentLog::RESULT
                        .eq(EnrichmentResult::Failed)
                        .and(EnrichmentLog::CREATED_AT.gte(since)),
                ),
            )
            .order_by(EnrichmentLog::CREATED_AT, Order::Desc)
            .order_by(EnrichmentLog::ID, Order::Desc);
        self.fetch_entities(&select).await
    }
}
