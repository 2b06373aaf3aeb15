//! The read cache: reads of `#[repo(cache)]` entities served from the process, from Redis or
//! from both, and never stale once a write through the framework returned.

use repo_core::cache::CacheOptions;
use repo_core::prelude::*;
use repo_core::{Backend, DbOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq, DbEnum)]
pub enum Stage {
    Open,
    Done,
}

#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(
    table = "cached_items",
    unique(sku),
    cache(capacity = 1_000, ttl_secs = 60)
)]
pub struct Item {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub qty: i32,
    pub stage: Stage,
    pub tags: Option<serde_json::Value>,
    #[repo(updated_at)]
    pub updated_at: DateTime<Utc>,
}

fn item(sku: &str, qty: i32) -> NewItem {
    NewItem {
        sku: sku.to_owned(),
        name: format!("item {sku}"),
        qty,
        stage: Stage::Open,
        tags: Some(serde_json::json!(["a", sku])),
    }
}

async fn smoke(backend: Backend, tier: CacheOptions, test: &str) {
    let url = repo_tests::fresh_url(backend, test).await;
    let db = Db::connect_with(&url, DbOptions::new().cache(tier))
        .await
        .unwrap();
    let plain = Db::connect(&url).await.unwrap();
    db.create_schema::<Item>().await.unwrap();
    let items = ItemRepository::new(&db);
    let a = items.insert_new(item("a", 1)).await.unwrap();
    assert_eq!(items.get(a.id).await.unwrap(), a);
    assert_eq!(items.get(a.id).await.unwrap(), a);
    let stats = db.cache().stats().await;
    assert_eq!(stats.local_hits + stats.redis_hits, 1, "{stats:?}");
    let mut changed = a.clone();
    changed.qty = 5;
    let changed = items.update(&changed).await.unwrap();
    assert_eq!(items.get(a.id).await.unwrap(), changed);
    assert_eq!(
        items.find_all(Filter::all()).await.unwrap(),
        vec![changed.clone()]
    );
    assert_eq!(
        items.find_all(Filter::all()).await.unwrap(),
        vec![changed.clone()]
    );
    assert_eq!(items.count(Filter::all()).await.unwrap(), 1);
    items.insert_new(item("b", 2)).await.unwrap();
    assert_eq!(items.count(Filter::all()).await.unwrap(), 2);
    let fresh = ItemRepository::new(&plain)
        .find_all(Filter::all())
        .await
        .unwrap();
    assert_eq!(items.find_all(Filter::all()).await.unwrap(), fresh);
    println!("{backend:?}: {:?}", db.cache().stats().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_all() {
    let redis = repo_tests::redis_url().await;
    let ns = repo_tests::cache_namespace();
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::MySql] {
        smoke(backend, CacheOptions::in_process(), "cache_smoke_local").await;
        smoke(
            backend,
            CacheOptions::redis(&redis).namespace(&ns),
            "cache_smoke_redis",
        )
        .await;
        smoke(
            backend,
            CacheOptions::in_process_and_redis(&redis).namespace(&ns),
            "cache_smoke_both",
        )
        .await;
    }
}
