//! The versioned migrations agree with the entity declarations, on every backend: `Db::verify`
//! finds no difference between any entity and its migrated table, and migrating twice changes
//! nothing. On MariaDB, a database migrated by the older files is upgraded to text that
//! compares byte by byte.

use repo_core::{BaseRepository as _, Db, Declaration, Error, Filter, SchemaDifference};
use repo_domain::*;

repo_tests::on_every_backend!(migrations_match_declarations, migrating_twice_is_a_no_op);

async fn migrations_match_declarations(db: Db) {
    migrate(&db).await.unwrap();
    db.verify::<Dataset>().await.unwrap();
    db.verify::<EnrichmentLog>().await.unwrap();
    db.verify::<ApiError>().await.unwrap();
    db.verify::<repo_core::AuditEntry>().await.unwrap();
    db.verify::<ErrorAggregation>().await.unwrap();
    db.verify::<GenerationPipeline>().await.unwrap();
    db.verify::<PipelineStage>().await.unwrap();
    db.verify_all(&[
        Declaration::of::<Dataset>(),
        Declaration::of::<EnrichmentLog>(),
        Declaration::of::<ApiError>(),
        Declaration::of::<ErrorAggregation>(),
        Declaration::of::<GenerationPipeline>(),
        Declaration::of::<PipelineStage>(),
    ])
    .await
    .unwrap();
}

async fn migrating_twice_is_a_no_op(db: Db) {
    migrate(&db).await.unwrap();
    let repo = DatasetRepository::new(&db);
    repo.insert(&Dataset::new("kaggle", "a/b", "kept"))
        .await
        .unwrap();
    migrate(&db).await.unwrap();
    let applied = migrate::migrator(db.backend())
        .expect("migrations for the backend")
        .iter()
        .count();
    assert!(applied >= 1);
    let kept = repo.get_by_external_id("kaggle", "a/b").await.unwrap();
    assert_eq!(kept.map(|d| d.title).as_deref(), Some("kept"));
}

/// Text columns of the database's tables (the migrations' own bookkeeping aside) whose
/// collation is not `utf8mb4_nopad_bin`: `(table, column, collation)`.
async fn padded_text_columns(db: &Db) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "SELECT CAST(TABLE_NAME AS CHAR), CAST(COLUMN_NAME AS CHAR), \
                CAST(COLLATION_NAME AS CHAR) \
         FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME <> '_sqlx_migrations' \
           AND COLLATION_NAME IS NOT NULL AND COLLATION_NAME <> 'utf8mb4_nopad_bin' \
         ORDER BY TABLE_NAME, COLUMN_NAME",
    )
    .fetch_all(db.mysql_pool().expect("a MariaDB pool"))
    .await
    .unwrap()
}

/// A MariaDB database migrated before text compared byte by byte (migrations 1 to 5, whose
/// tables are `utf8mb4_bin`, PAD SPACE: `'k0' = 'k0 '`) is upgraded by `migrate`: every text
/// column ends `utf8mb4_nopad_bin`, rows and the pipelines' foreign key stay, `verify` reports
/// the old key columns and accepts the new ones, and keys differing by trailing spaces differ.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_migrating_an_older_schema_makes_text_compare_bytes() {
    let db = repo_tests::mysql("migrating_an_older_schema").await;
    migrate::MYSQL
        .run_to(5, db.mysql_pool().expect("a MariaDB pool"))
        .await
        .unwrap();
    let padded = padded_text_columns(&db).await;
    assert!(
        padded.iter().any(
            |(t, c, collation)| (t.as_str(), c.as_str(), collation.as_str())
                == ("datasets", "external_id", "utf8mb4_bin")
        ),
        "{padded:?}"
    );
    let datasets = DatasetRepository::new(&db);
    datasets
        .insert(&Dataset::new("kaggle", "k0", "first"))
        .await
        .unwrap();
    let refused = datasets
        .insert(&Dataset::new("kaggle", "k0 ", "second"))
        .await
        .unwrap_err();
    assert!(refused.is_conflict(), "{refused:?}");
    match db.verify::<Dataset>().await.unwrap_err() {
        Error::Schema { differences, .. } => assert_eq!(
            differences,
            ["source_name", "external_id"].map(|column| SchemaDifference::Collation {
                column: column.to_owned(),
                collation: "utf8mb4_bin".to_owned(),
            })
        ),
        other => panic!("not a schema error: {other}"),
    }
    let pipelines = GenerationPipelineRepository::new(&db);
    let pipeline = pipelines
        .create(&GenerationPipeline::new("u1", serde_json::json!({})))
        .await
        .unwrap();
    let stages = PipelineStageRepository::new(&db);
    stages.start_stage(&pipeline.id, "mesh").await.unwrap();

    migrate(&db).await.unwrap();
    assert_eq!(padded_text_columns(&db).await, []);
    db.verify_all(&[
        Declaration::of::<Dataset>(),
        Declaration::of::<EnrichmentLog>(),
        Declaration::of::<ApiError>(),
        Declaration::of::<ErrorAggregation>(),
        Declaration::of::<GenerationPipeline>(),
        Declaration::of::<PipelineStage>(),
        Declaration::of::<repo_core::AuditEntry>(),
    ])
    .await
    .unwrap();
    datasets
        .insert(&Dataset::new("kaggle", "k0 ", "second"))
        .await
        .unwrap();
    let title = |d: Option<Dataset>| d.map(|d| d.title);
    let found = datasets.get_by_external_id("kaggle", "k0").await.unwrap();
    assert_eq!(title(found).as_deref(), Some("first"));
    let found = datasets.get_by_external_id("kaggle", "k0 ").await.unwrap();
    assert_eq!(title(found).as_deref(), Some("second"));
    // The foreign key is back: a stage of no pipeline is refused, and a purge takes the stages.
    let orphan = repo_tests::raw_sql(
        &db,
        "INSERT INTO pipeline_stages (pipeline_id, stage_name, created_at, updated_at) \
         VALUES ('no such pipeline', 'mesh', NOW(6), NOW(6))",
    )
    .await
    .unwrap_err();
    assert!(orphan.to_string().contains("foreign key"), "{orphan}");
    assert_eq!(stages.count(Filter::all()).await.unwrap(), 1);
    repo_tests::raw_sql(&db, "DELETE FROM generation_pipelines")
        .await
        .unwrap();
    assert_eq!(stages.count(Filter::all()).await.unwrap(), 0);
}
