//! `EnrichmentLogRepository` on SQLite and PostgreSQL: both forms of logging, the windowed
//! analytics (rows outside the window do not count) and bad input.

use chrono::Duration;
use repo_core::prelude::*;
use repo_core::repository::now;
use repo_domain::*;

repo_tests::on_every_backend!(
    logs_success_and_failure,
    stats_by_stage_and_result_in_window,
    top_errors_in_window,
    failed_logs_since,
    bad_log_input_writes_nothing,
);

async fn setup(db: &Db) -> (i64, EnrichmentLogRepository<'_>) {
    migrate(db).await.unwrap();
    let dataset = DatasetRepository::new(db)
        .insert(&Dataset::new("kaggle", "o/d", "t"))
        .await
        .unwrap();
    (dataset.id, EnrichmentLogRepository::new(db))
}

/// Move a log back in time by `hours`.
async fn age(repo: &EnrichmentLogRepository<'_>, id: i64, hours: i64) {
    let n = repo
        .update_where(
            EnrichmentLog::ID.eq(id),
            [EnrichmentLog::CREATED_AT.set(now() - Duration::hours(hours))],
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
}

async fn logs_success_and_failure(db: Db) {
    let (dataset, repo) = setup(&db).await;
    let ok = repo
        .log_enrichment(
            &EnrichmentLog::success(dataset, EnrichmentStage::ApiMetadata, 1)
                .duration_ms(1234)
                .worker("celery@worker1")
                .task("abc-123"),
        )
        .await
        .unwrap();
    let failed = repo
        .log_enrichment(
            &EnrichmentLog::failure(
                dataset,
                EnrichmentStage::ApiMetadata,
                2,
                "Dataset not found",
                "NotFoundError",
            )
            .duration_ms(234),
        )
        .await
        .unwrap();
    let read = repo.get(ok.id).await.unwrap();
    assert_eq!(read.result, EnrichmentResult::Success);
    assert_eq!(read.duration_ms, Some(1234));
    assert_eq!(read.worker_id.as_deref(), Some("celery@worker1"));
    assert_eq!(read.task_id.as_deref(), Some("abc-123"));
    assert_eq!(read.error_message, None);
    let read = repo.get(failed.id).await.unwrap();
    assert_eq!(read.result, EnrichmentResult::Failed);
    assert_eq!(read.attempt_number, 2);
    assert_eq!(read.error_message.as_deref(), Some("Dataset not found"));
    assert_eq!(read.error_type.as_deref(), Some("NotFoundError"));
}

async fn stats_by_stage_and_result_in_window(db: Db) {
    let (dataset, repo) = setup(&db).await;
    let api = EnrichmentStage::ApiMetadata;
    for ms in [100, 200, 300] {
        repo.log_enrichment(&EnrichmentLog::success(dataset, api, 1).duration_ms(ms))
            .await
            .unwrap();
    }
    repo.log_enrichment(&EnrichmentLog::failure(dataset, api, 1, "x", "E").duration_ms(50))
        .await
        .unwrap();
    repo.log_enrichment(&EnrichmentLog::success(
        dataset,
        EnrichmentStage::Embedding,
        1,
    ))
    .await
    .unwrap();
    let old = repo
        .log_enrichment(&EnrichmentLog::success(dataset, api, 1).duration_ms(10_000))
        .await
        .unwrap();
    age(&repo, old.id, 30).await;

    let stats = repo.get_stats_by_stage_and_result(24).await.unwrap();
    assert_eq!(
        stats,
        vec![
            StageResultStats {
                stage: api,
                result: EnrichmentResult::Success,
                count: 3,
                avg_duration_ms: Some(200.0)
            },
            StageResultStats {
                stage: api,
                result: EnrichmentResult::Failed,
                count: 1,
                avg_duration_ms: Some(50.0)
            },
            StageResultStats {
                stage: EnrichmentStage::Embedding,
                result: EnrichmentResult::Success,
                count: 1,
                avg_duration_ms: None
            },
        ]
    );
    let wider = repo.get_stats_by_stage_and_result(48).await.unwrap();
    assert_eq!(wider[0].count, 4, "the old row counts in a 48-hour window");
    assert_eq!(wider[0].avg_duration_ms, Some(2650.0));
}

async fn top_errors_in_window(db: Db) {
    let (dataset, repo) = setup(&db).await;
    let stage = EnrichmentStage::ContentFetch;
    for (kind, n) in [("NotFoundError", 3), ("Timeout", 2), ("RateLimit", 1)] {
        for _ in 0..n {
            repo.log_enrichment(&EnrichmentLog::failure(dataset, stage, 1, "m", kind))
                .await
                .unwrap();
        }
    }
    for _ in 0..5 {
        let old = repo
            .log_enrichment(&EnrichmentLog::failure(dataset, stage, 1, "m", "Ancient"))
            .await
            .unwrap();
        age(&repo, old.id, 200).await;
    }
    repo.log_enrichment(&EnrichmentLog::success(dataset, stage, 1))
        .await
        .unwrap();

    let top = repo.get_top_errors(168, 10).await.unwrap();
    let got: Vec<(&str, i64)> = top
        .iter()
        .map(|e| (e.error_type.as_str(), e.count))
        .collect();
    assert_eq!(
        got,
        vec![("NotFoundError", 3), ("Timeout", 2), ("RateLimit", 1)]
    );
    let top = repo.get_top_errors(168, 2).await.unwrap();
    assert_eq!(top.len(), 2);
    let all = repo.get_top_errors(300, 1).await.unwrap();
    assert_eq!(all[0].error_type, "Ancient");
    assert_eq!(all[0].count, 5);
}

async fn failed_logs_since(db: Db) {
    let (dataset, repo) = setup(&db).await;
    let stage = EnrichmentStage::Embedding;
    let recent = repo
        .log_enrichment(&EnrichmentLog::failure(dataset, stage, 1, "a", "E"))
        .await
        .unwrap();
    let newer = repo
        .log_enrichment(&EnrichmentLog::failure(dataset, stage, 2, "b", "E"))
        .await
        .unwrap();
    let old = repo
        .log_enrichment(&EnrichmentLog::failure(dataset, stage, 3, "c", "E"))
        .await
        .unwrap();
    age(&repo, old.id, 48).await;
    repo.log_enrichment(&EnrichmentLog::success(dataset, stage, 4))
        .await
        .unwrap();

    let failed = repo
        .get_failed_logs(now() - Duration::days(1))
        .await
        .unwrap();
    let ids: Vec<i64> = failed.iter().map(|l| l.id).collect();
    assert_eq!(ids, vec![newer.id, recent.id]);
    assert!(failed.iter().all(|l| l.result == EnrichmentResult::Failed));
    assert_eq!(
        repo.get_failed_logs(now() - Duration::days(3))
            .await
            .unwrap()
            .len(),
        3
    );
}

async fn bad_log_input_writes_nothing(db: Db) {
    let (dataset, repo) = setup(&db).await;
    let err = repo
        .log_enrichment(&EnrichmentLog::success(
            dataset,
            EnrichmentStage::Storage,
            0,
        ))
        .await
        .unwrap_err();
    assert!(err.is_validation(), "{err:?}");
    let err = repo
        .log_enrichment(&EnrichmentLog::success(
            dataset + 1000,
            EnrichmentStage::Storage,
            1,
        ))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert!(
        repo.get_top_errors(24, 0)
            .await
            .unwrap_err()
            .is_validation()
    );
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 0);
}
