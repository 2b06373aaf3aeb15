//! P1: what running through a transaction pooler costs. The same calls through `PgBouncer` in
//! transaction mode (`?pooler=transaction`: every autocommit call in a transaction of its own,
//! prepared statements dropped at its start and end) against the framework straight to the
//! server, on the same table, in the same run. Hand-written sqlx cannot be the baseline here:
//! its named statements do not survive the pooler.

use repo_core::prelude::*;

use crate::data::{Item, ItemRepository, ItemStatus, Rng, items};
use crate::measure::{Sample, timed};
use crate::report::{Goal, Record};
use crate::workloads::{Ctx, Res};

/// Rows read back, to check both sides saw the same.
fn checksum(items: &[Item]) -> (usize, i64) {
    (
        items.len(),
        items.iter().map(|i| i.id ^ i64::from(i.qty)).sum(),
    )
}

/// `get` of each id, a filtered page with its count at each offset, an insert of each fresh
/// item: the three timed apart, on `db`.
async fn gets(db: &Db, ids: &[i64]) -> Res<(usize, i64)> {
    let repo = ItemRepository::new(db);
    let mut found = Vec::with_capacity(ids.len());
    for &id in ids {
        found.push(repo.get(id).await?);
    }
    Ok(checksum(&found))
}

async fn pages(db: &Db, offsets: &[u64]) -> Res<(usize, i64)> {
    let repo = ItemRepository::new(db);
    let mut seen = Vec::new();
    for &offset in offsets {
        let page = repo
            .find(
                Item::STATUS.eq(ItemStatus::Active).and(Item::QTY.gte(10)),
                PageRequest::new(50)
                    .offset(offset)
                    .order_by(Item::PRICE_CENTS.asc()),
            )
            .await?;
        seen.push(page.total as usize);
        seen.push(checksum(&page.items).1 as usize);
    }
    Ok((seen.len(), seen.iter().map(|&n| n as i64).sum()))
}

async fn inserts(db: &Db, fresh: &[Item]) -> Res<(usize, i64)> {
    let repo = ItemRepository::new(db);
    for item in fresh {
        repo.insert(item).await?;
    }
    // What was written, then gone again: the table stays as the other workloads expect.
    let written = repo.delete_where(Item::SKU.starts_with("p1-")).await?;
    Ok((written as usize, 0))
}

/// The P1 records: each of the three calls through the pooler at `pooler_url`, against the
/// same on the `Db` of `ctx`, over the W1/W4 table of `table_rows` rows.
pub async fn p1(ctx: &Ctx<'_>, pooler_url: &str, table_rows: u64) -> Res<Vec<Record>> {
    let pooled = Db::connect(pooler_url)
        .await
        .map_err(|e| format!("P1: cannot connect through the pooler at {pooler_url}: {e}"))?;
    if !pooled.through_transaction_pooler() {
        return Err(format!("P1: {pooler_url} does not ask for `pooler=transaction`").into());
    }
    let mut rng = Rng::new(11);
    let ids: Vec<i64> = (0..ctx.size(5_000))
        .map(|_| rng.below(table_rows) as i64 + 1)
        .collect();
    let offsets: Vec<u64> = (0..ctx.size(500))
        .map(|_| rng.below(ctx.size(5_000)))
        .collect();
    let mut fresh = items(ctx.size(2_000), 0, 12);
    for (i, item) in fresh.iter_mut().enumerate() {
        item.sku = format!("p1-{i}");
    }
    let mut records = Vec::new();
    for name in [
        "P1 get_by_id via pooler",
        "P1 find page+count via pooler",
        "P1 insert via pooler",
    ] {
        let run = async |db: &Db| -> Res<(usize, i64)> {
            match name.split(' ').nth(1) {
                Some("get_by_id") => gets(db, &ids).await,
                Some("find") => pages(db, &offsets).await,
                _ => inserts(db, &fresh).await,
            }
        };
        // Warm both: connections on either side.
        run(&pooled).await?;
        run(ctx.db).await?;
        let (mut through, mut direct) = (Vec::<Sample>::new(), Vec::<Sample>::new());
        for round in 0..ctx.runs {
            let ((a, fs), (b, bs)) = if round % 2 == 0 {
                let a = timed(run(&pooled)).await;
                (a, timed(run(ctx.db)).await)
            } else {
                let b = timed(run(ctx.db)).await;
                (timed(run(&pooled)).await, b)
            };
            if a? != b? {
                return Err(
                    format!("{name}: the pooler and the server answered differently").into(),
                );
            }
            ctx.progress(name, round, fs, bs, "direct");
            through.push(fs);
            direct.push(bs);
        }
        let calls = match name.split(' ').nth(1) {
            Some("get_by_id") => ids.len(),
            Some("find") => offsets.len(),
            _ => fresh.len(),
        };
        records.push(Record::new(
            name,
            ctx.backend,
            "direct",
            calls as u64,
            through,
            direct,
            Goal::None,
        ));
    }
    pooled.close().await;
    Ok(records)
}
