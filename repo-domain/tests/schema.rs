//! The versioned migrations agree with the entity declarations, on every backend: `Db::verify`
//! finds no difference between any entity and its migrated table, and migrating twice changes
//! nothing.

use repo_core::{BaseRepository as _, Db, Declaration};
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
