//! The read cache. C1: `get` by id served from the process, against hand-written sqlx reading
//! the database on the same pool, with the latency of one hit and the memory a cached row
//! takes. C2: the same served from Redis. C3: a write-heavy mix (four updates to one read)
//! with the cache on, against the same mix on a `Db` without one.

use std::time::Instant;

use repo_core::cache::CacheOptions;
use repo_core::prelude::*;

use crate::data::{ItemStatus, Rng};
use crate::measure::{Sample, heap_bytes, median, timed};
use crate::report::{Goal, Record};
use crate::workloads::{Ctx, Res};

/// A row of `bench_cached`: reads of it may be served from the cache.
#[derive(Debug, Clone, PartialEq, Repository, sqlx::FromRow)]
#[repo(table = "bench_cached", cache(capacity = 1_000_000, ttl_secs = 3_600))]
pub struct Cached {
    #[repo(primary_key)]
    pub id: i64,
    pub sku: String,
    pub name: String,
    pub qty: i32,
    pub price_cents: i64,
    pub status: ItemStatus,
    #[repo(updated_at)]
    pub updated_at: DateTime<Utc>,
}

fn row(id: i64) -> Cached {
    Cached {
        id,
        sku: format!("c-{id:08}"),
        name: format!("cached item {id}"),
        qty: (id % 100) as i32,
        price_cents: id * 7 % 100_000,
        status: if id % 3 == 0 {
            ItemStatus::Active
        } else {
            ItemStatus::Draft
        },
        updated_at: repo_core::repository::now(),
    }
}

/// A `Db` on `url` with the cache `options` (and enough connections for the workloads).
async fn connect(url: &str, options: Option<CacheOptions>) -> Res<Db> {
    let mut db_options = DbOptions::new().max_connections(20);
    if let Some(options) = options {
        db_options = db_options.cache(options);
    }
    Ok(Db::connect_with(url, db_options).await?)
}

/// A fresh `bench_cached` of `n` rows on `db`.
async fn fill(db: &Db, n: u64) -> Res<()> {
    db.drop_schema::<Cached>().await?;
    db.create_schema::<Cached>().await?;
    let rows: Vec<Cached> = (1..=n as i64).map(row).collect();
    for chunk in rows.chunks(5_000) {
        CachedRepository::new(db).bulk_insert(chunk).await?;
    }
    db.cache().invalidate_all().await;
    Ok(())
}

/// `get` of each id by hand-written sqlx on `db`'s pool.
async fn sqlx_gets(db: &Db, ids: &[i64]) -> Res<Vec<Cached>> {
    const COLUMNS: &str = "id, sku, name, qty, price_cents, status, updated_at";
    let mut out = Vec::with_capacity(ids.len());
    if let Some(pool) = db.postgres_pool() {
        let sql = format!("SELECT {COLUMNS} FROM bench_cached WHERE id = $1");
        for &id in ids {
            out.push(
                sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(id)
                    .fetch_one(pool)
                    .await?,
            );
        }
    } else if let Some(pool) = db.mysql_pool() {
        let sql = format!("SELECT {COLUMNS} FROM bench_cached WHERE id = ?");
        for &id in ids {
            out.push(
                sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(id)
                    .fetch_one(pool)
                    .await?,
            );
        }
    } else if let Some(pool) = db.sqlite_pool() {
        let sql = format!("SELECT {COLUMNS} FROM bench_cached WHERE id = ?");
        for &id in ids {
            out.push(
                sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                    .bind(id)
                    .fetch_one(pool)
                    .await?,
            );
        }
    }
    Ok(out)
}

/// `get` of each id through the framework; the rows and each call's latency in µs.
async fn framework_gets(db: &Db, ids: &[i64]) -> Res<(Vec<Cached>, Vec<f64>)> {
    let repo = CachedRepository::new(db);
    let mut rows = Vec::with_capacity(ids.len());
    let mut latencies = Vec::with_capacity(ids.len());
    for &id in ids {
        let start = Instant::now();
        let found = repo.get(id).await?;
        latencies.push(start.elapsed().as_secs_f64() * 1e6);
        rows.push(found);
    }
    Ok((rows, latencies))
}

fn same(name: &str, backend: &str, a: &[Cached], b: &[Cached]) -> Res<()> {
    if a == b {
        Ok(())
    } else {
        Err(format!("{name} on {backend}: the cache served other rows than the database").into())
    }
}

/// The ids a read workload asks for: `n` of them over `rows` rows.
fn ids(n: u64, rows: u64, seed: u64) -> Vec<i64> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.below(rows) as i64 + 1).collect()
}

/// C1 (in-process) or C2 (Redis): `get` by id, every call a hit, against sqlx.
pub async fn hits(ctx: &Ctx<'_>, url: &str, redis: Option<&str>) -> Res<Record> {
    let name = if redis.is_some() {
        "C2 cached get, Redis"
    } else {
        "C1 cached get, process"
    };
    let options = redis.map_or_else(CacheOptions::in_process, |url| {
        CacheOptions::redis(url).namespace("repo-bench")
    });
    let db = connect(url, Some(options)).await?;
    let rows = ctx.size(20_000);
    fill(&db, rows).await?;
    let ids = ids(ctx.size(20_000), rows, 21);
    let heap_before = heap_bytes();
    // Warm: every row read once from the database and kept (what was read is dropped before
    // the heap is counted again).
    {
        let (warm, _) = framework_gets(&db, &ids).await?;
        same(name, ctx.backend, &warm, &sqlx_gets(&db, &ids).await?)?;
    }
    let held = db.cache().stats().await.local_rows;
    // The heap the warm-up left held, over the rows it left cached.
    let bytes_per_row =
        (redis.is_none() && held > 0).then(|| (heap_bytes() - heap_before) as f64 / held as f64);
    let (mut fw, mut base, mut latencies) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..ctx.runs {
        let (a, fs) = timed(framework_gets(&db, &ids)).await;
        let (b, bs) = timed(sqlx_gets(&db, &ids)).await;
        let ((a, lat), b) = (a?, b?);
        same(name, ctx.backend, &a, &b)?;
        latencies.extend(lat);
        ctx.progress(name, run, fs, bs, "sqlx");
        fw.push(fs);
        base.push(bs);
    }
    let stats = db.cache().stats().await;
    let misses = stats.misses;
    if misses > ids.len() as u64 {
        return Err(format!(
            "{name} on {}: {misses} misses for {} distinct reads",
            ctx.backend,
            ids.len()
        )
        .into());
    }
    let p50 = median(latencies);
    let goal = if redis.is_some() {
        Goal::Latency { p50_us: 200.0 }
    } else {
        Goal::Hits {
            throughput: 20.0,
            p50_us: 2.0,
        }
    };
    let record = Record::new(name, ctx.backend, "sqlx", ids.len() as u64, fw, base, goal)
        .with_latency(p50)
        .with_bytes_per_row(bytes_per_row);
    db.drop_schema::<Cached>().await?;
    db.close().await;
    Ok(record)
}

/// One operation of the write-heavy mix on `db`: a read of `id`, or an update of its row.
async fn mix(db: &Db, ids: &[i64]) -> Res<u64> {
    let repo = CachedRepository::new(db);
    let mut sum = 0u64;
    for (i, &id) in ids.iter().enumerate() {
        if i % 5 == 0 {
            sum = sum.wrapping_add(repo.get(id).await?.qty as u64);
        } else {
            let mut changed = row(id);
            changed.qty = (i % 1_000) as i32;
            sum = sum.wrapping_add(repo.update(&changed).await?.qty as u64);
        }
    }
    Ok(sum)
}

/// C3: the write-heavy mix with the cache `options`, against the same mix without a cache.
pub async fn write_mix(ctx: &Ctx<'_>, url: &str, options: CacheOptions, tier: &str) -> Res<Record> {
    let name = format!("C3 write mix, {tier}");
    let cached = connect(url, Some(options)).await?;
    // An in-memory SQLite database is its pool's alone: each side then has its own.
    let own = url.contains(":memory:");
    let plain = connect(url, None).await?;
    let rows = ctx.size(5_000);
    fill(&cached, rows).await?;
    if own {
        fill(&plain, rows).await?;
    }
    let ids = ids(ctx.size(5_000), rows, 23);
    let warm = &ids[..ids.len().min(100)];
    mix(&cached, warm).await?;
    mix(&plain, warm).await?;
    let (mut fw, mut base) = (Vec::<Sample>::new(), Vec::<Sample>::new());
    let fresh: Vec<Cached> = (1..=rows as i64).map(row).collect();
    // Each side starts from the same rows (one table when they share the database).
    let reset = async |db: &Db| -> Res<()> {
        for chunk in fresh.chunks(5_000) {
            CachedRepository::new(db).bulk_upsert(chunk).await?;
        }
        Ok(())
    };
    for run in 0..ctx.runs {
        // Each side goes first in every other run, so neither always meets the other's
        // leftovers (the database's and the allocator's).
        let ((a, fs), (b, bs)) = if run % 2 == 0 {
            reset(&cached).await?;
            let cached_side = timed(mix(&cached, &ids)).await;
            reset(&plain).await?;
            (cached_side, timed(mix(&plain, &ids)).await)
        } else {
            reset(&plain).await?;
            let plain_side = timed(mix(&plain, &ids)).await;
            reset(&cached).await?;
            (timed(mix(&cached, &ids)).await, plain_side)
        };
        if a? != b? {
            return Err(format!("{name} on {}: the mixes read different rows", ctx.backend).into());
        }
        ctx.progress(&name, run, fs, bs, "no cache");
        fw.push(fs);
        base.push(bs);
    }
    cached.drop_schema::<Cached>().await?;
    if own {
        plain.drop_schema::<Cached>().await?;
    }
    cached.close().await;
    plain.close().await;
    let goal = if tier == "process" {
        Goal::Wall(1.05)
    } else {
        Goal::None
    };
    Ok(Record::new(
        &name,
        ctx.backend,
        "no cache",
        ids.len() as u64,
        fw,
        base,
        goal,
    ))
}
