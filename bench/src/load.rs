//! `repo-load`: many workers on one database, then an integrity check.
//!
//! N workers share a fixed number of operations, each picking the next by its number: claim
//! datasets and mark each enriched or failed (guarded updates), bulk-upsert batches over an
//! overlapping key range in shuffled order, and read filtered pages. It prints throughput,
//! p50/p99 latency per operation, the retries the framework made and the errors callers saw,
//! then checks the database: no dataset held by two workers at once, every attempt counted,
//! every upserted key present with a value some worker wrote. It exits non-zero on any error or
//! integrity failure. Not a benchmark: figures on a shared machine are indicative.
//!
//! With `--restart-after S --restart-command CMD` it runs `CMD` (a shell command that restarts
//! the server) `S` seconds into the run. Every error callers see must then be
//! `Error::OutcomeUnknown` (a write whose connection was lost after it was sent): those are
//! counted and checked (each landed once or not at all), the datasets their claims may have
//! taken are recovered by lease expiry (a claim that treats every lease as run out), and the
//! longest time no operation succeeded is printed.
//!
//! ```sh
//! cargo run --release -p repo-bench --bin repo-load -- --backends sqlite,postgres,mysql
//! cargo run --release -p repo-bench --bin repo-load -- --backends postgres --ops 40000 \
//!     --restart-after 5 --restart-command "bash .ci/restart.sh postgres"
//! ```

use std::collections::{BTreeMap, HashSet};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use repo_core::prelude::*;
use repo_domain::{Dataset, DatasetRepository, EnrichmentStatus, migrate};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Many workers mixing claims, bulk upserts, updates and page reads; then an integrity check.
#[derive(Debug, Parser)]
#[command(name = "repo-load")]
struct Args {
    /// Backends to load: `sqlite` (a file), `postgres`, `mysql`.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
    /// Concurrent workers.
    #[arg(long, default_value_t = 16)]
    workers: u64,
    /// Operations in all, shared by the workers.
    #[arg(long, default_value_t = 4_000)]
    ops: u64,
    /// Datasets to claim from.
    #[arg(long, default_value_t = 5_000)]
    datasets: u64,
    /// The PostgreSQL database (its domain tables are emptied).
    #[arg(
        long,
        env = "REPO_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/repo_bench"
    )]
    postgres_url: String,
    /// The MariaDB database (its domain tables are emptied).
    #[arg(
        long,
        env = "REPO_BENCH_MYSQL_URL",
        default_value = "mysql://root@127.0.0.1:3306/repo_bench"
    )]
    mysql_url: String,
    /// The SQLite file (replaced).
    #[arg(long, default_value = "target/repo-load.sqlite")]
    sqlite_file: std::path::PathBuf,
    /// Seconds into each backend's run at which to run `--restart-command`.
    #[arg(long, requires = "restart_command")]
    restart_after: Option<f64>,
    /// A shell command that restarts the server under load (and returns once it is back).
    #[arg(long, requires = "restart_after")]
    restart_command: Option<String>,
}

const SOURCE: &str = "load";
const UPSERTED: &str = "load-upsert";
const UPSERT_KEYS: i64 = 500;
const BATCH: i64 = 50;
const MAX_ATTEMPTS: i32 = 3;
/// The worker that takes over datasets whose claims' outcome was unknown.
const RECOVERY: &str = "recovery";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    Claim,
    BulkUpsert,
    Page,
}

/// A write whose outcome came back unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Unknown {
    Claim,
    MarkEnriched,
    MarkFailed,
    BulkUpsert,
}

/// What every worker shares: the operation counter, who holds which dataset, the counts the
/// integrity check compares with the database, and each operation's latencies.
#[derive(Default)]
struct Shared {
    next_op: AtomicU64,
    held: Mutex<HashSet<i64>>,
    double_claims: AtomicU64,
    enriched: AtomicU64,
    failed: AtomicU64,
    errors: AtomicU64,
    latencies: Mutex<BTreeMap<Op, Vec<Duration>>>,
    /// Writes whose outcome is unknown, by kind.
    unknown: Mutex<BTreeMap<Unknown, u64>>,
    /// Workers that may hold a dataset no call of theirs reported (a claim or a mark with an
    /// unknown outcome).
    unknown_holders: Mutex<HashSet<String>>,
    /// When each successful operation ended, after the start.
    successes: Mutex<Vec<Duration>>,
}

impl Shared {
    fn unknown(&self, kind: Unknown, worker: &str) {
        if let Ok(mut unknown) = self.unknown.lock() {
            *unknown.entry(kind).or_default() += 1;
        }
        self.may_hold(worker);
    }

    /// `worker` may hold datasets it will not mark.
    fn may_hold(&self, worker: &str) {
        if let Ok(mut holders) = self.unknown_holders.lock() {
            holders.insert(worker.to_owned());
        }
    }

    fn unknowns(&self, kind: Unknown) -> u64 {
        self.unknown
            .lock()
            .map_or(0, |unknown| unknown.get(&kind).copied().unwrap_or(0))
    }
}

/// Counts the framework's retry events (a tracing layer).
struct Retries(Arc<AtomicU64>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Retries {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut message = String::new();
        event.record(
            &mut |field: &tracing::field::Field, value: &dyn std::fmt::Debug| {
                if field.name() == "message" {
                    message = format!("{value:?}");
                }
            },
        );
        if message.contains("running it again") {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    use tracing_subscriber::layer::SubscriberExt as _;
    let args = Args::parse();
    let retries = Arc::new(AtomicU64::new(0));
    let subscriber = tracing_subscriber::registry().with(Retries(Arc::clone(&retries)));
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        eprintln!("could not install the retry counter");
        return ExitCode::FAILURE;
    }
    let mut ok = true;
    for backend in &args.backends {
        retries.store(0, Ordering::Relaxed);
        match load(&args, backend, &retries).await {
            Ok(passed) => ok &= passed,
            Err(error) => {
                eprintln!("{backend}: {error}");
                ok = false;
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn connect(args: &Args, backend: &str) -> Res<Db> {
    let url = match backend {
        "postgres" => args.postgres_url.clone(),
        "mysql" => args.mysql_url.clone(),
        "sqlite" => {
            for suffix in ["", "-wal", "-shm"] {
                let mut file = args.sqlite_file.as_os_str().to_owned();
                file.push(suffix);
                let _ = std::fs::remove_file(&file);
            }
            format!("sqlite://{}", args.sqlite_file.display())
        }
        other => return Err(format!("unknown backend `{other}`").into()),
    };
    let options = DbOptions::new().max_connections(u32::try_from(args.workers)?.clamp(2, 32));
    Ok(Db::connect_with(&url, options).await?)
}

async fn load(args: &Args, backend: &str, retries: &AtomicU64) -> Res<bool> {
    let db = connect(args, backend).await?;
    migrate(&db).await?;
    let repo = DatasetRepository::new(&db);
    repo.delete_where(Dataset::SOURCE_NAME.is_in([SOURCE, UPSERTED]))
        .await?;
    let rows: Vec<Dataset> = (0..args.datasets)
        .map(|i| Dataset::new(SOURCE, &format!("d/{i}"), "t"))
        .collect();
    repo.bulk_insert(&rows).await?;

    let shared = Arc::new(Shared::default());
    let started = Instant::now();
    let restart = restart(args, started);
    let mut workers = Vec::new();
    for worker in 0..args.workers {
        let (db, shared, ops) = (db.clone(), Arc::clone(&shared), args.ops);
        workers.push(tokio::spawn(async move {
            work(&db, worker, ops, &shared, started).await;
        }));
    }
    for worker in workers {
        worker.await?;
    }
    let elapsed = started.elapsed();
    report(
        backend,
        args,
        &shared,
        elapsed,
        retries.load(Ordering::Relaxed),
    );
    if let Some(restart) = restart {
        let (began, took) = restart.await??;
        report_recovery(backend, &shared, began, took);
    }
    let recovered = recover(&db).await?;
    let problems = check(&db, &shared, &recovered).await?;
    for problem in &problems {
        eprintln!("{backend}: integrity: {problem}");
    }
    let errors = shared.errors.load(Ordering::Relaxed);
    println!(
        "{backend}: integrity {}, {errors} errors",
        if problems.is_empty() { "ok" } else { "FAILED" }
    );
    db.close().await;
    Ok(problems.is_empty() && errors == 0)
}

/// Run the restart command `--restart-after` seconds after `started`, if asked: when it began
/// (after the start) and how long it took.
fn restart(
    args: &Args,
    started: Instant,
) -> Option<tokio::task::JoinHandle<Res<(Duration, Duration)>>> {
    let (after, command) = (args.restart_after?, args.restart_command.clone()?);
    Some(tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs_f64(after)).await;
        let began = started.elapsed();
        let status = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .status()
            .await?;
        if !status.success() {
            return Err(format!("`{command}` failed: {status}").into());
        }
        Ok((began, started.elapsed().saturating_sub(began)))
    }))
}

/// The longest time around the restart in which no operation succeeded.
fn report_recovery(backend: &str, shared: &Shared, began: Duration, took: Duration) {
    let Ok(mut ends) = shared.successes.lock() else {
        return;
    };
    ends.sort_unstable();
    let last_before = ends.iter().rev().find(|end| **end <= began).copied();
    let first_after = ends.iter().find(|end| **end > began + took).copied();
    let gap = match (last_before, first_after) {
        (Some(before), Some(after)) => {
            format!("{:.2} s", after.saturating_sub(before).as_secs_f64())
        }
        _ => "unknown (no operation succeeded on one side of it)".to_owned(),
    };
    println!(
        "{backend}: restart began at {:.2} s and took {:.2} s; no operation succeeded for {gap}; \
         recovered {:.2} s after the restart began",
        began.as_secs_f64(),
        took.as_secs_f64(),
        first_after.map_or(f64::NAN, |after| after.saturating_sub(began).as_secs_f64()),
    );
}

/// Datasets left `enriching` by claims whose caller saw an unknown outcome (or by marks that
/// did not land), taken over as if every lease had run out (as each does after
/// `DEFAULT_LEASE`) and marked enriched.
struct Recovered {
    /// The ids taken over.
    ids: HashSet<i64>,
    /// Who held each when the run ended.
    holders: Vec<Option<String>>,
}

async fn recover(db: &Db) -> Res<Recovered> {
    let repo = DatasetRepository::new(db);
    let left = repo
        .find_all(
            Dataset::SOURCE_NAME
                .eq(SOURCE)
                .and(Dataset::ENRICHMENT_STATUS.eq(EnrichmentStatus::Enriching)),
        )
        .await?;
    let mut recovered = Recovered {
        ids: HashSet::new(),
        holders: left.iter().map(|d| d.claimed_by.clone()).collect(),
    };
    if left.is_empty() {
        return Ok(recovered);
    }
    let claimed = repo
        .claim_pending_for_enrichment_leased(
            SOURCE,
            left.len() as u64,
            i32::MAX,
            RECOVERY,
            chrono::TimeDelta::zero(),
        )
        .await?;
    for dataset in claimed {
        repo.mark_enriched_by(dataset.id, RECOVERY, vec![0.5; 4])
            .await?;
        recovered.ids.insert(dataset.id);
    }
    println!(
        "load: {} of {} datasets left enriching recovered by lease expiry",
        recovered.ids.len(),
        left.len()
    );
    Ok(recovered)
}

async fn work(db: &Db, worker: u64, ops: u64, shared: &Shared, started: Instant) {
    let repo = DatasetRepository::new(db);
    let name = format!("worker-{worker}");
    loop {
        let n = shared.next_op.fetch_add(1, Ordering::Relaxed);
        if n >= ops {
            return;
        }
        let op = match n % 4 {
            0 | 1 => Op::Claim,
            2 => Op::BulkUpsert,
            _ => Op::Page,
        };
        let op_started = Instant::now();
        let result = match op {
            Op::Claim => claim(&repo, &name, n, shared).await,
            Op::BulkUpsert => match upsert(&repo, worker, n).await {
                Err(error) if error.is_outcome_unknown() => {
                    shared.unknown(Unknown::BulkUpsert, &name);
                    Ok(())
                }
                other => other.map_err(Into::into),
            },
            Op::Page => page(&repo).await,
        };
        let took = op_started.elapsed();
        match result {
            Ok(()) => {
                if let Ok(mut ends) = shared.successes.lock() {
                    ends.push(started.elapsed());
                }
            }
            Err(error) => {
                eprintln!("{name}: {op:?}: {error}");
                shared.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Ok(mut latencies) = shared.latencies.lock() {
            latencies.entry(op).or_default().push(took);
        }
    }
}

/// Claim a few datasets, then mark each enriched, or failed (every third operation).
async fn claim(repo: &DatasetRepository<'_>, worker: &str, n: u64, shared: &Shared) -> Res<()> {
    let claimed = match repo
        .claim_pending_for_enrichment(SOURCE, 5, MAX_ATTEMPTS, worker)
        .await
    {
        Ok(claimed) => claimed,
        // Perhaps taken: left to the lease.
        Err(error) if error.is_outcome_unknown() => {
            shared.unknown(Unknown::Claim, worker);
            return Ok(());
        }
        Err(error) => return Err(error.into()),
    };
    {
        let mut held = shared.held.lock().map_err(|_| "poisoned")?;
        for dataset in &claimed {
            if !held.insert(dataset.id) {
                shared.double_claims.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    for dataset in claimed {
        // Let go first: once the mark commits, another worker may claim the dataset again (a
        // failed one is pending until its attempts run out).
        shared
            .held
            .lock()
            .map_err(|_| "poisoned")?
            .remove(&dataset.id);
        let (marked, counter, kind) = if n.is_multiple_of(3) {
            (
                repo.mark_failed_by(dataset.id, worker, "load").await,
                &shared.failed,
                Unknown::MarkFailed,
            )
        } else {
            (
                repo.mark_enriched_by(dataset.id, worker, vec![0.5; 4])
                    .await,
                &shared.enriched,
                Unknown::MarkEnriched,
            )
        };
        match marked {
            Ok(_) => {
                counter.fetch_add(1, Ordering::Relaxed);
            }
            Err(error) if error.is_outcome_unknown() => shared.unknown(kind, worker),
            Err(error) => {
                // The rest of the claim stays held, left to the lease (and the error counted).
                shared.may_hold(worker);
                return Err(error.into());
            }
        }
    }
    Ok(())
}

/// Upsert `BATCH` keys of the shared range, starting at a key of this operation's own, in
/// descending order (so concurrent batches meet each other's keys in opposite orders).
async fn upsert(repo: &DatasetRepository<'_>, worker: u64, n: u64) -> repo_core::Result<()> {
    let start = (n as i64 * 37) % UPSERT_KEYS;
    let batch: Vec<Dataset> = (0..BATCH)
        .rev()
        .map(|i| (start + i) % UPSERT_KEYS)
        .map(|key| Dataset::new(UPSERTED, &format!("k/{key}"), &format!("w{worker}")))
        .collect();
    repo.bulk_upsert(&batch).await?;
    Ok(())
}

async fn page(repo: &DatasetRepository<'_>) -> Res<()> {
    let request = PageRequest::new(20).order_by(Dataset::UPDATED_AT.desc());
    let filter = Dataset::SOURCE_NAME
        .eq(SOURCE)
        .and(Dataset::ENRICHMENT_STATUS.eq(EnrichmentStatus::Enriched));
    repo.find(filter, request).await?;
    Ok(())
}

fn report(backend: &str, args: &Args, shared: &Shared, elapsed: Duration, retries: u64) {
    let seconds = elapsed.as_secs_f64();
    println!(
        "{backend}: {} workers, {} operations in {seconds:.2} s: {:.0} ops/s, {retries} retries",
        args.workers,
        args.ops,
        args.ops as f64 / seconds
    );
    if let Ok(unknown) = shared.unknown.lock()
        && !unknown.is_empty()
    {
        println!("{backend}:   writes with an unknown outcome: {unknown:?}");
    }
    let Ok(latencies) = shared.latencies.lock() else {
        return;
    };
    for (op, times) in latencies.iter() {
        let mut times = times.clone();
        times.sort_unstable();
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        println!(
            "{backend}:   {op:?}: {} ops, p50 {:.2} ms, p99 {:.2} ms",
            times.len(),
            at(0.50).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3
        );
    }
}

/// What the database holds against what the workers did. A write whose outcome was unknown
/// counts as landed once or not at all; a dataset `recovered` was taken over after its lease
/// (which counts one lost attempt) and marked enriched.
async fn check(db: &Db, shared: &Shared, recovered: &Recovered) -> Res<Vec<String>> {
    let repo = DatasetRepository::new(db);
    let mut problems = Vec::new();
    let double = shared.double_claims.load(Ordering::Relaxed);
    if double > 0 {
        problems.push(format!(
            "{double} datasets claimed while another worker held them"
        ));
    }
    let stats = repo.get_stats_by_source(SOURCE).await?;
    let within = |stored: u64, acknowledged: u64, unknown: u64| {
        (acknowledged..=acknowledged + unknown).contains(&stored)
    };
    let recovered_count = recovered.ids.len() as u64;
    let enriched = shared.enriched.load(Ordering::Relaxed);
    let unknown_enriched = shared.unknowns(Unknown::MarkEnriched);
    if !within(
        stats.by_status.enriched,
        enriched + recovered_count,
        unknown_enriched,
    ) {
        problems.push(format!(
            "{} datasets enriched, {enriched} marked, {unknown_enriched} marks unknown, \
             {recovered_count} recovered",
            stats.by_status.enriched
        ));
    }
    if stats.by_status.enriching != 0 {
        problems.push(format!(
            "{} datasets left enriching",
            stats.by_status.enriching
        ));
    }
    let all = repo.find_all(Dataset::SOURCE_NAME.eq(SOURCE)).await?;
    // Only datasets a worker may hold unknowingly were left to the lease.
    let holders = shared
        .unknown_holders
        .lock()
        .map_err(|_| "poisoned")?
        .clone();
    for holder in &recovered.holders {
        if !holder.as_ref().is_some_and(|h| holders.contains(h)) {
            problems.push(format!(
                "a dataset was left enriching by {holder:?}, whose calls all returned"
            ));
        }
    }
    let attempts: i64 = all.iter().map(|d| i64::from(d.enrichment_attempts)).sum();
    let failed = shared.failed.load(Ordering::Relaxed);
    let unknown_failed = shared.unknowns(Unknown::MarkFailed);
    let attempts = u64::try_from(attempts)?;
    if !within(attempts, failed + recovered_count, unknown_failed) {
        problems.push(format!(
            "{attempts} failed attempts stored, {failed} made, {unknown_failed} unknown, \
             {recovered_count} recovered"
        ));
    }
    let possible_holds = 5 * shared.unknowns(Unknown::Claim) + unknown_enriched + unknown_failed;
    if recovered_count > possible_holds {
        problems.push(format!(
            "{recovered_count} datasets left enriching, but only {possible_holds} could be held \
             by calls with an unknown outcome"
        ));
    }
    if stats.total != all.len() as u64 {
        problems.push(format!(
            "{} datasets counted, {} read",
            stats.total,
            all.len()
        ));
    }
    let upserted = repo.find_all(Dataset::SOURCE_NAME.eq(UPSERTED)).await?;
    let keys: HashSet<&str> = upserted.iter().map(|d| d.external_id.as_str()).collect();
    if keys.len() != upserted.len() || upserted.iter().any(|d| !d.title.starts_with('w')) {
        problems.push("upserted rows are duplicated or carry a value no worker wrote".into());
    }
    Ok(problems)
}
