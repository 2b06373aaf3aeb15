//! `GenerationPipelineRepository` and `PipelineStageRepository`: the state of AI generation
//! pipelines and the timing of their stages.

use repo_core::prelude::*;
use repo_core::repository::now;
use repo_core::sea_query::Func;
use repo_core::{DbField as _, Result};

use crate::entities::{
    GenerationPipeline, GenerationPipelineRepository, NewPipelineStage, PipelineStage,
    PipelineStageRepository, PipelineStatus, StageStatus,
};

/// Which of a user's pipelines [`find_by_user_id`](GenerationPipelineRepository::find_by_user_id)
/// returns: optionally one status, a page of `limit` (default 50) after `offset`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FindOptions {
    /// Only pipelines in this status.
    pub status: Option<PipelineStatus>,
    /// Page size, 1 to [`MAX_PAGE_LIMIT`](repo_core::MAX_PAGE_LIMIT).
    pub limit: u64,
    /// Rows skipped.
    pub offset: u64,
}

impl Default for FindOptions {
    fn default() -> Self {
        Self {
            status: None,
            limit: 50,
            offset: 0,
        }
    }
}

/// The fields [`update`](GenerationPipelineRepository::update) may change; `None` leaves a
/// field as it is. The status changes only through
/// [`update_status`](GenerationPipelineRepository::update_status), which guards transitions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PipelineUpdate {
    /// New asset id.
    pub asset_id: Option<String>,
    /// New configuration.
    pub config: Option<serde_json::Value>,
    /// New progress, 0 to 100.
    pub progress: Option<i32>,
    /// New current stage.
    pub current_stage: Option<String>,
    /// New results.
    pub results: Option<serde_json::Value>,
    /// New error text.
    pub error: Option<String>,
    /// New Meshy task id.
    pub meshy_task_id: Option<String>,
    /// New rigging task id.
    pub rigging_task_id: Option<String>,
}

/// Counts of pipelines per status and the success rate
/// ([`get_statistics`](GenerationPipelineRepository::get_statistics)).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PipelineStats {
    /// Every pipeline counted.
    pub total: u64,
    /// Created, not started.
    pub initializing: u64,
    /// Running.
    pub processing: u64,
    /// Finished with results.
    pub completed: u64,
    /// Stopped by an error.
    pub failed: u64,
    /// Stopped by the user.
    pub cancelled: u64,
    /// `completed` as a percentage of the finished pipelines (completed, failed or
    /// cancelled); 0 when none has finished. Running pipelines do not lower it.
    pub success_rate: f64,
}

#[derive(FromRow, serde::Serialize, serde::Deserialize)]
struct StatusRow {
    status: PipelineStatus,
    count: i64,
}

fn check_progress(progress: i32) -> Result<()> {
    if (0..=100).contains(&progress) {
        Ok(())
    } else {
        Err(Error::validation(
            "progress",
            format!("must be between 0 and 100, got {progress}"),
        ))
    }
}

impl GenerationPipelineRepository<'_> {
    /// Store a new pipeline; the stored row. An empty `id` is replaced by a new UUID v4.
    /// `progress` outside 0..=100 is an [`Error::Validation`]; an existing id is an
    /// [`Error::Conflict`] on `generation_pipelines_pkey`. A pipeline created `processing`
    /// gets `started_at` now, one created in a terminal state `completed_at` now, unless set.
    pub async fn create(&self, pipeline: &GenerationPipeline) -> Result<GenerationPipeline> {
        check_progress(pipeline.progress)?;
        let mut pipeline = pipeline.clone();
        if pipeline.id.is_empty() {
            pipeline.id = uuid::Uuid::new_v4().to_string();
        }
        let at = now();
        if pipeline.status != PipelineStatus::Initializing && pipeline.started_at.is_none() {
            pipeline.started_at = Some(at);
        }
        if pipeline.status.is_terminal() && pipeline.completed_at.is_none() {
            pipeline.completed_at = Some(at);
        }
        self.insert(&pipeline).await
    }

    /// The pipelines of `user_id`, newest first, filtered and paged by `options`, with the
    /// total that match.
    pub async fn find_by_user_id(
        &self,
        user_id: &str,
        options: FindOptions,
    ) -> Result<Page<GenerationPipeline>> {
        let mut filter = GenerationPipeline::USER_ID.eq(user_id);
        if let Some(status) = options.status {
            filter = filter.and(GenerationPipeline::STATUS.eq(status));
        }
        self.find(
            filter,
            PageRequest::new(options.limit)
                .offset(options.offset)
                .order_by(GenerationPipeline::CREATED_AT.desc()),
        )
        .await
    }

    /// Every pipeline in `status`, oldest first.
    pub async fn find_by_status(&self, status: PipelineStatus) -> Result<Vec<GenerationPipeline>> {
        let mut select = self.select();
        select
            .cond_where(self.condition(GenerationPipeline::STATUS.eq(status)))
            .order_by(GenerationPipeline::CREATED_AT, Order::Asc)
            .order_by(GenerationPipeline::ID, Order::Asc);
        self.fetch_entities(&select).await
    }

    /// The pipeline whose Meshy task is `task_id`, if any.
    pub async fn find_by_meshy_task_id(&self, task_id: &str) -> Result<Option<GenerationPipeline>> {
        self.find_one(GenerationPipeline::MESHY_TASK_ID.eq(task_id))
            .await
    }

    /// Change the fields set in `changes` on pipeline `id`; the stored row. A progress outside
    /// 0..=100 is an [`Error::Validation`]; an unknown id [`Error::NotFound`]; nothing is
    /// written in either case.
    ///
    /// This shadows [`BaseRepository::update`] (whole-row replace), which stays available as
    /// `BaseRepository::update(&repo, &pipeline)`.
    pub async fn update(&self, id: &str, changes: PipelineUpdate) -> Result<GenerationPipeline> {
        if let Some(progress) = changes.progress {
            check_progress(progress)?;
        }
        let mut update = self.update_returning();
        update.cond_where(self.condition(GenerationPipeline::ID.eq(id)));
        let text = [
            (GenerationPipeline::ASSET_ID.name(), changes.asset_id),
            (
                GenerationPipeline::CURRENT_STAGE.name(),
                changes.current_stage,
            ),
            (GenerationPipeline::ERROR.name(), changes.error),
            (
                GenerationPipeline::MESHY_TASK_ID.name(),
                changes.meshy_task_id,
            ),
            (
                GenerationPipeline::RIGGING_TASK_ID.name(),
                changes.rigging_task_id,
            ),
        ];
        for (column, value) in text {
            if let Some(value) = value {
                update.value(column, value);
            }
        }
        if let Some(config) = changes.config {
            update.value(GenerationPipeline::CONFIG, config.to_value());
        }
        if let Some(results) = changes.results {
            update.value(GenerationPipeline::RESULTS, results.to_value());
        }
        if let Some(progress) = changes.progress {
            update.value(GenerationPipeline::PROGRESS, progress);
        }
        self.fetch_updated_one(update)
            .await?
            .ok_or_else(|| missing_pipeline(id))
    }

    /// Set the progress of pipeline `id` (and its current stage, when given); the stored row.
    /// `progress` outside 0..=100 is an [`Error::Validation`] and an unknown id
    /// [`Error::NotFound`]; nothing is written in either case.
    pub async fn update_progress(
        &self,
        id: &str,
        progress: i32,
        stage: Option<&str>,
    ) -> Result<GenerationPipeline> {
        check_progress(progress)?;
        let mut update = self.update_returning();
        update.cond_where(self.condition(GenerationPipeline::ID.eq(id)));
        update.value(GenerationPipeline::PROGRESS, progress);
        if let Some(stage) = stage {
            update.value(GenerationPipeline::CURRENT_STAGE, stage);
        }
        self.fetch_updated_one(update)
            .await?
            .ok_or_else(|| missing_pipeline(id))
    }

    /// Move pipeline `id` to `status`, recording `error` when given; the stored row.
    ///
    /// Entering `processing` sets `started_at` (if unset); entering a terminal state sets
    /// `completed_at` to now, and `completed` also sets progress to 100. A pipeline already in
    /// a terminal state never changes: that is an [`Error::Validation`] naming its state, and
    /// an unknown id is [`Error::NotFound`]; nothing is written in either case.
    pub async fn update_status(
        &self,
        id: &str,
        status: PipelineStatus,
        error: Option<&str>,
    ) -> Result<GenerationPipeline> {
        let at = now();
        let mut update = self.update_returning();
        update.cond_where(self.condition(GenerationPipeline::ID.eq(id)));
        update.value(GenerationPipeline::STATUS, status.to_value());
        if let Some(error) = error {
            update.value(GenerationPipeline::ERROR, error);
        }
        if status != PipelineStatus::Initializing {
            update.value(
                GenerationPipeline::STARTED_AT,
                Func::coalesce([GenerationPipeline::STARTED_AT.expr(), Expr::val(at)]),
            );
        }
        if status.is_terminal() {
            update.value(GenerationPipeline::COMPLETED_AT, at);
        }
        if status == PipelineStatus::Completed {
            update.value(GenerationPipeline::PROGRESS, 100);
        }
        let guard = GenerationPipeline::STATUS.not_in(PipelineStatus::TERMINAL);
        match self.update_guarded(update, guard).await? {
            Guarded::Updated(pipeline) => Ok(pipeline),
            Guarded::Missing => Err(missing_pipeline(id)),
            Guarded::Refused(current) => Err(Error::validation(
                "status",
                format!(
                    "pipeline {id} is {}, a terminal state; it cannot become {}",
                    current.status.as_label(),
                    status.as_label()
                ),
            )),
        }
    }

    /// Soft-delete the pipelines that reached a terminal state (completed, failed, cancelled)
    /// before `older_than`; how many pipelines. Running pipelines stay however old they are;
    /// deleted ones keep the time they were deleted. Their stages stay until
    /// [`purge_deleted_pipelines`](Self::purge_deleted_pipelines) removes them.
    pub async fn cleanup_old_pipelines(&self, older_than: DateTime<Utc>) -> Result<u64> {
        self.delete_where(
            GenerationPipeline::STATUS
                .is_in(PipelineStatus::TERMINAL)
                .and(GenerationPipeline::COMPLETED_AT.lt(older_than)),
        )
        .await
    }

    /// Remove from the table the pipelines soft-deleted before `deleted_before`, with their
    /// stages; how many pipelines.
    pub async fn purge_deleted_pipelines(&self, deleted_before: DateTime<Utc>) -> Result<u64> {
        self.only_deleted()
            .purge_where(GenerationPipeline::DELETED_AT.lt(deleted_before))
            .await
    }

    /// Counts per status and the success rate, of `user_id`'s pipelines or of all when `None`;
    /// deleted pipelines do not count (unless the repository is
    /// [`with_deleted`](repo_core::Repository::with_deleted)).
    pub async fn get_statistics(&self, user_id: Option<&str>) -> Result<PipelineStats> {
        let mut select = Query::select()
            .column(GenerationPipeline::STATUS)
            .expr_as(count_rows(), "count")
            .from(GenerationPipeline::table())
            .cond_where(self.visible())
            .group_by_col(GenerationPipeline::STATUS)
            .to_owned();
        if let Some(user_id) = user_id {
            select.cond_where(self.condition(GenerationPipeline::USER_ID.eq(user_id)));
        }
        let rows: Vec<StatusRow> = self.fetch_rows_cached(&select).await?;
        let mut stats = PipelineStats::default();
        for row in rows {
            let count = row.count as u64;
            stats.total += count;
            match row.status {
                PipelineStatus::Initializing => stats.initializing += count,
                PipelineStatus::Processing => stats.processing += count,
                PipelineStatus::Completed => stats.completed += count,
                PipelineStatus::Failed => stats.failed += count,
                PipelineStatus::Cancelled => stats.cancelled += count,
            }
        }
        let finished = stats.completed + stats.failed + stats.cancelled;
        if finished > 0 {
            stats.success_rate = stats.completed as f64 * 100.0 / finished as f64;
        }
        Ok(stats)
    }
}

fn stage_filter(pipeline_id: &str, stage_name: &str) -> Filter<PipelineStage> {
    PipelineStage::PIPELINE_ID
        .eq(pipeline_id)
        .and(PipelineStage::STAGE_NAME.eq(stage_name))
}

impl PipelineStageRepository<'_> {
    /// The stages of pipeline `pipeline_id`, in the order they were added.
    pub async fn stages_of(&self, pipeline_id: &str) -> Result<Vec<PipelineStage>> {
        // By key, which is the order they were added in.
        self.find_all(PipelineStage::PIPELINE_ID.eq(pipeline_id))
            .await
    }

    /// The stage `stage_name` of pipeline `pipeline_id`, if any.
    pub async fn find_stage(
        &self,
        pipeline_id: &str,
        stage_name: &str,
    ) -> Result<Option<PipelineStage>> {
        self.find_one(stage_filter(pipeline_id, stage_name)).await
    }

    /// Plan stage `stage_name` of pipeline `pipeline_id` as `pending`; the stored row. An
    /// existing stage of that name is an [`Error::Conflict`]; an unknown pipeline
    /// [`Error::NotFound`].
    pub async fn add_stage(&self, pipeline_id: &str, stage_name: &str) -> Result<PipelineStage> {
        self.insert(&new_stage(
            pipeline_id,
            stage_name,
            StageStatus::Pending,
            None,
        ))
        .await
        .map_err(|e| e.or_missing_reference(|| missing_pipeline(pipeline_id)))
    }

    /// Start stage `stage_name` of pipeline `pipeline_id` (adding it if it was not planned):
    /// `processing`, progress 0, `started_at` now. A stage may start from `pending` or, to
    /// retry, `failed`; from `processing`, `completed` or `skipped` it is an
    /// [`Error::Validation`] and nothing is written. An unknown pipeline is
    /// [`Error::NotFound`].
    pub async fn start_stage(&self, pipeline_id: &str, stage_name: &str) -> Result<PipelineStage> {
        let at = now();
        if self.find_stage(pipeline_id, stage_name).await?.is_none() {
            let stage = new_stage(pipeline_id, stage_name, StageStatus::Processing, Some(at));
            match self.insert(&stage).await {
                Ok(stage) => return Ok(stage),
                // Added concurrently: fall through to the guarded update.
                Err(e) if e.is_conflict() => {}
                Err(e) => return Err(e.or_missing_reference(|| missing_pipeline(pipeline_id))),
            }
        }
        let mut update = self.update_returning();
        update.cond_where(self.condition(stage_filter(pipeline_id, stage_name)));
        update
            .value(PipelineStage::STATUS, StageStatus::Processing.to_value())
            .value(PipelineStage::PROGRESS, 0)
            .value(PipelineStage::STARTED_AT, at)
            .value(PipelineStage::COMPLETED_AT, None::<DateTime<Utc>>)
            .value(PipelineStage::DURATION_MS, None::<i64>)
            .value(PipelineStage::ERROR, None::<String>);
        self.guarded(
            pipeline_id,
            stage_name,
            update,
            &[StageStatus::Pending, StageStatus::Failed],
            "start",
        )
        .await
    }

    /// Finish stage `stage_name`: `completed`, progress 100, `completed_at` now and
    /// `duration_ms` since it started. Only a `processing` stage completes; otherwise an
    /// [`Error::Validation`] (an unknown stage [`Error::NotFound`]) and nothing is written.
    pub async fn complete_stage(
        &self,
        pipeline_id: &str,
        stage_name: &str,
    ) -> Result<PipelineStage> {
        self.finish(pipeline_id, stage_name, StageStatus::Completed, None)
            .await
    }

    /// Stop stage `stage_name` with `error`: `failed`, `completed_at` now and `duration_ms`
    /// since it started. Only a `processing` stage fails; otherwise an [`Error::Validation`]
    /// (an unknown stage [`Error::NotFound`]) and nothing is written.
    pub async fn fail_stage(
        &self,
        pipeline_id: &str,
        stage_name: &str,
        error: &str,
    ) -> Result<PipelineStage> {
        self.finish(pipeline_id, stage_name, StageStatus::Failed, Some(error))
            .await
    }

    async fn finish(
        &self,
        pipeline_id: &str,
        stage_name: &str,
        status: StageStatus,
        error: Option<&str>,
    ) -> Result<PipelineStage> {
        let stage = self
            .find_stage(pipeline_id, stage_name)
            .await?
            .ok_or_else(|| missing_stage(pipeline_id, stage_name))?;
        let at = now();
        let duration = stage
            .started_at
            .map(|started| Ord::max((at - started).num_milliseconds(), 0));
        let mut update = self.update_returning();
        update.cond_where(self.condition(stage_filter(pipeline_id, stage_name)));
        update
            .value(PipelineStage::STATUS, status.to_value())
            .value(PipelineStage::COMPLETED_AT, at)
            .value(PipelineStage::DURATION_MS, duration);
        if status == StageStatus::Completed {
            update.value(PipelineStage::PROGRESS, 100);
        }
        if let Some(error) = error {
            update.value(PipelineStage::ERROR, error);
        }
        let operation = if status == StageStatus::Completed {
            "complete"
        } else {
            "fail"
        };
        self.guarded(
            pipeline_id,
            stage_name,
            update,
            &[StageStatus::Processing],
            operation,
        )
        .await
    }

    async fn guarded(
        &self,
        pipeline_id: &str,
        stage_name: &str,
        update: UpdateReturning<PipelineStage>,
        from: &[StageStatus],
        operation: &str,
    ) -> Result<PipelineStage> {
        let guard = PipelineStage::STATUS.is_in(from.iter().copied());
        match self.update_guarded(update, guard).await? {
            Guarded::Updated(stage) => Ok(stage),
            Guarded::Missing => Err(missing_stage(pipeline_id, stage_name)),
            Guarded::Refused(current) => Err(Error::validation(
                "status",
                format!(
                    "cannot {operation} stage {stage_name:?} of pipeline {pipeline_id}: it is {}",
                    current.status.as_label()
                ),
            )),
        }
    }
}

fn new_stage(
    pipeline_id: &str,
    stage_name: &str,
    status: StageStatus,
    started_at: Option<DateTime<Utc>>,
) -> PipelineStage {
    PipelineStage::from_new(NewPipelineStage {
        pipeline_id: pipeline_id.to_owned(),
        stage_name: stage_name.to_owned(),
        status,
        progress: 0,
        started_at,
        completed_at: None,
        duration_ms: None,
        error: None,
    })
}

fn missing_stage(pipeline_id: &str, stage_name: &str) -> Error {
    Error::not_found_by::<PipelineStage>(&[
        ("pipeline_id", &pipeline_id),
        ("stage_name", &stage_name),
    ])
}

fn missing_pipeline(id: &str) -> Error {
    Error::not_found::<GenerationPipeline>(&id.to_owned())
}
