//! Two instances of a service sharing one database and one Redis, each with a read cache in
//! its process in front of Redis: a dataset read by one is served to the other from Redis, and
//! a write through either is seen by both.
//!
//! Needs Redis (`REDIS_URL`, default `redis://127.0.0.1:6379`). The database is a SQLite file
//! in the temp directory, or the one named by `DATABASE_URL`.

use std::time::{Duration, Instant};

use repo_core::cache::CacheOptions;
use repo_core::prelude::*;
use repo_domain::{Dataset, DatasetRepository, migrate};

#[tokio::main]
async fn main() -> repo_core::Result<()> {
    let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        let file = std::env::temp_dir().join("repo-example-shared-cache.db");
        let _ = std::fs::remove_file(&file);
        format!("sqlite://{}?mode=rwc", file.display())
    });
    let options = || {
        DbOptions::new().cache(
            CacheOptions::in_process_and_redis(redis.clone()).namespace("example-shared-cache"),
        )
    };
    // Two instances: in production, two processes on two machines.
    let first = Db::connect_with(&url, options()).await?;
    let second = Db::connect_with(&url, options()).await?;
    migrate(&first).await?;
    first.cache().invalidate_all().await;

    let on_first = DatasetRepository::new(&first);
    let on_second = DatasetRepository::new(&second);
    let stored = on_first
        .upsert(&Dataset::new("kaggle", "owner/cached", "Before"))
        .await?;

    // The first instance reads it from the database and keeps it, in its process and in Redis;
    // the second finds it in Redis.
    title(&on_first).await?;
    title(&on_second).await?;
    title(&on_second).await?;
    let (a, b) = (first.cache().stats().await, second.cache().stats().await);
    println!(
        "first:  {} misses, {} Redis hits, {} hits in process",
        a.misses, a.redis_hits, a.local_hits
    );
    println!(
        "second: {} misses, {} Redis hits, {} hits in process",
        b.misses, b.redis_hits, b.local_hits
    );

    // A write through the first instance: once it returns, the first never serves the old
    // title, and the second stops within the channel's delivery time.
    on_first
        .update(&Dataset {
            title: "After".into(),
            ..stored
        })
        .await?;
    let written = Instant::now();
    assert_eq!(title(&on_first).await?.as_deref(), Some("After"));
    loop {
        let title = title(&on_second).await?;
        if title.as_deref() == Some("After") {
            println!(
                "the second instance saw the write after {:?}",
                written.elapsed()
            );
            break;
        }
        assert!(
            written.elapsed() < Duration::from_secs(1),
            "stale for over a second"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(())
}

/// The title of the dataset the example writes, as `repo` reads it.
async fn title(repo: &DatasetRepository<'_>) -> repo_core::Result<Option<String>> {
    let dataset = repo.get_by_external_id("kaggle", "owner/cached").await?;
    Ok(dataset.map(|d| d.title))
}
