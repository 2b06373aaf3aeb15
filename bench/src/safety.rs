//! What the data-safety declarations cost, as ratios to the same call on a plain entity with
//! the same columns and rows: V1 a versioned `update` (it matches and bumps the version), D1 a
//! filtered page + count on a soft-deleted entity (every statement adds `deleted_at IS NULL`,
//! and a tenth of its rows are deleted), A1 an audited `bulk_upsert` (it locks and reads the
//! rows it meets and appends one audit entry per row). Both sides run through the framework,
//! interleaved, on the same pool, and must return the same rows.

use repo_core::prelude::*;

use crate::data::{Check, Rng};
use crate::measure::timed;
use crate::report::{Goal, Record};
use crate::workloads::{Ctx, Res};

/// A row of the versioned, soft-deleted table.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "bench_guarded", unique(sku), index(qty, price_cents))]
pub struct Guarded {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub sku: String,
    pub qty: i32,
    pub price_cents: i64,
    #[repo(version)]
    pub version: i64,
    #[repo(soft_delete)]
    pub deleted_at: Option<DateTime<Utc>>,
    #[repo(updated_at)]
    pub updated_at: DateTime<Utc>,
}

/// The same row without either declaration.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "bench_plain", unique(sku), index(qty, price_cents))]
pub struct Plain {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub sku: String,
    pub qty: i32,
    pub price_cents: i64,
    #[repo(updated_at)]
    pub updated_at: DateTime<Utc>,
}

/// The plain row, audited.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "bench_audited", unique(sku), index(qty, price_cents), audit)]
pub struct Audited {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub sku: String,
    pub qty: i32,
    pub price_cents: i64,
    #[repo(updated_at)]
    pub updated_at: DateTime<Utc>,
}

fn guarded(i: u64, rng: &mut Rng) -> Guarded {
    Guarded::from_new(NewGuarded {
        sku: format!("g-{i:08}"),
        qty: rng.below(100) as i32,
        price_cents: rng.below(100_000) as i64,
    })
}

fn plain(row: &Guarded) -> Plain {
    Plain::from_new(NewPlain {
        sku: row.sku.clone(),
        qty: row.qty,
        price_cents: row.price_cents,
    })
}

/// Both tables, fresh: `live` equal rows, and in the guarded table `deleted` more rows that
/// are soft-deleted. The stored rows, in sku order.
async fn fill(db: &Db, live: u64, deleted: u64) -> Res<(Vec<Guarded>, Vec<Plain>)> {
    db.drop_schema::<Guarded>().await?;
    db.drop_schema::<Plain>().await?;
    db.create_schema::<Guarded>().await?;
    db.create_schema::<Plain>().await?;
    let mut rng = Rng::new(10);
    let rows: Vec<Guarded> = (0..live + deleted).map(|i| guarded(i, &mut rng)).collect();
    let guarded_repo = GuardedRepository::new(db);
    guarded_repo.bulk_insert(&rows).await?;
    let gone: Vec<String> = rows[live as usize..]
        .iter()
        .map(|r| r.sku.clone())
        .collect();
    for chunk in gone.chunks(1_000) {
        guarded_repo
            .delete_where(Guarded::SKU.is_in(chunk.iter().cloned()))
            .await?;
    }
    let plain_rows: Vec<Plain> = rows[..live as usize].iter().map(plain).collect();
    PlainRepository::new(db).bulk_insert(&plain_rows).await?;
    let mut stored_guarded = guarded_repo.find_all(Filter::all()).await?;
    let mut stored_plain = PlainRepository::new(db).find_all(Filter::all()).await?;
    stored_guarded.sort_by(|a, b| a.sku.cmp(&b.sku));
    stored_plain.sort_by(|a, b| a.sku.cmp(&b.sku));
    Ok((stored_guarded, stored_plain))
}

fn same(ctx: &Ctx<'_>, name: &str, run: usize, framework: Check, plain: Check) -> Res<()> {
    if framework == plain {
        return Ok(());
    }
    Err(format!(
        "{name} on {} run {}: results differ: guarded {} rows ({:016x}), plain {} rows ({:016x})",
        ctx.backend,
        run + 1,
        framework.rows,
        framework.sum,
        plain.rows,
        plain.sum
    )
    .into())
}

/// V1: single-row `update` of whole rows, ×2k; each versioned update matches the version the
/// row was read at and adds 1.
pub async fn v1_versioned_update(ctx: &Ctx<'_>) -> Res<Record> {
    const NAME: &str = "V1 versioned update";
    let n = ctx.size(2_000);
    let (mut guarded_rows, mut plain_rows) = fill(ctx.db, n, 0).await?;
    let guarded_repo = GuardedRepository::new(ctx.db);
    let plain_repo = PlainRepository::new(ctx.db);
    let (mut fw, mut base) = (Vec::new(), Vec::new());
    for run in 0..ctx.runs {
        let bump = i32::try_from(run)? + 1;
        let (a, fs) = timed(updates(&guarded_repo, &mut guarded_rows, bump, |r| {
            &mut r.qty
        }))
        .await;
        let (b, bs) = timed(updates(&plain_repo, &mut plain_rows, bump, |r| &mut r.qty)).await;
        same(ctx, NAME, run, a?, b?)?;
        ctx.progress(NAME, run, fs, bs, "plain");
        fw.push(fs);
        base.push(bs);
    }
    let versions = guarded_repo
        .count(Guarded::VERSION.eq(i64::try_from(ctx.runs)?))
        .await?;
    if versions != n {
        return Err(format!(
            "{NAME} on {}: {versions} of {n} rows at the last version",
            ctx.backend
        )
        .into());
    }
    Ok(Record::new(
        NAME,
        ctx.backend,
        "plain",
        n,
        fw,
        base,
        Goal::Wall(1.10),
    ))
}

/// `update` of every row in turn with its quantity raised by `bump`, each stored row
/// replacing the one read and its quantity folded in.
async fn updates<E: repo_core::Writable>(
    repo: &Repository<'_, E>,
    rows: &mut [E],
    bump: i32,
    qty: impl Fn(&mut E) -> &mut i32,
) -> repo_core::Result<Check> {
    let mut check = Check::default();
    for row in rows {
        *qty(row) += bump;
        *row = repo.update(row).await?;
        check.add_number(*qty(row) as u64);
    }
    Ok(check)
}

/// Pages of `LIMIT` rows at `offsets` with their counts, each row's price folded in.
async fn pages<E: Entity>(
    repo: &Repository<'_, E>,
    offsets: &[u64],
    filter: impl Fn() -> Filter<E>,
    order: impl Fn() -> repo_core::Order<E>,
    price: impl Fn(&E) -> i64,
) -> repo_core::Result<Check> {
    let mut check = Check::default();
    for &offset in offsets {
        let page = repo
            .find(
                filter(),
                PageRequest::new(LIMIT).offset(offset).order_by(order()),
            )
            .await?;
        check.mix(page.total);
        for row in &page.items {
            check.add_number(price(row) as u64);
        }
    }
    Ok(check)
}

const LIMIT: u64 = 50;

/// D1: a page of 50 filtered by quantity, ordered by price, and the count, ×1k at offsets up
/// to 2k; the soft-deleted table holds a tenth more rows, deleted.
pub async fn d1_soft_delete_page(ctx: &Ctx<'_>) -> Res<Record> {
    const NAME: &str = "D1 soft-delete page";
    let live = ctx.size(20_000);
    fill(ctx.db, live, live / 10).await?;
    let mut rng = Rng::new(11);
    let max_offset = ctx.size(2_000);
    let offsets: Vec<u64> = (0..ctx.size(1_000))
        .map(|_| rng.below(max_offset + 1))
        .collect();
    let guarded_repo = GuardedRepository::new(ctx.db);
    let plain_repo = PlainRepository::new(ctx.db);
    let (mut fw, mut base) = (Vec::new(), Vec::new());
    let mut rows = 0;
    for run in 0..ctx.runs {
        let (a, fs) = timed(pages(
            &guarded_repo,
            &offsets,
            || Guarded::QTY.gte(50),
            || Guarded::PRICE_CENTS.asc(),
            |row| row.price_cents,
        ))
        .await;
        let (b, bs) = timed(pages(
            &plain_repo,
            &offsets,
            || Plain::QTY.gte(50),
            || Plain::PRICE_CENTS.asc(),
            |row| row.price_cents,
        ))
        .await;
        let a = a?;
        same(ctx, NAME, run, a, b?)?;
        rows = a.rows;
        ctx.progress(NAME, run, fs, bs, "plain");
        fw.push(fs);
        base.push(bs);
    }
    ctx.db.drop_schema::<Guarded>().await?;
    ctx.db.drop_schema::<Plain>().await?;
    Ok(Record::new(
        NAME,
        ctx.backend,
        "plain",
        rows,
        fw,
        base,
        Goal::Wall(1.10),
    ))
}

/// The rows of a table as (sku, quantity), folded in sku order.
fn stored_check(rows: impl Iterator<Item = (String, i32)>) -> Check {
    let mut rows: Vec<(String, i32)> = rows.collect();
    rows.sort();
    let mut check = Check::default();
    for (sku, qty) in rows {
        check.mix(sku.len() as u64);
        check.add_number(qty as u64);
    }
    check
}

/// A1: `bulk_upsert` of 20k rows in one call, half of them meeting a stored row (run r writes
/// skus r·10k to r·10k + 20k), audited against plain; every audited row written appends one
/// entry.
pub async fn a1_audited_bulk_upsert(ctx: &Ctx<'_>) -> Res<Record> {
    const NAME: &str = "A1 audited bulk_upsert";
    let n = ctx.size(20_000);
    let db = ctx.db.with_actor("bench");
    db.drop_schema::<Audited>().await?;
    db.drop_schema::<Plain>().await?;
    db.drop_schema::<repo_core::AuditEntry>().await?;
    db.create_schema::<Audited>().await?;
    db.create_schema::<Plain>().await?;
    let audited_repo = AuditedRepository::new(&db);
    let plain_repo = PlainRepository::new(&db);
    let mut rng = Rng::new(12);
    let row = |i: u64, qty: i32, price: i64| NewPlain {
        sku: format!("a-{i:08}"),
        qty,
        price_cents: price,
    };
    let (mut fw, mut base) = (Vec::new(), Vec::new());
    let mut written = 0;
    for run in 0..ctx.runs as u64 {
        let plain_rows: Vec<Plain> = (run * n / 2..run * n / 2 + n)
            .map(|i| Plain::from_new(row(i, rng.below(100) as i32, rng.below(100_000) as i64)))
            .collect();
        let audited_rows: Vec<Audited> = plain_rows
            .iter()
            .map(|p| {
                Audited::from_new(NewAudited {
                    sku: p.sku.clone(),
                    qty: p.qty,
                    price_cents: p.price_cents,
                })
            })
            .collect();
        let (a, fs) = timed(audited_repo.bulk_upsert(&audited_rows)).await;
        let (b, bs) = timed(plain_repo.bulk_upsert(&plain_rows)).await;
        let (a, b) = (a?, b?);
        let stored_audited = audited_repo.find_all(Filter::all()).await?;
        let stored_plain = plain_repo.find_all(Filter::all()).await?;
        let mut check_a = stored_check(stored_audited.into_iter().map(|r| (r.sku, r.qty)));
        let mut check_b = stored_check(stored_plain.into_iter().map(|r| (r.sku, r.qty)));
        check_a.mix(a);
        check_b.mix(b);
        same(ctx, NAME, usize::try_from(run)?, check_a, check_b)?;
        written += a;
        ctx.progress(NAME, usize::try_from(run)?, fs, bs, "plain");
        fw.push(fs);
        base.push(bs);
    }
    let entries = repo_core::AuditRepository::new(&db)
        .count(repo_core::AuditEntry::of::<Audited>())
        .await?;
    if entries != written {
        return Err(format!(
            "{NAME} on {}: {entries} audit entries for {written} rows written",
            ctx.backend
        )
        .into());
    }
    db.drop_schema::<Audited>().await?;
    db.drop_schema::<Plain>().await?;
    // The log table belongs to the migrated schema: leave it there, empty, as migrations expect.
    db.drop_schema::<repo_core::AuditEntry>().await?;
    db.create_schema::<repo_core::AuditEntry>().await?;
    Ok(Record::new(
        NAME,
        ctx.backend,
        "plain",
        n,
        fw,
        base,
        Goal::Ratios {
            wall: 1.5,
            cpu: 3.0,
        },
    ))
}
