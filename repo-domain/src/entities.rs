//! The six seed entities and their enums, declared once for every backend.
//!
//! The versioned migrations in `repo-domain/migrations/` create exactly these tables; the
//! `schema` test proves the two agree column by column.

use repo_core::prelude::*;
use uuid::Uuid;

/// Where a dataset is in its enrichment.
///
/// `Minimal` (imported, not enriched yet) and `Failed` (the last attempt failed; retried while
/// attempts remain) are *pending*; `Enriching` means a worker holds it; `Enriched` is final.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    DbEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum EnrichmentStatus {
    /// Imported with source metadata only.
    Minimal,
    /// Claimed by a worker, being enriched.
    Enriching,
    /// Enriched, embedding stored.
    Enriched,
    /// The last attempt failed.
    Failed,
}

impl EnrichmentStatus {
    /// Every status, in declaration order.
    pub const ALL: [Self; 4] = [Self::Minimal, Self::Enriching, Self::Enriched, Self::Failed];
    /// The statuses a worker may pick up.
    pub const PENDING: [Self; 2] = [Self::Minimal, Self::Failed];
}

/// A step of the enrichment of one dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, DbEnum)]
pub enum EnrichmentStage {
    /// Metadata from the source's API.
    ApiMetadata,
    /// The dataset's README or landing page.
    ContentFetch,
    /// Computing the embedding.
    Embedding,
    /// Writing the result back.
    Storage,
}

/// How an enrichment step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, DbEnum)]
pub enum EnrichmentResult {
    /// The step succeeded.
    Success,
    /// The step failed; `error_message` / `error_type` say why.
    Failed,
    /// The step was not needed.
    Skipped,
}

/// The state of a generation pipeline. `Completed`, `Failed` and `Cancelled` are terminal.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    DbEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum PipelineStatus {
    /// Created, not started.
    Initializing,
    /// Running.
    Processing,
    /// Finished with results.
    Completed,
    /// Stopped by an error.
    Failed,
    /// Stopped by the user.
    Cancelled,
}

impl PipelineStatus {
    /// Every status, in declaration order.
    pub const ALL: [Self; 5] = [
        Self::Initializing,
        Self::Processing,
        Self::Completed,
        Self::Failed,
        Self::Cancelled,
    ];
    /// The states a pipeline never leaves.
    pub const TERMINAL: [Self; 3] = [Self::Completed, Self::Failed, Self::Cancelled];

    /// Whether the pipeline has finished, one way or another.
    #[must_use]
    pub fn is_terminal(self) -> bool {
        Self::TERMINAL.contains(&self)
    }
}

/// The state of one stage of a pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, DbEnum)]
pub enum StageStatus {
    /// Not started.
    Pending,
    /// Running.
    Processing,
    /// Finished.
    Completed,
    /// Stopped by an error.
    Failed,
    /// Not needed for this pipeline.
    Skipped,
}

/// How bad an API error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, DbEnum)]
pub enum ErrorSeverity {
    /// Diagnostic detail.
    Debug,
    /// Worth knowing.
    Info,
    /// Degraded but working.
    Warning,
    /// A request failed.
    Error,
    /// The service is failing.
    Critical,
}

impl ErrorSeverity {
    /// Every severity, from least to most severe.
    pub const ALL: [Self; 5] = [
        Self::Debug,
        Self::Info,
        Self::Warning,
        Self::Error,
        Self::Critical,
    ];
}

/// Where an API error comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, DbEnum)]
pub enum ErrorCategory {
    /// Bad input from the client.
    Validation,
    /// The caller is not who it claims.
    Authentication,
    /// The caller may not do this.
    Authorization,
    /// A third-party API failed (Meshy, `OpenAI`, ...).
    ExternalApi,
    /// The database failed.
    Database,
    /// The network failed.
    Network,
    /// A bug or unexpected state in the application.
    Application,
    /// Not classified.
    Unknown,
}

impl ErrorCategory {
    /// Every category, in declaration order.
    pub const ALL: [Self; 8] = [
        Self::Validation,
        Self::Authentication,
        Self::Authorization,
        Self::ExternalApi,
        Self::Database,
        Self::Network,
        Self::Application,
        Self::Unknown,
    ];
}

/// A dataset from a source (Kaggle, Hugging Face, ...), unique per source and external id.
///
/// `claimed_by` names the worker that last claimed the dataset with
/// [`claim_pending_for_enrichment`](crate::DatasetRepository::claim_pending_for_enrichment),
/// and `claimed_at` when its lease began; both are kept after enrichment as a record of who
/// did it.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(
    table = "datasets",
    unique(source_name, external_id),
    index(enrichment_status, claimed_at),
    cache
)]
pub struct Dataset {
    /// Generated key.
    #[repo(primary_key, auto)]
    pub id: i64,
    /// The source, e.g. `kaggle`.
    pub source_name: String,
    /// The dataset's id at its source, e.g. `owner/dataset-name`.
    pub external_id: String,
    /// Title.
    pub title: String,
    /// Landing page.
    pub url: Option<String>,
    /// Description, when known.
    pub description: Option<String>,
    /// Where the enrichment stands.
    pub enrichment_status: EnrichmentStatus,
    /// Failed enrichment attempts so far.
    pub enrichment_attempts: i32,
    /// The message of the last failure, cleared on success.
    pub last_error: Option<String>,
    /// The embedding, once enriched.
    pub embedding: Option<Vec<f32>>,
    /// The worker that last claimed the dataset.
    pub claimed_by: Option<String>,
    /// When that worker's lease on the dataset began (its claim holds for the lease's
    /// duration; after that another worker may take the dataset over).
    pub claimed_at: Option<DateTime<Utc>>,
    /// When the enrichment succeeded.
    pub enriched_at: Option<DateTime<Utc>>,
    /// Set on insert.
    #[repo(created_at)]
    pub created_at: DateTime<Utc>,
    /// Set on every write.
    #[repo(updated_at)]
    pub updated_at: DateTime<Utc>,
}

impl NewDataset {
    /// A new, not yet enriched dataset.
    #[must_use]
    pub fn new(source_name: &str, external_id: &str, title: &str) -> Self {
        Self {
            source_name: source_name.to_owned(),
            external_id: external_id.to_owned(),
            title: title.to_owned(),
            url: None,
            description: None,
            enrichment_status: EnrichmentStatus::Minimal,
            enrichment_attempts: 0,
            last_error: None,
            embedding: None,
            claimed_by: None,
            claimed_at: None,
            enriched_at: None,
        }
    }
}

impl Dataset {
    /// [`NewDataset::new`] as an entity, for the operations that take one (`upsert`); its `id`
    /// and timestamps are filled on write.
    #[must_use]
    pub fn new(source_name: &str, external_id: &str, title: &str) -> Self {
        Self::from_new(NewDataset::new(source_name, external_id, title))
    }
}

/// One attempt at one stage of the enrichment of a dataset.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "enrichment_logs", index(dataset_id), index(created_at))]
pub struct EnrichmentLog {
    /// Generated key.
    #[repo(primary_key, auto)]
    pub id: i64,
    /// The dataset (foreign key to `datasets`, deleted with it).
    pub dataset_id: i64,
    /// The stage attempted.
    pub stage: EnrichmentStage,
    /// How it ended.
    pub result: EnrichmentResult,
    /// 1 for the first attempt.
    pub attempt_number: i32,
    /// How long the attempt took.
    pub duration_ms: Option<i64>,
    /// The worker, e.g. `celery@worker1`.
    pub worker_id: Option<String>,
    /// The task queue's id of the attempt.
    pub task_id: Option<String>,
    /// Why it failed.
    pub error_message: Option<String>,
    /// The kind of failure, e.g. `NotFoundError`.
    pub error_type: Option<String>,
    /// Set on insert.
    #[repo(created_at)]
    pub created_at: DateTime<Utc>,
}

/// An error an API endpoint reported. Audited: who logged, resolved or deleted it, and when,
/// is in the audit log (see [`repo_core::audit`]).
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(
    table = "api_errors",
    audit,
    cache,
    index(endpoint),
    index(severity),
    index(category),
    index(created_at)
)]
pub struct ApiError {
    /// Key, generated by [`log_error`](crate::ApiErrorRepository::log_error).
    #[repo(primary_key)]
    pub id: Uuid,
    /// The endpoint, e.g. `/api/generation`.
    pub endpoint: String,
    /// The HTTP method.
    pub method: String,
    /// The HTTP status returned, if any.
    pub status_code: Option<i32>,
    /// The message.
    pub error_message: String,
    /// The stack trace, if any.
    pub error_stack: Option<String>,
    /// How bad it is.
    pub severity: ErrorSeverity,
    /// Where it comes from.
    pub category: ErrorCategory,
    /// The user whose request failed.
    pub user_id: Option<String>,
    /// The request id, for correlating logs.
    pub request_id: Option<String>,
    /// Anything else, as a JSON object.
    pub metadata: serde_json::Value,
    /// Whether someone resolved it.
    pub resolved: bool,
    /// Who resolved it.
    pub resolved_by: Option<String>,
    /// When it was resolved.
    pub resolved_at: Option<DateTime<Utc>>,
    /// How it was resolved.
    pub resolution: Option<String>,
    /// Set on insert.
    #[repo(created_at)]
    pub created_at: DateTime<Utc>,
}

/// Pre-computed count of the API errors of one hour, endpoint, severity and category; filled
/// by [`roll_up_aggregations`](crate::ApiErrorRepository::roll_up_aggregations).
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(
    table = "error_aggregations",
    unique(hour, endpoint, severity, category),
    index(hour)
)]
pub struct ErrorAggregation {
    /// Generated key.
    #[repo(primary_key, auto)]
    pub id: i64,
    /// The start of the hour (UTC).
    pub hour: DateTime<Utc>,
    /// The endpoint.
    pub endpoint: String,
    /// The severity.
    pub severity: ErrorSeverity,
    /// The category.
    pub category: ErrorCategory,
    /// Errors in the hour.
    pub error_count: i64,
    /// Distinct users among them (errors without a user do not count).
    pub unique_users: i64,
    /// When the hour was first rolled up.
    #[repo(created_at)]
    pub created_at: DateTime<Utc>,
}

/// The state of one AI generation pipeline. Its id is supplied by the application (any text,
/// typically a UUID; [`create`](crate::GenerationPipelineRepository::create) generates one when
/// it is empty).
///
/// Versioned: every write adds 1 to `version`, and a whole-row
/// [`update`](repo_core::BaseRepository::update) of a copy read before another writer's change
/// is an [`Error::StaleVersion`]. Soft-deleted: `delete` and
/// [`cleanup_old_pipelines`](crate::GenerationPipelineRepository::cleanup_old_pipelines) set
/// `deleted_at`, every read and the statistics leave such pipelines out, and
/// [`purge_deleted_pipelines`](crate::GenerationPipelineRepository::purge_deleted_pipelines)
/// removes them with their stages.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(
    table = "generation_pipelines",
    index(user_id),
    index(status),
    index(meshy_task_id),
    cache
)]
pub struct GenerationPipeline {
    /// Key, supplied by the application.
    #[repo(primary_key)]
    pub id: String,
    /// The owner.
    pub user_id: String,
    /// The asset the pipeline produces, once known.
    pub asset_id: Option<String>,
    /// The generation request, as JSON.
    pub config: serde_json::Value,
    /// Where it stands.
    pub status: PipelineStatus,
    /// 0 to 100.
    pub progress: i32,
    /// The stage running now, e.g. `image-generation`.
    pub current_stage: Option<String>,
    /// What the stages produced, as JSON.
    pub results: serde_json::Value,
    /// Why it failed.
    pub error: Option<String>,
    /// The Meshy task generating the model.
    pub meshy_task_id: Option<String>,
    /// The rigging task.
    pub rigging_task_id: Option<String>,
    /// When it started processing.
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a terminal state.
    pub completed_at: Option<DateTime<Utc>>,
    /// 0 on insert, plus 1 on every write.
    #[repo(version)]
    pub version: i64,
    /// When it was deleted; `None` while it is live.
    #[repo(soft_delete)]
    pub deleted_at: Option<DateTime<Utc>>,
    /// Set on insert.
    #[repo(created_at)]
    pub created_at: DateTime<Utc>,
    /// Set on every write.
    #[repo(updated_at)]
    pub updated_at: DateTime<Utc>,
}

impl GenerationPipeline {
    /// A new pipeline of `user_id` with `config`, initializing, no id yet (see
    /// [`create`](crate::GenerationPipelineRepository::create)).
    #[must_use]
    pub fn new(user_id: &str, config: serde_json::Value) -> Self {
        Self::from_new(NewGenerationPipeline {
            id: String::new(),
            user_id: user_id.to_owned(),
            asset_id: None,
            config,
            status: PipelineStatus::Initializing,
            progress: 0,
            current_stage: None,
            results: serde_json::json!({}),
            error: None,
            meshy_task_id: None,
            rigging_task_id: None,
            started_at: None,
            completed_at: None,
        })
    }
}

/// One stage of a pipeline (foreign key to it, deleted with it); one row per stage name.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "pipeline_stages", unique(pipeline_id, stage_name), cache)]
pub struct PipelineStage {
    /// Generated key.
    #[repo(primary_key, auto)]
    pub id: i64,
    /// The pipeline.
    pub pipeline_id: String,
    /// The stage, e.g. `image-generation`.
    pub stage_name: String,
    /// Where it stands.
    pub status: StageStatus,
    /// 0 to 100.
    pub progress: i32,
    /// When it started.
    pub started_at: Option<DateTime<Utc>>,
    /// When it completed or failed.
    pub completed_at: Option<DateTime<Utc>>,
    /// `completed_at - started_at` in milliseconds.
    pub duration_ms: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
    /// Set on insert.
    #[repo(created_at)]
    pub created_at: DateTime<Utc>,
    /// Set on every write.
    #[repo(updated_at)]
    pub updated_at: DateTime<Utc>,
}
