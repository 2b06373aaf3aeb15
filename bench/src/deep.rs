//! W6 and W7: the framework against itself, at depth and at size.

use std::process::Command;

use futures_util::StreamExt as _;
use repo_core::prelude::*;

use crate::data::{Check, Item, ItemRepository, fill_items, items};
use crate::measure::{Sample, median, peak_rss_kib, timed};
use crate::report::{Goal, Record};
use crate::workloads::{Ctx, Res};

const PAGE: u64 = 50;

fn by_qty() -> KeysetRequest<Item> {
    KeysetRequest::new(PAGE).order_by(Item::QTY.asc())
}

/// The cursor after the first `depth` rows in `(qty, id)` order, walking the biggest pages.
async fn cursor_at(repo: &ItemRepository<'_>, depth: u64) -> Res<Cursor> {
    let mut cursor = None;
    let mut walked = 0;
    while walked < depth {
        let step = std::cmp::min(depth - walked, repo_core::MAX_PAGE_LIMIT);
        let request = KeysetRequest::new(step)
            .order_by(Item::QTY.asc())
            .after_opt(cursor.take());
        let page = repo.find_keyset(Filter::all(), request).await?;
        walked += page.items.len() as u64;
        cursor = Some(page.next.ok_or("W6: the table ended before the depth")?);
    }
    Ok(cursor.ok_or("W6: depth 0")?)
}

fn add(total: &mut Sample, sample: Sample) {
    total.wall += sample.wall;
    total.cpu += sample.cpu;
}

/// W6: a keyset page of 50 after 100k rows against page 1, on a table with an index on the
/// order's columns `(qty, id)`; 200 of each per run, interleaved.
pub async fn w6_keyset(ctx: &Ctx<'_>) -> Res<Record> {
    const NAME: &str = "W6 keyset deep/page 1";
    const PAGES: usize = 200;
    let depth = ctx.size(100_000);
    fill_items(ctx.db, &items(depth + PAGE * 20, 0, 7)).await?;
    let repo = ItemRepository::new(ctx.db);
    let cursor = cursor_at(&repo, depth).await?;
    // The deep page is the page at that offset.
    let deep = repo
        .find_keyset(Filter::all(), by_qty().after(cursor.clone()))
        .await?;
    let offset = PageRequest::new(PAGE)
        .offset(depth)
        .order_by(Item::QTY.asc());
    let expected = repo.find(Filter::all(), offset).await?;
    let ids = |items: &[Item]| items.iter().map(|i| i.id).collect::<Vec<_>>();
    if ids(&deep.items) != ids(&expected.items) || deep.items.len() as u64 != PAGE {
        return Err(format!(
            "{NAME} on {}: the keyset page after {depth} rows is not the page at offset {depth}",
            ctx.backend
        )
        .into());
    }
    let (mut fw, mut base) = (Vec::new(), Vec::new());
    for run in 0..ctx.runs {
        let (mut first_total, mut deep_total) = (Sample::default(), Sample::default());
        for _ in 0..PAGES {
            let (first, sample) = timed(repo.find_keyset(Filter::all(), by_qty())).await;
            add(&mut first_total, sample);
            let request = by_qty().after(cursor.clone());
            let (page, sample) = timed(repo.find_keyset(Filter::all(), request)).await;
            add(&mut deep_total, sample);
            if first?.items.len() as u64 != PAGE || ids(&page?.items) != ids(&deep.items) {
                return Err(format!("{NAME} on {}: a page changed", ctx.backend).into());
            }
        }
        ctx_progress(ctx, NAME, run, deep_total, first_total, "page 1");
        fw.push(deep_total);
        base.push(first_total);
    }
    Ok(Record::new(
        NAME,
        ctx.backend,
        "page 1",
        PAGE * PAGES as u64,
        fw,
        base,
        Goal::Wall(1.5),
    ))
}

fn ctx_progress(ctx: &Ctx<'_>, name: &str, run: usize, a: Sample, b: Sample, what: &str) {
    eprintln!(
        "[{}] {name} run {}/{}: framework {:.3} s (cpu {:.3} s), {what} {:.3} s (cpu {:.3} s)",
        ctx.backend,
        run + 1,
        ctx.runs,
        a.wall,
        a.cpu,
        b.wall,
        b.cpu
    );
}

/// What a stream child reports on its standard output.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct ChildReport {
    pub check: Check,
    pub sample: Sample,
    pub peak_rss_kib: u64,
}

/// The child process of W7: stream the items with id ≤ `rows` and report.
pub async fn stream_child(url: &str, rows: u64) -> Res<()> {
    let db = Db::connect(url).await?;
    let repo = ItemRepository::new(&db);
    let (check, sample) = timed(async {
        let mut stream = repo.stream(Item::ID.lte(rows as i64));
        let mut check = Check::default();
        while let Some(item) = stream.next().await {
            check.add_number(item?.id as u64);
        }
        Ok::<_, repo_core::Error>(check)
    })
    .await;
    let report = ChildReport {
        check: check?,
        sample,
        peak_rss_kib: peak_rss_kib().ok_or("no VmHWM in /proc/self/status")?,
    };
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

fn run_child(url: &str, rows: u64) -> Res<ChildReport> {
    let out = Command::new(std::env::current_exe()?)
        .args(["--stream-child", &rows.to_string(), "--stream-url", url])
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "W7 stream child ({rows} rows) failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let text = String::from_utf8(out.stdout)?;
    let line = text
        .lines()
        .last()
        .ok_or("W7 stream child printed nothing")?;
    Ok(serde_json::from_str(line)?)
}

/// W7: stream 1M rows and 10k rows, each in a fresh process of this binary, and compare their
/// peak RSS. `stream_db` (at `url`) holds the table: the benchmark's database, or for SQLite
/// a file, which a child process can open.
pub async fn w7_stream(ctx: &Ctx<'_>, stream_db: &Db, url: &str) -> Res<Record> {
    const NAME: &str = "W7 stream 1M/10k";
    let big = ctx.size(1_000_000);
    let small = ctx.size(10_000);
    fill_items(stream_db, &items(big, 0, 8)).await?;
    let expected = |n: u64| {
        let mut check = Check::default();
        for id in 1..=n {
            check.add_number(id);
        }
        check
    };
    let (want_big, want_small) = (expected(big), expected(small));
    let (mut fw, mut base, mut rss_big, mut rss_small) = (vec![], vec![], vec![], vec![]);
    for run in 0..ctx.runs {
        let a = run_child(url, big)?;
        let b = run_child(url, small)?;
        if a.check != want_big || b.check != want_small {
            return Err(format!(
                "{NAME} on {}: streamed {} and {} rows, expected {big} and {small} (or the ids \
                 differ)",
                ctx.backend, a.check.rows, b.check.rows
            )
            .into());
        }
        ctx_progress(ctx, NAME, run, a.sample, b.sample, "10k rows");
        eprintln!(
            "[{}] {NAME} run {}/{}: peak RSS {} KiB vs {} KiB",
            ctx.backend,
            run + 1,
            ctx.runs,
            a.peak_rss_kib,
            b.peak_rss_kib
        );
        fw.push(a.sample);
        base.push(b.sample);
        rss_big.push(a.peak_rss_kib as f64);
        rss_small.push(b.peak_rss_kib as f64);
    }
    let record = Record::new(
        NAME,
        ctx.backend,
        "10k rows",
        big,
        fw,
        base,
        Goal::PeakRss(1.2),
    );
    Ok(record.with_peak_rss(median(rss_big) as u64, median(rss_small) as u64))
}
