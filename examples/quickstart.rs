//! Quickstart: the domain end to end.
//!
//! Applies the migrations, runs the dataset enrichment flow and the generation pipeline flow
//! of the seed documents, logs and rolls up API errors, and prints the statistics as tables.
//! Runs on an in-memory SQLite database, or on the database named by `DATABASE_URL`
//! (`postgres://…` or `sqlite:…`).

#[path = "table.rs"]
mod table;

use repo_core::prelude::*;
use repo_domain::{
    AggregationFilters, ApiError, ApiErrorRepository, Dataset, DatasetRepository, EnrichmentLog,
    EnrichmentLogRepository, EnrichmentStage, ErrorCategory, ErrorSeverity, GenerationPipeline,
    GenerationPipelineRepository, PipelineStageRepository, PipelineStatus, migrate,
};
use serde_json::json;

#[tokio::main]
async fn main() -> repo_core::Result<()> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite::memory:".to_owned());
    let db = Db::connect(&url).await?;
    migrate(&db).await?;
    println!("connected to {:?}, schema migrated", db.backend());

    enrichment_flow(&db).await?;
    pipeline_flow(&db).await?;
    error_flow(&db).await?;
    Ok(())
}

async fn enrichment_flow(db: &Db) -> repo_core::Result<()> {
    // Import: upsert on (source_name, external_id), in one unit of work.
    let session = db.begin().await?;
    let datasets = DatasetRepository::new(&session);
    let mut first = Dataset::new("kaggle", "owner/dataset-name", "My Dataset");
    first.url = Some("https://kaggle.com/owner/dataset-name".into());
    datasets.upsert(&first).await?;
    let batch: Vec<Dataset> = (0..20)
        .map(|i| Dataset::new("kaggle", &format!("owner/set-{i}"), &format!("Set {i}")))
        .collect();
    let written = datasets.bulk_upsert(&batch).await?;
    session.commit().await?;
    println!("imported 1 + {written} datasets");

    // Enrich: take pending datasets, log every attempt, mark each enriched or failed.
    let datasets = DatasetRepository::new(db);
    let logs = EnrichmentLogRepository::new(db);
    let pending = datasets
        .get_pending_for_enrichment("kaggle", 100, 3)
        .await?;
    println!("{} datasets pending enrichment", pending.len());
    for (n, dataset) in pending.iter().enumerate() {
        datasets.mark_enriching(dataset.id).await?;
        let attempt = dataset.enrichment_attempts + 1;
        if n % 5 == 4 {
            datasets
                .mark_failed(dataset.id, "Dataset not found")
                .await?;
            logs.log_enrichment(
                &EnrichmentLog::failure(
                    dataset.id,
                    EnrichmentStage::ApiMetadata,
                    attempt,
                    "Dataset not found",
                    "NotFoundError",
                )
                .duration_ms(234),
            )
            .await?;
        } else {
            datasets
                .mark_enriched(dataset.id, vec![0.1, 0.2, 0.3])
                .await?;
            logs.log_enrichment(
                &EnrichmentLog::success(dataset.id, EnrichmentStage::ApiMetadata, attempt)
                    .duration_ms(1000 + n as i64 * 10)
                    .worker("worker-1")
                    .task(&format!("task-{n}")),
            )
            .await?;
        }
    }

    let stats = datasets.get_stats_by_source("kaggle").await?;
    table::print(
        "Datasets of source `kaggle`",
        &["total", "minimal", "enriching", "enriched", "failed"],
        &[vec![
            stats.total.to_string(),
            stats.by_status.minimal.to_string(),
            stats.by_status.enriching.to_string(),
            stats.by_status.enriched.to_string(),
            stats.by_status.failed.to_string(),
        ]],
    );
    let rows: Vec<Vec<String>> = logs
        .get_stats_by_stage_and_result(24)
        .await?
        .iter()
        .map(|s| {
            vec![
                format!("{:?}", s.stage),
                format!("{:?}", s.result),
                s.count.to_string(),
                s.avg_duration_ms
                    .map_or("-".into(), |ms| format!("{ms:.1}")),
            ]
        })
        .collect();
    table::print(
        "Enrichment attempts, last 24 hours",
        &["stage", "result", "count", "avg ms"],
        &rows,
    );
    let rows: Vec<Vec<String>> = logs
        .get_top_errors(168, 10)
        .await?
        .into_iter()
        .map(|e| vec![e.error_type, e.count.to_string()])
        .collect();
    table::print("Top errors, last 7 days", &["error type", "count"], &rows);
    Ok(())
}

async fn pipeline_flow(db: &Db) -> repo_core::Result<()> {
    let pipelines = GenerationPipelineRepository::new(db);
    let stages = PipelineStageRepository::new(db);
    for (n, outcome) in [
        PipelineStatus::Completed,
        PipelineStatus::Completed,
        PipelineStatus::Failed,
        PipelineStatus::Processing,
    ]
    .into_iter()
    .enumerate()
    {
        let pipeline = pipelines
            .create(&GenerationPipeline::new(
                "user-1",
                json!({"type": "character", "style": "low-poly", "n": n}),
            ))
            .await?;
        pipelines
            .update_status(&pipeline.id, PipelineStatus::Processing, None)
            .await?;
        stages.start_stage(&pipeline.id, "image-generation").await?;
        pipelines
            .update_progress(&pipeline.id, 50, Some("image-generation"))
            .await?;
        match outcome {
            PipelineStatus::Completed => {
                stages
                    .complete_stage(&pipeline.id, "image-generation")
                    .await?;
                pipelines
                    .update_status(&pipeline.id, PipelineStatus::Completed, None)
                    .await?;
            }
            PipelineStatus::Failed => {
                stages
                    .fail_stage(&pipeline.id, "image-generation", "Meshy timed out")
                    .await?;
                pipelines
                    .update_status(
                        &pipeline.id,
                        PipelineStatus::Failed,
                        Some("Meshy timed out"),
                    )
                    .await?;
            }
            _ => {}
        }
    }
    let stats = pipelines.get_statistics(Some("user-1")).await?;
    table::print(
        "Pipelines of user-1",
        &[
            "total",
            "initializing",
            "processing",
            "completed",
            "failed",
            "cancelled",
            "success rate",
        ],
        &[vec![
            stats.total.to_string(),
            stats.initializing.to_string(),
            stats.processing.to_string(),
            stats.completed.to_string(),
            stats.failed.to_string(),
            stats.cancelled.to_string(),
            format!("{:.1}%", stats.success_rate),
        ]],
    );
    Ok(())
}

async fn error_flow(db: &Db) -> repo_core::Result<()> {
    let errors = ApiErrorRepository::new(db);
    for (endpoint, severity, category) in [
        (
            "/api/generation",
            ErrorSeverity::Error,
            ErrorCategory::Application,
        ),
        (
            "/api/generation",
            ErrorSeverity::Error,
            ErrorCategory::ExternalApi,
        ),
        (
            "/api/assets",
            ErrorSeverity::Warning,
            ErrorCategory::Validation,
        ),
    ] {
        errors
            .log_error(
                &ApiError::new(endpoint, "POST", "Failed to start pipeline")
                    .severity(severity)
                    .category(category)
                    .user("user-1"),
            )
            .await?;
    }
    let now = repo_core::repository::now();
    errors
        .roll_up_aggregations(now - chrono::Duration::hours(1), now)
        .await?;
    let rows: Vec<Vec<String>> = errors
        .get_aggregations(&AggregationFilters::default())
        .await?
        .into_iter()
        .map(|a| {
            vec![
                a.hour.format("%Y-%m-%d %H:00").to_string(),
                a.endpoint,
                format!("{:?}", a.severity),
                format!("{:?}", a.category),
                a.error_count.to_string(),
                a.unique_users.to_string(),
            ]
        })
        .collect();
    table::print(
        "API errors per hour",
        &[
            "hour", "endpoint", "severity", "category", "errors", "users",
        ],
        &rows,
    );
    Ok(())
}
