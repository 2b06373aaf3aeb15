//! The wide row: W1, W2 and W4 again on a 13-column entity with JSON, nullable text, a bool
//! and two timestamps, the shape of an application's event or incident table, where decoding
//! and binding weigh more than on `bench_items`. W4 here filters on two columns and pages
//! newest first, served by an index that ends with the order's column.

use chrono::{DateTime, TimeDelta, Utc};
use repo_core::prelude::*;
use serde_json::{Value as Json, json};

use crate::data::{Check, Rng};
use crate::measure::timed;
use crate::report::Record;
use crate::workloads::{Ctx, PARITY, Res, expect, read_runs};

/// One row of `bench_events`: what a monitoring service records. `occurred_at` repeats in
/// runs of three rows, so pages depend on the key breaking ties.
#[derive(Debug, Clone, PartialEq, Repository, sqlx::FromRow)]
#[repo(table = "bench_events", index(severity, resolved, occurred_at))]
pub struct Event {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub source: String,
    pub kind: String,
    pub severity: String,
    pub title: String,
    pub host: String,
    pub body: Option<String>,
    pub assignee: Option<String>,
    pub payload: Json,
    pub resolved: bool,
    pub occurrences: i64,
    pub occurred_at: DateTime<Utc>,
    #[repo(updated_at)]
    pub updated_at: DateTime<Utc>,
}

const SEVERITIES: [&str; 4] = ["debug", "info", "warning", "error"];

/// Event number `i`; `seed` varies the values.
fn event(i: u64, rng: &mut Rng) -> Event {
    let severity = SEVERITIES[rng.below(4) as usize];
    let epoch = DateTime::UNIX_EPOCH;
    Event {
        id: 0,
        source: format!("service-{}", rng.below(12)),
        kind: ["latency", "error-rate", "saturation", "deploy"][rng.below(4) as usize].to_owned(),
        severity: severity.to_owned(),
        title: format!("{severity} on host {} ({i})", rng.below(40)),
        host: format!("host-{:03}.eu-west.internal", rng.below(40)),
        body: (rng.below(3) != 0).then(|| format!("observed {} over the window", rng.below(1000))),
        assignee: (rng.below(2) == 0).then(|| format!("oncall-{}", rng.below(8))),
        payload: json!({
            "n": i,
            "p99_ms": rng.below(5_000),
            "tags": ["prod", format!("shard-{}", rng.below(16))],
            "window": { "seconds": 300, "samples": rng.below(10_000) },
        }),
        resolved: rng.below(3) == 0,
        occurrences: rng.below(1_000_000) as i64,
        // Three rows to a second, from a fixed start.
        occurred_at: epoch + TimeDelta::seconds(1_700_000_000 + (i / 3) as i64),
        updated_at: epoch,
    }
}

/// Events `0..n` from `seed`.
fn events(n: u64, seed: u64) -> Vec<Event> {
    let mut rng = Rng::new(seed);
    (0..n).map(|i| event(i, &mut rng)).collect()
}

/// What a checksum covers of an event: everything but `updated_at`, which each contender of
/// W2 writes at its own time.
fn add_event(check: &mut Check, event: &Event, with_updated_at: bool) {
    let mut text = String::with_capacity(160);
    for part in [
        &event.source,
        &event.kind,
        &event.severity,
        &event.title,
        &event.host,
    ] {
        text.push_str(part);
        text.push('\0');
    }
    for part in [&event.body, &event.assignee] {
        text.push_str(part.as_deref().unwrap_or("\u{1}"));
        text.push('\0');
    }
    let mut numbers = vec![
        event.id as u64,
        u64::from(event.resolved),
        event.occurrences as u64,
        event.occurred_at.timestamp_micros() as u64,
        event.payload["n"].as_u64().unwrap_or(u64::MAX),
        event.payload["window"]["samples"]
            .as_u64()
            .unwrap_or(u64::MAX),
    ];
    if with_updated_at {
        numbers.push(event.updated_at.timestamp_micros() as u64);
    }
    check.add_parts(text.as_bytes(), &numbers);
}

/// A fresh `bench_events` table.
async fn reset(db: &Db) -> repo_core::Result<()> {
    db.drop_schema::<Event>().await?;
    db.create_schema::<Event>().await
}

/// The checksum of every row of `bench_events`, read back through the repository.
async fn read_back(db: &Db) -> repo_core::Result<Check> {
    let mut check = Check::default();
    for event in EventRepository::new(db).find_all(Filter::all()).await? {
        add_event(&mut check, &event, false);
    }
    Ok(check)
}

/// The 20k-row `bench_events` W1 and W4 read; its row count.
pub async fn fill_read_table(ctx: &Ctx<'_>) -> Res<u64> {
    let n = ctx.size(20_000);
    reset(ctx.db).await?;
    let session = ctx.db.begin().await?;
    EventRepository::new(&session)
        .bulk_insert(&events(n, 11))
        .await?;
    session.commit().await?;
    Ok(n)
}

/// Run `$body` with `$pool` bound to the database's pool and `$hand` to the wide row's
/// hand-written contender for its backend.
macro_rules! on_pool {
    ($db:expr, $pool:ident, $hand:ident => $body:expr) => {
        if let Some($pool) = $db.postgres_pool() {
            use self::hand::postgres as $hand;
            $body
        } else if let Some($pool) = $db.sqlite_pool() {
            use self::hand::sqlite as $hand;
            $body
        } else if let Some($pool) = $db.mysql_pool() {
            use self::hand::mysql as $hand;
            $body
        } else {
            unreachable!("the framework runs on PostgreSQL, SQLite or MariaDB")
        }
    };
}

/// W1 on the wide row: `find_by_id` of random ids.
pub async fn w1_get_by_id(ctx: &Ctx<'_>, table_rows: u64) -> Res<Record> {
    const NAME: &str = "W1 get_by_id wide";
    let mut rng = Rng::new(12);
    let ids: Vec<i64> = (0..ctx.size(20_000))
        .map(|_| rng.below(table_rows) as i64 + 1)
        .collect();
    let repo = EventRepository::new(ctx.db);
    let framework = async |ids: &[i64]| -> Res<Check> {
        let mut check = Check::default();
        for &id in ids {
            if let Some(event) = repo.find_by_id(id).await? {
                add_event(&mut check, &event, true);
            }
        }
        Ok(check)
    };
    let sqlx = async |ids: &[i64]| -> Res<Check> {
        Ok(on_pool!(ctx.db, pool, hand => hand::get_by_id(pool, ids).await?))
    };
    let warm = &ids[..ids.len().min(100)];
    let reads = read_runs(ctx, NAME, warm, &ids[..], framework, sqlx).await?;
    expect(
        NAME,
        ctx.backend,
        "rows found",
        reads.rows,
        ids.len() as u64,
    )?;
    Ok(Record::new(
        NAME,
        ctx.backend,
        "sqlx",
        reads.rows,
        reads.framework,
        reads.base,
        PARITY,
    ))
}

/// W2 on the wide row: insert one event at a time, autocommit, each returning its row.
pub async fn w2_insert(ctx: &Ctx<'_>) -> Res<Record> {
    const NAME: &str = "W2 insert wide";
    let n = ctx.size(5_000);
    let rows = events(n, 13);
    let framework = async || -> Res<Check> {
        let repo = EventRepository::new(ctx.db);
        let mut check = Check::default();
        for event in &rows {
            add_event(&mut check, &repo.insert(event).await?, false);
        }
        Ok(check)
    };
    let sqlx = async || -> Res<Check> {
        Ok(on_pool!(ctx.db, pool, hand => hand::insert_each(pool, &rows).await?))
    };
    let (mut fw, mut base) = (Vec::new(), Vec::new());
    for run in 0..ctx.runs {
        reset(ctx.db).await?;
        let (a, fs) = Box::pin(timed(framework())).await;
        let a = a?;
        ctx.same(NAME, run, a, read_back(ctx.db).await?)?;
        reset(ctx.db).await?;
        let (b, bs) = Box::pin(timed(sqlx())).await;
        let b = b?;
        ctx.same(NAME, run, b, read_back(ctx.db).await?)?;
        ctx.same(NAME, run, a, b)?;
        expect(NAME, ctx.backend, "rows stored", a.rows, n)?;
        ctx.progress(NAME, run, fs, bs, "sqlx");
        fw.push(fs);
        base.push(bs);
    }
    Ok(Record::new(NAME, ctx.backend, "sqlx", n, fw, base, PARITY))
}

/// W4 on the wide row: the open events of one severity, newest first, a page of 50 at
/// random offsets, and their count.
pub async fn w4_find_page(ctx: &Ctx<'_>) -> Res<Record> {
    const NAME: &str = "W4 page+count wide";
    const LIMIT: u64 = 50;
    const SEVERITY: &str = "warning";
    let mut rng = Rng::new(14);
    let max_offset = ctx.size(3_000);
    let offsets: Vec<u64> = (0..ctx.size(2_000))
        .map(|_| rng.below(max_offset + 1))
        .collect();
    let repo = EventRepository::new(ctx.db);
    let framework = async |offsets: &[u64]| -> Res<Check> {
        let mut check = Check::default();
        for &offset in offsets {
            let page = repo
                .find(
                    Event::SEVERITY.eq(SEVERITY).and(Event::RESOLVED.eq(false)),
                    PageRequest::new(LIMIT)
                        .offset(offset)
                        .order_by(Event::OCCURRED_AT.desc()),
                )
                .await?;
            check.mix(page.total);
            for event in &page.items {
                add_event(&mut check, event, true);
            }
        }
        Ok(check)
    };
    let sqlx = async |offsets: &[u64]| -> Res<Check> {
        Ok(on_pool!(ctx.db, pool, hand =>
            hand::pages(pool, offsets, LIMIT, SEVERITY).await?))
    };
    let warm = &offsets[..offsets.len().min(20)];
    let reads = read_runs(ctx, NAME, warm, &offsets[..], framework, sqlx).await?;
    Ok(Record::new(
        NAME,
        ctx.backend,
        "sqlx",
        reads.rows,
        reads.framework,
        reads.base,
        PARITY,
    ))
}

/// The hand-written contender for the wide row, as [`crate::hand`] is for items.
mod hand {
    use std::sync::LazyLock;

    use crate::hand::positional;

    macro_rules! event_columns {
        () => {
            "id, source, kind, severity, title, host, body, assignee, payload, resolved, \
             occurrences, occurred_at, updated_at"
        };
    }

    const GET_BY_ID: &str = concat!(
        "SELECT ",
        event_columns!(),
        " FROM bench_events WHERE id = $1"
    );

    const INSERT: &str = concat!(
        "INSERT INTO bench_events (source, kind, severity, title, host, body, assignee, \
         payload, resolved, occurrences, occurred_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING ",
        event_columns!()
    );

    const COUNT: &str =
        "SELECT COUNT(*) FROM bench_events WHERE severity = $1 AND resolved = false";

    /// Newest first; the id breaks ties in the same direction, so an index on
    /// `(severity, resolved, occurred_at)` is read backwards without a sort.
    const PAGE: &str = concat!(
        "SELECT ",
        event_columns!(),
        " FROM bench_events WHERE severity = $1 AND resolved = false \
         ORDER BY occurred_at DESC, id DESC LIMIT $2 OFFSET $3"
    );

    pub struct Sql {
        get_by_id: &'static str,
        insert: &'static str,
        count: &'static str,
        page: &'static str,
    }

    static POSTGRES_SQL: Sql = Sql {
        get_by_id: GET_BY_ID,
        insert: INSERT,
        count: COUNT,
        page: PAGE,
    };

    /// MariaDB has no `INSERT … RETURNING` before 10.5; this one (10.6 or later) has.
    static POSITIONAL_SQL: LazyLock<Sql> = LazyLock::new(|| Sql {
        get_by_id: positional(GET_BY_ID),
        insert: positional(INSERT),
        count: positional(COUNT),
        page: positional(PAGE),
    });

    macro_rules! contender {
        ($module:ident, $db:ty, $sql:expr, $timestamp:path) => {
            pub mod $module {
                use super::super::{Event, add_event};
                use super::Sql;
                use crate::data::Check;

                type Pool = sqlx::Pool<$db>;

                fn sql() -> &'static Sql {
                    &$sql
                }

                pub async fn get_by_id(pool: &Pool, ids: &[i64]) -> sqlx::Result<Check> {
                    let mut check = Check::default();
                    for &id in ids {
                        let event: Option<Event> = sqlx::query_as(sql().get_by_id)
                            .bind(id)
                            .fetch_optional(pool)
                            .await?;
                        if let Some(event) = event {
                            add_event(&mut check, &event, true);
                        }
                    }
                    Ok(check)
                }

                pub async fn insert_each(pool: &Pool, events: &[Event]) -> sqlx::Result<Check> {
                    let mut check = Check::default();
                    for event in events {
                        let now = $timestamp(repo_core::repository::now());
                        let row: Event = sqlx::query_as(sql().insert)
                            .bind(event.source.as_str())
                            .bind(event.kind.as_str())
                            .bind(event.severity.as_str())
                            .bind(event.title.as_str())
                            .bind(event.host.as_str())
                            .bind(event.body.as_deref())
                            .bind(event.assignee.as_deref())
                            .bind(sqlx::types::Json(&event.payload))
                            .bind(event.resolved)
                            .bind(event.occurrences)
                            .bind($timestamp(event.occurred_at))
                            .bind(now)
                            .fetch_one(pool)
                            .await?;
                        add_event(&mut check, &row, false);
                    }
                    Ok(check)
                }

                pub async fn pages(
                    pool: &Pool,
                    offsets: &[u64],
                    limit: u64,
                    severity: &str,
                ) -> sqlx::Result<Check> {
                    let mut check = Check::default();
                    for &offset in offsets {
                        let total: i64 = sqlx::query_scalar(sql().count)
                            .bind(severity)
                            .fetch_one(pool)
                            .await?;
                        check.mix(total as u64);
                        if total as u64 > offset {
                            let events: Vec<Event> = sqlx::query_as(sql().page)
                                .bind(severity)
                                .bind(limit as i64)
                                .bind(offset as i64)
                                .fetch_all(pool)
                                .await?;
                            for event in &events {
                                add_event(&mut check, event, true);
                            }
                        }
                    }
                    Ok(check)
                }
            }
        };
    }

    contender!(
        postgres,
        sqlx::Postgres,
        super::POSTGRES_SQL,
        crate::hand::postgres_timestamp
    );
    contender!(
        sqlite,
        sqlx::Sqlite,
        super::POSITIONAL_SQL,
        crate::hand::sqlite_timestamp
    );
    contender!(
        mysql,
        sqlx::MySql,
        super::POSITIONAL_SQL,
        crate::hand::mysql_timestamp
    );
}
