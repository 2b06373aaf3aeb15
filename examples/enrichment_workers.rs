//! Concurrent enrichment workers.
//!
//! `WORKERS` workers (default 4) claim and enrich `DATASETS` datasets (default 500) with
//! `claim_pending_for_enrichment`. About a third of the attempts fail and are retried, up to
//! three attempts per dataset; every attempt is logged. Progress is printed while they run,
//! then the statistics, then a check that no dataset was processed twice or left behind.
//!
//! Runs on a temporary SQLite file, or on the database named by `DATABASE_URL` (its
//! `datasets` of source `workers-demo` are replaced).
//!
//! ```sh
//! WORKERS=8 DATASETS=2000 cargo run -p repo-examples --example enrichment_workers
//! ```

#[path = "table.rs"]
mod table;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use repo_core::prelude::*;
use repo_domain::{
    Dataset, DatasetRepository, EnrichmentLog, EnrichmentLogRepository, EnrichmentResult,
    EnrichmentStage, EnrichmentStatus, NewDataset, migrate,
};

const SOURCE: &str = "workers-demo";
const MAX_ATTEMPTS: i32 = 3;
const BATCH: u64 = 10;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Whether attempt `attempt` at dataset `id` fails: a fixed pseudo-random third of them.
fn fails(id: i64, attempt: i32) -> bool {
    (id.wrapping_mul(2_654_435_761) ^ i64::from(attempt).wrapping_mul(40_503)).rem_euclid(100) < 33
}

#[tokio::main]
async fn main() -> repo_core::Result<()> {
    let workers = env_or("WORKERS", 4);
    let count = env_or("DATASETS", 500);
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
        let path =
            std::env::temp_dir().join(format!("enrichment-workers-{}.db", std::process::id()));
        format!("sqlite://{}", path.display())
    });
    let db = Db::connect(&url).await?;
    migrate(&db).await?;
    let datasets = DatasetRepository::new(&db);
    datasets
        .delete_where(Dataset::SOURCE_NAME.eq(SOURCE))
        .await?;
    let rows =
        (0..count).map(|i| NewDataset::new(SOURCE, &format!("demo/{i}"), &format!("Dataset {i}")));
    datasets.bulk_insert_new(rows).await?;
    println!("{count} datasets, {workers} workers, up to {MAX_ATTEMPTS} attempts each");

    let started = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    let progress = {
        let db = db.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let repo = DatasetRepository::new(&db);
            while !done.load(Ordering::Relaxed) {
                if let Ok(s) = repo.get_stats_by_source(SOURCE).await {
                    println!(
                        "  {:>6.2}s  enriched {:>5}  failed {:>5}  enriching {:>3}  waiting {:>5}",
                        started.elapsed().as_secs_f64(),
                        s.by_status.enriched,
                        s.by_status.failed,
                        s.by_status.enriching,
                        s.by_status.minimal
                    );
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };

    let mut handles = Vec::new();
    for w in 0..workers {
        let db = db.clone();
        handles.push(tokio::spawn(async move {
            work(&db, &format!("worker-{w}")).await
        }));
    }
    let mut processed_by: HashMap<String, usize> = HashMap::new();
    for handle in handles {
        let (worker, n) = handle.await.expect("worker panicked")?;
        processed_by.insert(worker, n);
    }
    done.store(true, Ordering::Relaxed);
    progress.await.expect("progress task");
    println!("finished in {:.2}s", started.elapsed().as_secs_f64());

    let mut rows: Vec<Vec<String>> = processed_by
        .into_iter()
        .map(|(w, n)| vec![w, n.to_string()])
        .collect();
    rows.sort();
    table::print("Attempts per worker", &["worker", "attempts"], &rows);
    let stats = datasets.get_stats_by_source(SOURCE).await?;
    table::print(
        "Datasets",
        &[
            "total",
            "enriched",
            "failed (out of attempts)",
            "left pending",
        ],
        &[vec![
            stats.total.to_string(),
            stats.by_status.enriched.to_string(),
            stats.by_status.failed.to_string(),
            (stats.by_status.minimal + stats.by_status.enriching).to_string(),
        ]],
    );
    let logs = EnrichmentLogRepository::new(&db);
    let rows: Vec<Vec<String>> = logs
        .get_top_errors(1, 5)
        .await?
        .into_iter()
        .map(|e| vec![e.error_type, e.count.to_string()])
        .collect();
    table::print("Errors", &["error type", "count"], &rows);

    check(&db).await
}

/// Claim and enrich until nothing is pending and nobody holds a dataset that may come back.
async fn work(db: &Db, worker: &str) -> repo_core::Result<(String, usize)> {
    let datasets = DatasetRepository::new(db);
    let logs = EnrichmentLogRepository::new(db);
    let mut attempts = 0;
    loop {
        let batch = datasets
            .claim_pending_for_enrichment(SOURCE, BATCH, MAX_ATTEMPTS, worker)
            .await?;
        if batch.is_empty() {
            let held = datasets
                .count_by_status(SOURCE, EnrichmentStatus::Enriching)
                .await?;
            if held == 0 {
                return Ok((worker.to_owned(), attempts));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        for dataset in batch {
            let attempt = dataset.enrichment_attempts + 1;
            let began = Instant::now();
            tokio::time::sleep(Duration::from_millis(1)).await; // the enrichment itself
            let ms = began.elapsed().as_millis() as i64;
            attempts += 1;
            if fails(dataset.id, attempt) {
                datasets
                    .mark_failed_by(dataset.id, worker, "upstream API returned 503")
                    .await?;
                logs.log_enrichment(
                    &EnrichmentLog::failure(
                        dataset.id,
                        EnrichmentStage::ApiMetadata,
                        attempt,
                        "upstream API returned 503",
                        "UpstreamUnavailable",
                    )
                    .duration_ms(ms)
                    .worker(worker),
                )
                .await?;
            } else {
                datasets
                    .mark_enriched_by(dataset.id, worker, vec![dataset.id as f32, 1.0, 0.5])
                    .await?;
                logs.log_enrichment(
                    &EnrichmentLog::success(dataset.id, EnrichmentStage::ApiMetadata, attempt)
                        .duration_ms(ms)
                        .worker(worker),
                )
                .await?;
            }
        }
    }
}

/// Every dataset ends enriched or out of attempts, and its log shows attempts 1, 2, … once
/// each, all failed but possibly the last: nobody processed it twice.
async fn check(db: &Db) -> repo_core::Result<()> {
    let datasets = DatasetRepository::new(db)
        .find_all(Dataset::SOURCE_NAME.eq(SOURCE))
        .await?;
    let logs = EnrichmentLogRepository::new(db)
        .find_all(Filter::all())
        .await?;
    let mut by_dataset: HashMap<i64, Vec<&EnrichmentLog>> = HashMap::new();
    for log in &logs {
        by_dataset.entry(log.dataset_id).or_default().push(log);
    }
    let mut problems = 0;
    for d in &datasets {
        let mut attempts = by_dataset.remove(&d.id).unwrap_or_default();
        attempts.sort_by_key(|l| l.attempt_number);
        let numbers: Vec<i32> = attempts.iter().map(|l| l.attempt_number).collect();
        let expected: Vec<i32> = (1..=numbers.len() as i32).collect();
        let successes = attempts
            .iter()
            .filter(|l| l.result == EnrichmentResult::Success)
            .count();
        let ok = numbers == expected
            && match d.enrichment_status {
                EnrichmentStatus::Enriched => {
                    successes == 1
                        && attempts.last().map(|l| l.result) == Some(EnrichmentResult::Success)
                        && d.enrichment_attempts as usize == numbers.len() - 1
                }
                EnrichmentStatus::Failed => {
                    successes == 0
                        && d.enrichment_attempts == MAX_ATTEMPTS
                        && numbers.len() == MAX_ATTEMPTS as usize
                }
                _ => false,
            };
        if !ok {
            problems += 1;
            eprintln!(
                "dataset {} ({:?}, {} failed attempts): log attempts {numbers:?}",
                d.id, d.enrichment_status, d.enrichment_attempts
            );
        }
    }
    if problems == 0 {
        println!(
            "\ncheck passed: {} datasets, each processed once per attempt, none left behind",
            datasets.len()
        );
        Ok(())
    } else {
        Err(Error::validation(
            "datasets",
            format!("{problems} datasets processed twice or left behind"),
        ))
    }
}
