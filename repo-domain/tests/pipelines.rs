//! `GenerationPipelineRepository` and `PipelineStageRepository` on every backend: every
//! operation, its time handling, versions and soft deletes, and bad input that must write
//! nothing.

use chrono::Duration;
use repo_core::prelude::*;
use repo_core::repository::now;
use repo_domain::*;
use serde_json::json;

repo_tests::on_every_backend!(
    create_and_find,
    find_by_user_status_and_meshy_task,
    update_and_update_progress,
    update_status_sets_times_and_guards_terminal_states,
    bad_pipeline_input_writes_nothing,
    delete_and_cleanup_old_pipelines,
    statistics_per_user,
    stages_start_complete_fail_with_timing,
    stage_guards_and_cascade,
    stale_copies_lose_to_the_first_writer,
);

async fn setup(db: &Db) -> GenerationPipelineRepository<'_> {
    migrate(db).await.unwrap();
    GenerationPipelineRepository::new(db)
}

async fn create_and_find(db: Db) {
    let repo = setup(&db).await;
    let mut p =
        GenerationPipeline::new("user-1", json!({"type": "character", "style": "low-poly"}));
    p.id = "pipeline-123".into();
    let created = repo.create(&p).await.unwrap();
    assert_eq!(created.id, "pipeline-123");
    assert_eq!(created.status, PipelineStatus::Initializing);

    let generated = repo
        .create(&GenerationPipeline::new("user-1", json!({"type": "prop"})))
        .await
        .unwrap();
    assert!(
        uuid::Uuid::parse_str(&generated.id).is_ok(),
        "{}",
        generated.id
    );

    let read = repo.find_by_id("pipeline-123").await.unwrap().unwrap();
    assert_eq!(
        read.config,
        json!({"type": "character", "style": "low-poly"})
    );
    assert_eq!(read.results, json!({}));
    assert_eq!(read.progress, 0);
    assert_eq!(repo.find_by_id("nope").await.unwrap(), None);

    let err = repo.create(&p).await.unwrap_err();
    assert!(
        matches!(&err, Error::Conflict { constraint, .. } if constraint == "generation_pipelines_pkey"),
        "{err:?}"
    );
}

async fn find_by_user_status_and_meshy_task(db: Db) {
    let repo = setup(&db).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut p = GenerationPipeline::new("alice", json!({"n": i}));
        p.id = format!("a{i}");
        if i % 2 == 0 {
            p.status = PipelineStatus::Processing;
        }
        ids.push(repo.create(&p).await.unwrap().id);
    }
    let mut bob = GenerationPipeline::new("bob", json!({}));
    bob.meshy_task_id = Some("meshy-42".into());
    let bob = repo.create(&bob).await.unwrap();

    let page = repo
        .find_by_user_id("alice", FindOptions::default())
        .await
        .unwrap();
    assert_eq!(page.total, 5);
    assert!(page.items.iter().all(|p| p.user_id == "alice"));
    let page = repo
        .find_by_user_id(
            "alice",
            FindOptions {
                status: Some(PipelineStatus::Processing),
                limit: 2,
                offset: 0,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.total, 3);
    assert_eq!(page.items.len(), 2);
    assert!(
        page.items
            .iter()
            .all(|p| p.status == PipelineStatus::Processing)
    );
    let rest = repo
        .find_by_user_id(
            "alice",
            FindOptions {
                status: Some(PipelineStatus::Processing),
                limit: 2,
                offset: 2,
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert!(!page.items.iter().any(|p| p.id == rest.items[0].id));

    let processing = repo
        .find_by_status(PipelineStatus::Processing)
        .await
        .unwrap();
    let got: Vec<&str> = processing.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(got, vec!["a0", "a2", "a4"]);
    assert!(processing.iter().all(|p| p.started_at.is_some()));

    let found = repo
        .find_by_meshy_task_id("meshy-42")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, bob.id);
    assert_eq!(repo.find_by_meshy_task_id("other").await.unwrap(), None);
}

async fn update_and_update_progress(db: Db) {
    let repo = setup(&db).await;
    let p = repo
        .create(&GenerationPipeline::new("u", json!({"a": 1})))
        .await
        .unwrap();
    let updated = repo
        .update(
            &p.id,
            PipelineUpdate {
                asset_id: Some("asset-9".into()),
                meshy_task_id: Some("m-1".into()),
                results: Some(json!({"image": "https://x/1.png"})),
                ..PipelineUpdate::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.asset_id.as_deref(), Some("asset-9"));
    let read = repo.get(p.id.clone()).await.unwrap();
    assert_eq!(read.meshy_task_id.as_deref(), Some("m-1"));
    assert_eq!(read.results, json!({"image": "https://x/1.png"}));
    assert_eq!(read.config, json!({"a": 1}), "untouched fields stay");
    assert!(read.updated_at >= p.updated_at);

    repo.update_progress(&p.id, 50, Some("image-generation"))
        .await
        .unwrap();
    let read = repo.get(p.id.clone()).await.unwrap();
    assert_eq!(read.progress, 50);
    assert_eq!(read.current_stage.as_deref(), Some("image-generation"));
    repo.update_progress(&p.id, 60, None).await.unwrap();
    let read = repo.get(p.id.clone()).await.unwrap();
    assert_eq!(read.progress, 60);
    assert_eq!(read.current_stage.as_deref(), Some("image-generation"));
}

async fn update_status_sets_times_and_guards_terminal_states(db: Db) {
    let repo = setup(&db).await;
    let p = repo
        .create(&GenerationPipeline::new("u", json!({})))
        .await
        .unwrap();
    assert_eq!(p.started_at, None);
    let running = repo
        .update_status(&p.id, PipelineStatus::Processing, None)
        .await
        .unwrap();
    let started = running.started_at.expect("started_at set");
    assert_eq!(running.completed_at, None);
    let again = repo
        .update_status(&p.id, PipelineStatus::Processing, None)
        .await
        .unwrap();
    assert_eq!(again.started_at, Some(started), "started_at kept");

    let done = repo
        .update_status(&p.id, PipelineStatus::Completed, None)
        .await
        .unwrap();
    let read = repo.get(p.id.clone()).await.unwrap();
    assert_eq!(read, done);
    assert_eq!(read.status, PipelineStatus::Completed);
    assert_eq!(read.progress, 100);
    assert!(read.completed_at.unwrap() >= started);

    let err = repo
        .update_status(&p.id, PipelineStatus::Failed, Some("late"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Validation { field, .. } if field == "status"),
        "{err:?}"
    );
    assert_eq!(
        repo.get(p.id.clone()).await.unwrap(),
        read,
        "nothing written"
    );

    let q = repo
        .create(&GenerationPipeline::new("u", json!({})))
        .await
        .unwrap();
    let failed = repo
        .update_status(&q.id, PipelineStatus::Failed, Some("Meshy timed out"))
        .await
        .unwrap();
    assert_eq!(failed.error.as_deref(), Some("Meshy timed out"));
    assert!(failed.completed_at.is_some());
    let read = repo.get(q.id.clone()).await.unwrap();
    assert_eq!(read.error.as_deref(), Some("Meshy timed out"));
    assert_eq!(read.status, PipelineStatus::Failed);
}

async fn bad_pipeline_input_writes_nothing(db: Db) {
    let repo = setup(&db).await;
    let p = repo
        .create(&GenerationPipeline::new("u", json!({})))
        .await
        .unwrap();
    let before = repo.get(p.id.clone()).await.unwrap();
    for progress in [-1, 101, 1000] {
        let err = repo
            .update_progress(&p.id, progress, Some("x"))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::Validation { field, .. } if field == "progress"),
            "{err:?}"
        );
        let err = repo
            .update(
                &p.id,
                PipelineUpdate {
                    progress: Some(progress),
                    asset_id: Some("changed".into()),
                    ..PipelineUpdate::default()
                },
            )
            .await
            .unwrap_err();
        assert!(err.is_validation());
    }
    let mut bad = GenerationPipeline::new("u", json!({}));
    bad.progress = 120;
    assert!(repo.create(&bad).await.unwrap_err().is_validation());
    assert_eq!(repo.get(p.id.clone()).await.unwrap(), before);
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 1);

    assert!(
        repo.update_progress("missing", 10, None)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        repo.update_status("missing", PipelineStatus::Failed, None)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        repo.update("missing", PipelineUpdate::default())
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(!repo.delete("missing").await.unwrap());
}

async fn delete_and_cleanup_old_pipelines(db: Db) {
    let repo = setup(&db).await;
    let mk = |id: &str, status: PipelineStatus| {
        let mut p = GenerationPipeline::new("u", json!({}));
        p.id = id.into();
        p.status = status;
        p
    };
    for (id, status) in [
        ("old-done", PipelineStatus::Completed),
        ("old-failed", PipelineStatus::Failed),
        ("old-running", PipelineStatus::Processing),
        ("new-done", PipelineStatus::Completed),
        ("gone", PipelineStatus::Initializing),
    ] {
        repo.create(&mk(id, status)).await.unwrap();
    }
    let long_ago = now() - Duration::days(3);
    let n = repo
        .update_where(
            GenerationPipeline::ID.is_in(["old-done", "old-failed", "old-running"]),
            [
                GenerationPipeline::COMPLETED_AT.set(long_ago),
                GenerationPipeline::CREATED_AT.set(long_ago),
            ],
        )
        .await
        .unwrap();
    assert_eq!(n, 3);

    assert!(repo.delete("gone").await.unwrap());
    assert_eq!(repo.find_by_id("gone").await.unwrap(), None);

    let removed = repo
        .cleanup_old_pipelines(now() - Duration::days(1))
        .await
        .unwrap();
    assert_eq!(removed, 2);
    let mut left: Vec<String> = repo
        .find_all(Filter::all())
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect();
    left.sort();
    assert_eq!(left, vec!["new-done", "old-running"]);

    // Soft-deleted: the rows stay, marked, and come back on request.
    let deleted = repo.only_deleted().find_all(Filter::all()).await.unwrap();
    let mut ids: Vec<&str> = deleted.iter().map(|p| p.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["gone", "old-done", "old-failed"]);
    assert!(
        deleted
            .iter()
            .all(|p| p.deleted_at.is_some() && p.version >= 1)
    );
    let restored = repo.restore("gone").await.unwrap();
    assert_eq!(restored.deleted_at, None);
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 3);

    // Purged: gone from the table, only those deleted before the cutoff.
    assert_eq!(
        repo.purge_deleted_pipelines(now() - Duration::days(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        repo.purge_deleted_pipelines(now() + Duration::seconds(1))
            .await
            .unwrap(),
        2
    );
    assert_eq!(repo.with_deleted().count(Filter::all()).await.unwrap(), 3);
}

async fn statistics_per_user(db: Db) {
    let repo = setup(&db).await;
    for (user, status) in [
        ("a", PipelineStatus::Completed),
        ("a", PipelineStatus::Completed),
        ("a", PipelineStatus::Completed),
        ("a", PipelineStatus::Failed),
        ("a", PipelineStatus::Processing),
        ("a", PipelineStatus::Initializing),
        ("b", PipelineStatus::Cancelled),
    ] {
        let mut p = GenerationPipeline::new(user, json!({}));
        p.status = status;
        repo.create(&p).await.unwrap();
    }
    let a = repo.get_statistics(Some("a")).await.unwrap();
    assert_eq!(
        a,
        PipelineStats {
            total: 6,
            initializing: 1,
            processing: 1,
            completed: 3,
            failed: 1,
            cancelled: 0,
            success_rate: 75.0,
        }
    );
    let all = repo.get_statistics(None).await.unwrap();
    assert_eq!(all.total, 7);
    assert_eq!(all.cancelled, 1);
    assert!((all.success_rate - 60.0).abs() < 1e-9);
    // A deleted pipeline no longer counts, unless asked for.
    assert_eq!(
        repo.delete_where(GenerationPipeline::USER_ID.eq("b"))
            .await
            .unwrap(),
        1
    );
    let live = repo.get_statistics(None).await.unwrap();
    assert_eq!((live.total, live.cancelled), (6, 0));
    assert!((live.success_rate - 75.0).abs() < 1e-9);
    let with_deleted = repo.with_deleted().get_statistics(None).await.unwrap();
    assert_eq!(with_deleted, all);
    let nobody = repo.get_statistics(Some("nobody")).await.unwrap();
    assert_eq!(nobody, PipelineStats::default());
}

async fn stages_start_complete_fail_with_timing(db: Db) {
    let repo = setup(&db).await;
    let p = repo
        .create(&GenerationPipeline::new("u", json!({})))
        .await
        .unwrap();
    let stages = PipelineStageRepository::new(&db);
    let planned = stages.add_stage(&p.id, "rigging").await.unwrap();
    assert_eq!(planned.status, StageStatus::Pending);

    let image = stages.start_stage(&p.id, "image-generation").await.unwrap();
    assert_eq!(image.status, StageStatus::Processing);
    let started = image.started_at.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let done = stages
        .complete_stage(&p.id, "image-generation")
        .await
        .unwrap();
    assert_eq!(done.status, StageStatus::Completed);
    assert_eq!(done.progress, 100);
    let read = stages.get(done.id).await.unwrap();
    assert_eq!(read, done);
    let completed = read.completed_at.unwrap();
    assert_eq!(
        read.duration_ms,
        Some((completed - started).num_milliseconds())
    );
    assert!(read.duration_ms.unwrap() >= 30);

    stages.start_stage(&p.id, "rigging").await.unwrap();
    let failed = stages
        .fail_stage(&p.id, "rigging", "rig service down")
        .await
        .unwrap();
    assert_eq!(failed.status, StageStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("rig service down"));
    assert!(failed.duration_ms.is_some());
    let retried = stages.start_stage(&p.id, "rigging").await.unwrap();
    assert_eq!(retried.status, StageStatus::Processing);
    assert_eq!(retried.error, None);
    assert_eq!(retried.id, failed.id, "a retry reuses the stage row");

    let all = stages.stages_of(&p.id).await.unwrap();
    let names: Vec<(&str, StageStatus)> = all
        .iter()
        .map(|s| (s.stage_name.as_str(), s.status))
        .collect();
    assert_eq!(
        names,
        vec![
            ("rigging", StageStatus::Processing),
            ("image-generation", StageStatus::Completed)
        ]
    );
}

async fn stage_guards_and_cascade(db: Db) {
    let repo = setup(&db).await;
    let p = repo
        .create(&GenerationPipeline::new("u", json!({})))
        .await
        .unwrap();
    let stages = PipelineStageRepository::new(&db);
    stages.add_stage(&p.id, "mesh").await.unwrap();
    let before = stages.find_stage(&p.id, "mesh").await.unwrap().unwrap();
    assert!(
        stages
            .complete_stage(&p.id, "mesh")
            .await
            .unwrap_err()
            .is_validation()
    );
    assert!(
        stages
            .fail_stage(&p.id, "mesh", "x")
            .await
            .unwrap_err()
            .is_validation()
    );
    assert_eq!(
        stages.find_stage(&p.id, "mesh").await.unwrap().unwrap(),
        before
    );

    stages.start_stage(&p.id, "mesh").await.unwrap();
    assert!(
        stages
            .start_stage(&p.id, "mesh")
            .await
            .unwrap_err()
            .is_validation()
    );
    stages.complete_stage(&p.id, "mesh").await.unwrap();
    let done = stages.find_stage(&p.id, "mesh").await.unwrap().unwrap();
    assert!(
        stages
            .start_stage(&p.id, "mesh")
            .await
            .unwrap_err()
            .is_validation()
    );
    assert!(
        stages
            .complete_stage(&p.id, "mesh")
            .await
            .unwrap_err()
            .is_validation()
    );
    assert_eq!(
        stages.find_stage(&p.id, "mesh").await.unwrap().unwrap(),
        done
    );

    assert!(
        stages
            .complete_stage(&p.id, "nope")
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        stages
            .start_stage("no-pipeline", "mesh")
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        stages
            .add_stage(&p.id, "mesh")
            .await
            .unwrap_err()
            .is_conflict()
    );
    assert_eq!(stages.count(Filter::all()).await.unwrap(), 1);

    assert!(repo.delete(p.id.clone()).await.unwrap());
    assert_eq!(
        stages.count(Filter::all()).await.unwrap(),
        1,
        "a soft-deleted pipeline keeps its stages"
    );
    assert_eq!(
        repo.purge_deleted_pipelines(now() + Duration::seconds(1))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        stages.count(Filter::all()).await.unwrap(),
        0,
        "stages go with their purged pipeline"
    );
}

/// 16 tasks update the same copy of a pipeline at once: the first write wins, every other is
/// a `StaleVersion` and writes nothing. The domain's own updates bump the version too.
async fn stale_copies_lose_to_the_first_writer(db: Db) {
    let repo = setup(&db).await;
    let read = repo
        .create(&GenerationPipeline::new("u", json!({})))
        .await
        .unwrap();
    assert_eq!(read.version, 0);
    let mut tasks = Vec::new();
    for writer in 0..16 {
        let db = db.clone();
        let mut copy = read.clone();
        copy.progress = writer + 1;
        tasks.push(tokio::spawn(async move {
            BaseRepository::update(&GenerationPipelineRepository::new(&db), &copy).await
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(stored) => winners.push(stored),
            Err(error) => assert!(
                matches!(error, Error::StaleVersion { expected: 0, .. }),
                "{error:?}"
            ),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one writer wins");
    let stored = repo.get(read.id.clone()).await.unwrap();
    assert_eq!(stored.progress, winners[0].progress);
    assert_eq!(stored.version, 1);

    let updated = repo
        .update_progress(&read.id, 50, Some("mesh"))
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    let mut stale = stored.clone();
    stale.progress = 7;
    assert!(matches!(
        BaseRepository::update(&repo, &stale).await,
        Err(Error::StaleVersion { expected: 1, .. })
    ));
    assert_eq!(repo.get(read.id.clone()).await.unwrap().progress, 50);
}
