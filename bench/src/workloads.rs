//! The workloads: each runs the same deterministic data through the framework and through
//! hand-written sqlx on the same pool, interleaved, and checks both left the same result.

use futures_util::future::join_all;
use repo_core::prelude::*;
use repo_core::repository::now;
use repo_domain::{DEFAULT_LEASE, Dataset, DatasetRepository, EnrichmentStatus};

use crate::data::{Check, Cover, Item, ItemRepository, ItemStatus, Rng, fill_items, items};
use crate::data::{read_back, reset_items};
use crate::measure::{Sample, timed};
use crate::report::{Goal, Record};

pub type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Run `$body` with `$pool` bound to the database's pool and `$hand` to the hand-written
/// contender for its backend.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        if let Some($pool) = $db.postgres_pool() {
            $body
        } else if let Some($pool) = $db.sqlite_pool() {
            $body
        } else if let Some($pool) = $db.mysql_pool() {
            $body
        } else {
            unreachable!("the framework runs on PostgreSQL, SQLite or MariaDB")
        }
    };
    ($db:expr, $pool:ident, $hand:ident => $body:expr) => {
        if let Some($pool) = $db.postgres_pool() {
            use crate::hand::postgres as $hand;
            $body
        } else if let Some($pool) = $db.sqlite_pool() {
            use crate::hand::sqlite as $hand;
            $body
        } else if let Some($pool) = $db.mysql_pool() {
            use crate::hand::mysql as $hand;
            $body
        } else {
            unreachable!("the framework runs on PostgreSQL, SQLite or MariaDB")
        }
    };
}

/// What every workload needs.
pub struct Ctx<'a> {
    pub db: &'a Db,
    pub backend: &'a str,
    pub runs: usize,
    pub scale: f64,
}

impl Ctx<'_> {
    /// `base` rows at scale 1.0, scaled.
    pub fn size(&self, base: u64) -> u64 {
        std::cmp::max((base as f64 * self.scale).round() as u64, 1)
    }

    pub fn progress(
        &self,
        workload: &str,
        run: usize,
        framework: Sample,
        base: Sample,
        what: &str,
    ) {
        eprintln!(
            "[{}] {workload} run {}/{}: framework {:.3} s (cpu {:.3} s), {what} {:.3} s (cpu {:.3} s)",
            self.backend,
            run + 1,
            self.runs,
            framework.wall,
            framework.cpu,
            base.wall,
            base.cpu,
        );
    }

    /// Fail unless both contenders saw the same rows.
    pub fn same(&self, workload: &str, run: usize, framework: Check, sqlx: Check) -> Res<()> {
        if framework == sqlx {
            return Ok(());
        }
        Err(format!(
            "{workload} on {} run {}: results differ: the framework gave {} rows (checksum \
             {:016x}), sqlx {} rows (checksum {:016x})",
            self.backend,
            run + 1,
            framework.rows,
            framework.sum,
            sqlx.rows,
            sqlx.sum
        )
        .into())
    }
}

pub fn expect(workload: &str, backend: &str, what: &str, got: u64, want: u64) -> Res<()> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{workload} on {backend}: {what}: expected {want}, got {got}").into())
    }
}

/// What [`read_runs`] measured: each contender's samples, run by run, and the rows the
/// framework's last run read.
pub struct Reads {
    pub framework: Vec<Sample>,
    pub base: Vec<Sample>,
    pub rows: u64,
}

/// A read workload: both contenders on `warm` (connections, prepared statements), then on
/// `input`, interleaved run by run, each run checked to give the same rows as the other
/// contender and as the run before.
pub async fn read_runs<I: ?Sized>(
    ctx: &Ctx<'_>,
    name: &str,
    warm: &I,
    input: &I,
    framework: impl AsyncFn(&I) -> Res<Check>,
    sqlx: impl AsyncFn(&I) -> Res<Check>,
) -> Res<Reads> {
    ctx.same(name, 0, framework(warm).await?, sqlx(warm).await?)?;
    let mut reads = Reads {
        framework: Vec::new(),
        base: Vec::new(),
        rows: 0,
    };
    for run in 0..ctx.runs {
        let (a, fs) = timed(framework(input)).await;
        let (b, bs) = timed(sqlx(input)).await;
        let (a, b) = (a?, b?);
        ctx.same(name, run, a, b)?;
        if run > 0 {
            expect(name, ctx.backend, "rows of this run", a.rows, reads.rows)?;
        }
        reads.rows = a.rows;
        ctx.progress(name, run, fs, bs, "sqlx");
        reads.framework.push(fs);
        reads.base.push(bs);
    }
    Ok(reads)
}

/// W1, W2 and W4's bound: wall and client CPU against hand-written sqlx.
pub const PARITY: Goal = Goal::Ratios {
    wall: 1.05,
    cpu: 1.10,
};

/// The 20k-row table W1 and W4 read.
pub async fn fill_read_table(ctx: &Ctx<'_>) -> Res<u64> {
    let n = ctx.size(20_000);
    fill_items(ctx.db, &items(n, 0, 1)).await?;
    Ok(n)
}

/// W1: `find_by_id` of random ids over the table.
pub async fn w1_get_by_id(ctx: &Ctx<'_>, table_rows: u64) -> Res<Record> {
    const NAME: &str = "W1 get_by_id";
    let mut rng = Rng::new(2);
    let ids: Vec<i64> = (0..ctx.size(20_000))
        .map(|_| rng.below(table_rows) as i64 + 1)
        .collect();
    let repo = ItemRepository::new(ctx.db);
    let framework = async |ids: &[i64]| -> Res<Check> {
        let mut check = Check::default();
        for &id in ids {
            if let Some(item) = repo.find_by_id(id).await? {
                check.add_item(&item, Cover::ALL);
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

/// W4: a filtered page of 50 and the count, at random offsets up to 5k.
pub async fn w4_find_page(ctx: &Ctx<'_>) -> Res<Record> {
    const NAME: &str = "W4 find page+count";
    const LIMIT: u64 = 50;
    const MIN_QTY: i32 = 10;
    let status = ItemStatus::Active;
    let mut rng = Rng::new(4);
    let max_offset = ctx.size(5_000);
    let offsets: Vec<u64> = (0..ctx.size(2_000))
        .map(|_| rng.below(max_offset + 1))
        .collect();
    let repo = ItemRepository::new(ctx.db);
    let framework = async |offsets: &[u64]| -> Res<Check> {
        let mut check = Check::default();
        for &offset in offsets {
            let page = repo
                .find(
                    Item::STATUS.eq(status).and(Item::QTY.gte(MIN_QTY)),
                    PageRequest::new(LIMIT)
                        .offset(offset)
                        .order_by(Item::PRICE_CENTS.asc()),
                )
                .await?;
            check.mix(page.total);
            for item in &page.items {
                check.add_item(item, Cover::ALL);
            }
        }
        Ok(check)
    };
    let sqlx = async |offsets: &[u64]| -> Res<Check> {
        Ok(on_pool!(ctx.db, pool, hand =>
            hand::pages(pool, offsets, LIMIT, status, MIN_QTY).await?))
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

/// Check that `stored` are `items` as inserted, with a generated id.
fn check_stored(name: &str, backend: &str, items: &[Item], stored: &[Item]) -> Res<()> {
    expect(
        name,
        backend,
        "rows returned",
        stored.len() as u64,
        items.len() as u64,
    )?;
    for (item, row) in items.iter().zip(stored) {
        if row.id <= 0 || row.sku != item.sku || row.qty != item.qty {
            return Err(format!("{name} on {backend}: stored row {row:?} is not {item:?}").into());
        }
    }
    Ok(())
}

/// W2 and S1: insert rows one at a time, autocommit (W2) or in one unit of work (S1).
pub async fn single_inserts(ctx: &Ctx<'_>, in_session: bool) -> Res<Record> {
    let name = if in_session {
        "S1 insert in session"
    } else {
        "W2 insert autocommit"
    };
    let n = ctx.size(if in_session { 2_000 } else { 5_000 });
    let rows = items(n, 0, 3);
    let framework = async || -> Res<Vec<Item>> {
        let mut stored = Vec::with_capacity(rows.len());
        if in_session {
            let session = ctx.db.begin().await?;
            let repo = ItemRepository::new(&session);
            for item in &rows {
                stored.push(repo.insert(item).await?);
            }
            session.commit().await?;
        } else {
            let repo = ItemRepository::new(ctx.db);
            for item in &rows {
                stored.push(repo.insert(item).await?);
            }
        }
        Ok(stored)
    };
    let sqlx = async || -> Res<Vec<Item>> {
        Ok(on_pool!(ctx.db, pool, hand => if in_session {
            hand::insert_each_in_transaction(pool, &rows).await?
        } else {
            hand::insert_each(pool, &rows).await?
        }))
    };
    let (mut fw, mut base) = (Vec::new(), Vec::new());
    for run in 0..ctx.runs {
        reset_items(ctx.db).await?;
        let (a, fs) = Box::pin(timed(framework())).await;
        check_stored(name, ctx.backend, &rows, &a?)?;
        let a = read_back(ctx.db, Cover::WRITTEN).await?;
        reset_items(ctx.db).await?;
        let (b, bs) = Box::pin(timed(sqlx())).await;
        check_stored(name, ctx.backend, &rows, &b?)?;
        let b = read_back(ctx.db, Cover::WRITTEN).await?;
        ctx.same(name, run, a, b)?;
        expect(name, ctx.backend, "rows stored", a.rows, n)?;
        ctx.progress(name, run, fs, bs, "sqlx");
        fw.push(fs);
        base.push(bs);
    }
    // S1: the bound on what a session costs a statement (its savepoint).
    let goal = if in_session { Goal::Wall(1.25) } else { PARITY };
    Ok(Record::new(name, ctx.backend, "sqlx", n, fw, base, goal))
}

/// W3: upsert 100k rows, half of them on existing keys, in one transaction; an existing row
/// adds the incoming quantity to its own (`Conflict::add`), the other columns are replaced.
pub async fn w3_bulk_upsert(ctx: &Ctx<'_>) -> Res<Record> {
    const NAME: &str = "W3 bulk_upsert";
    let n = ctx.size(100_000);
    // The even-numbered half exists; the batch has every number, with new values.
    let existing: Vec<Item> = items(n, 0, 5).into_iter().step_by(2).collect();
    let batch = items(n, 1, 6);
    // As many rows a statement as the framework writes, which is as many as its parameters
    // allow; on MariaDB each of its rows has one more (the id looked up by sku). It matters
    // there: InnoDB reserves a statement's generated ids up front and drops those it did not
    // use, so the ids new rows get, which the checksum compares, depend on how the batch is cut.
    let width = match ctx.db.backend() {
        repo_core::Backend::MySql => crate::hand::INSERT_WIDTH + 1,
        _ => crate::hand::INSERT_WIDTH,
    };
    let per_statement = ctx.db.backend().max_bind_parameters() / width;
    // Existing rows add the incoming quantity to theirs (a conflict action), new rows take it.
    let add_qty = repo_core::Conflict::new().add(Item::QTY);
    let framework = async || -> Res<u64> {
        let session = ctx.db.begin().await?;
        let written = ItemRepository::new(&session)
            .bulk_upsert_with(&batch, add_qty.clone())
            .await?;
        session.commit().await?;
        Ok(written)
    };
    let sqlx = async || -> Res<u64> {
        Ok(on_pool!(ctx.db, pool, hand => hand::bulk_upsert(pool, &batch, per_statement).await?))
    };
    let (mut fw, mut base) = (Vec::new(), Vec::new());
    for run in 0..ctx.runs {
        fill_items(ctx.db, &existing).await?;
        let (a, fs) = Box::pin(timed(framework())).await;
        expect(NAME, ctx.backend, "framework rows written", a?, n)?;
        let a = read_back(ctx.db, Cover::WRITTEN).await?;
        fill_items(ctx.db, &existing).await?;
        let (b, bs) = Box::pin(timed(sqlx())).await;
        expect(NAME, ctx.backend, "sqlx rows written", b?, n)?;
        let b = read_back(ctx.db, Cover::WRITTEN).await?;
        ctx.same(NAME, run, a, b)?;
        expect(NAME, ctx.backend, "rows stored", a.rows, n)?;
        ctx.progress(NAME, run, fs, bs, "sqlx");
        fw.push(fs);
        base.push(bs);
    }
    // On PostgreSQL the bulk path is to beat multi-row VALUES clearly (binary COPY), at
    // most 1.2× its client CPU.
    let goal = if ctx.db.backend() == repo_core::Backend::Postgres {
        Goal::Ratios {
            wall: 0.7,
            cpu: 1.2,
        }
    } else {
        Goal::Wall(1.1)
    };
    Ok(Record::new(NAME, ctx.backend, "sqlx", n, fw, base, goal))
}

const SOURCE: &str = "bench";
const BATCH: u64 = 10;
const MAX_ATTEMPTS: i32 = 3;
/// Every this many datasets one starts held by a worker whose lease ran out an hour ago, so
/// each run also takes over expired leases (and counts their lost attempt).
const EXPIRED_EVERY: u64 = 100;

/// An empty `datasets` table (ids start at 1 again), then `n` datasets: pending, but for every
/// [`EXPIRED_EVERY`]th, held under a lease that ran out.
async fn fill_datasets(db: &Db, n: u64) -> Res<()> {
    on_pool!(db, pool => {
        let sql = match db.backend() {
            repo_core::Backend::Postgres => "TRUNCATE datasets RESTART IDENTITY CASCADE",
            // InnoDB refuses to truncate a table a foreign key refers to (enrichment_logs).
            repo_core::Backend::MySql => "DELETE FROM datasets; ALTER TABLE datasets AUTO_INCREMENT = 1",
            _ => "DELETE FROM datasets; DELETE FROM sqlite_sequence WHERE name = 'datasets'",
        };
        sqlx::raw_sql(sql).execute(pool).await?;
    });
    let lost_at = repo_core::repository::now() - chrono::TimeDelta::hours(1);
    let rows: Vec<Dataset> = (0..n)
        .map(|i| {
            let mut dataset = Dataset::new(SOURCE, &format!("ext-{i:08}"), &format!("dataset {i}"));
            if i.is_multiple_of(EXPIRED_EVERY) {
                dataset.enrichment_status = EnrichmentStatus::Enriching;
                dataset.claimed_by = Some("lost-worker".to_owned());
                dataset.claimed_at = Some(lost_at);
            }
            dataset
        })
        .collect();
    let session = db.begin().await?;
    DatasetRepository::new(&session).bulk_insert(&rows).await?;
    session.commit().await?;
    Ok(())
}

/// A claimed dataset as the claim returned it, and the worker that claimed it.
struct Claim {
    worker: String,
    id: i64,
    status: EnrichmentStatus,
    claimed_by: Option<String>,
    claimed_at: Option<DateTime<Utc>>,
    attempts: i32,
}

/// Every worker's claims.
type Claims = Vec<Claim>;

/// Check one claim against its row as stored: held by the worker that got it, under a lease
/// taken during the run (`during`), as the claim returned it. Whether it was seeded with an
/// expired lease (and so taken over, its lost attempt counted).
fn check_claim(
    claim: &Claim,
    row: Option<&Dataset>,
    (started, ended): (DateTime<Utc>, DateTime<Utc>),
) -> Result<bool, String> {
    let worker = Some(claim.worker.as_str());
    if claim.status != EnrichmentStatus::Enriching || claim.claimed_by.as_deref() != worker {
        return Err(format!(
            "came back {:?} for {:?}, not enriching for {}",
            claim.status, claim.claimed_by, claim.worker
        ));
    }
    let row = row.ok_or("claimed but not stored")?;
    if row.enrichment_status != EnrichmentStatus::Enriching
        || row.claimed_by.as_deref() != worker
        || row.claimed_at != claim.claimed_at
        || row.enrichment_attempts != claim.attempts
    {
        return Err(format!(
            "stored {:?} for {:?} at {:?} after {} attempts, returned for {} at {:?} after {}",
            row.enrichment_status,
            row.claimed_by,
            row.claimed_at,
            row.enrichment_attempts,
            claim.worker,
            claim.claimed_at,
            claim.attempts
        ));
    }
    if !row
        .claimed_at
        .is_some_and(|at| started <= at && at <= ended)
    {
        return Err(format!(
            "lease taken at {:?}, not during the run",
            row.claimed_at
        ));
    }
    let seeded: u64 = row
        .external_id
        .trim_start_matches("ext-")
        .parse()
        .map_err(|e| format!("external id {}: {e}", row.external_id))?;
    let expired = seeded.is_multiple_of(EXPIRED_EVERY);
    if row.enrichment_attempts != i32::from(expired) {
        return Err(format!(
            "{} attempts after the claim",
            row.enrichment_attempts
        ));
    }
    Ok(expired)
}

/// Check a round of claims, run `during` these times, and the table after it: every
/// dataset claimed once, as returned and as stored held by the worker that got it under a
/// lease taken during the run, a taken-over one with its lost attempt counted. The claimed ids
/// as a checksum.
async fn check_claims(
    name: &str,
    db: &Db,
    backend: &str,
    n: u64,
    claims: &Claims,
    during: (DateTime<Utc>, DateTime<Utc>),
) -> Res<Check> {
    let mut ids: Vec<i64> = claims.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    let before = ids.len();
    ids.dedup();
    if ids.len() != before {
        return Err(format!(
            "{name} on {backend}: {} rows claimed twice",
            before - ids.len()
        )
        .into());
    }
    expect(name, backend, "rows claimed", ids.len() as u64, n)?;
    let stored: std::collections::HashMap<i64, Dataset> = DatasetRepository::new(db)
        .find_all(Dataset::SOURCE_NAME.eq(SOURCE))
        .await?
        .into_iter()
        .map(|d| (d.id, d))
        .collect();
    expect(name, backend, "rows stored", stored.len() as u64, n)?;
    let mut taken_over = 0;
    for claim in claims {
        let row = stored.get(&claim.id);
        match check_claim(claim, row, during) {
            Ok(expired) => taken_over += u64::from(expired),
            Err(what) => {
                return Err(format!("{name} on {backend}: dataset {}: {what}", claim.id).into());
            }
        }
    }
    expect(
        name,
        backend,
        "expired leases taken over",
        taken_over,
        n.div_ceil(EXPIRED_EVERY),
    )?;
    let stats = DatasetRepository::new(db)
        .get_stats_by_source(SOURCE)
        .await?;
    expect(
        name,
        backend,
        "pending rows left",
        stats.by_status.minimal + stats.by_status.failed,
        0,
    )?;
    expect(
        name,
        backend,
        "rows enriching",
        stats.by_status.enriching,
        n,
    )?;
    let mut check = Check::default();
    for id in ids {
        check.add_number(id as u64);
    }
    Ok(check)
}

/// W5: `workers` workers claim datasets in batches of 10 (those whose lease ran out, then
/// pending ones) until none are left.
/// A deadlock or serialization failure (PostgreSQL 40P01/40001, MariaDB 1213).
fn is_deadlock(error: &dyn sqlx::error::DatabaseError) -> bool {
    matches!(error.code().as_deref(), Some("40P01" | "40001" | "1213"))
}

pub async fn w5_claim(ctx: &Ctx<'_>, workers: usize) -> Res<Record> {
    let name = format!("W5 claim ×{workers}");
    let n = ctx.size(10_000);
    let framework = async |worker: String| -> Res<Claims> {
        let repo = DatasetRepository::new(ctx.db);
        let mut got = Vec::new();
        loop {
            let batch = repo
                .claim_pending_for_enrichment(SOURCE, BATCH, MAX_ATTEMPTS, &worker)
                .await?;
            if batch.is_empty() {
                return Ok(got);
            }
            got.extend(batch.into_iter().map(|d| Claim {
                worker: worker.clone(),
                id: d.id,
                status: d.enrichment_status,
                claimed_by: d.claimed_by,
                claimed_at: d.claimed_at,
                attempts: d.enrichment_attempts,
            }));
        }
    };
    let sqlx = async |worker: String| -> Res<Claims> {
        let mut got = Vec::new();
        loop {
            let batch = on_pool!(ctx.db, pool, hand =>
                hand::claim(pool, SOURCE, BATCH, MAX_ATTEMPTS, &worker, DEFAULT_LEASE).await);
            // A claim that lost a deadlock changed nothing: run it again, as the framework's
            // does and as an application must.
            let batch = match batch {
                Err(sqlx::Error::Database(e)) if is_deadlock(&*e) => continue,
                other => other?,
            };
            if batch.is_empty() {
                return Ok(got);
            }
            got.extend(batch.into_iter().map(|c| Claim {
                worker: worker.clone(),
                id: c.id,
                status: c.status,
                claimed_by: c.worker,
                claimed_at: c.claimed_at,
                attempts: c.attempts,
            }));
        }
    };
    let all = |results: Vec<Res<Claims>>| -> Res<Claims> {
        let mut claims = Vec::new();
        for result in results {
            claims.extend(result?);
        }
        Ok(claims)
    };
    let names: Vec<String> = (0..workers).map(|w| format!("worker-{w}")).collect();
    let (mut fw, mut base) = (Vec::new(), Vec::new());
    for run in 0..ctx.runs {
        fill_datasets(ctx.db, n).await?;
        let started = now();
        let (a, fs) = timed(join_all(names.iter().cloned().map(framework))).await;
        let during = (started, now());
        let a = check_claims(&name, ctx.db, ctx.backend, n, &all(a)?, during).await?;
        fill_datasets(ctx.db, n).await?;
        let started = now();
        let (b, bs) = timed(join_all(names.iter().cloned().map(sqlx))).await;
        let during = (started, now());
        let b = check_claims(&name, ctx.db, ctx.backend, n, &all(b)?, during).await?;
        ctx.same(&name, run, a, b)?;
        ctx.progress(&name, run, fs, bs, "sqlx");
        fw.push(fs);
        base.push(bs);
    }
    Ok(Record::new(
        &name,
        ctx.backend,
        "sqlx",
        n,
        fw,
        base,
        Goal::Throughput(0.95),
    ))
}
