//! `repo-bench`: the framework against hand-written sqlx on the same pool.
//!
//! Every workload runs the same deterministic data through the framework and through plain
//! sqlx (persistent prepared statements, `FromRow`, on the framework's own pool), interleaved
//! run by run, measuring wall time and this process's CPU time; each run checks both left the
//! same rows in the database. The table gives medians and ratios to sqlx; the JSON file every
//! figure.
//!
//! ```sh
//! cargo run --release -p repo-bench -- --backends sqlite,postgres,mysql
//! ```
//!
//! `mysql` is MariaDB (10.6 or later, as the framework requires); its hand-written contender
//! uses `?` placeholders, `ON DUPLICATE KEY UPDATE` and, with no `UPDATE … RETURNING`, claims
//! by a locking select and an update in one transaction.

mod cached;
mod data;
mod deep;
mod hand;
mod measure;
mod pooled;
mod report;
mod safety;
mod telemetry;
mod wide;
mod workloads;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use repo_core::cache::CacheOptions;
use repo_core::{Backend, Db, DbOptions};

use crate::report::Record;
use crate::workloads::{Ctx, Res};

/// The framework against hand-written sqlx on the same pool; figures are ratios to sqlx.
#[derive(Debug, Parser)]
#[command(name = "repo-bench")]
struct Args {
    /// Backends to run: `sqlite` (in memory, `--sqlite-url`), `sqlite-shared` (in memory by
    /// the named shared-cache form, `--sqlite-shared-url`), `sqlite-file` (the file
    /// `--sqlite-file`), `postgres`, `mysql` (MariaDB).
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
    /// Sizes relative to the full benchmark (1.0); 0.01 is a smoke test.
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Runs of each contender; the table reports the median.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Where to write every figure as JSON.
    #[arg(long, default_value = "target/repo-bench.json")]
    json: PathBuf,
    /// The PostgreSQL database (its `bench_*`, `datasets` and `repo_audit` tables are replaced).
    #[arg(
        long,
        env = "REPO_BENCH_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    postgres_url: String,
    /// The MariaDB database (its `bench_*`, `datasets` and `repo_audit` tables are replaced).
    #[arg(
        long,
        env = "REPO_BENCH_MYSQL_URL",
        default_value = "mysql://root@127.0.0.1:3306/repo_bench"
    )]
    mysql_url: String,
    /// The Redis the cache workloads (C2, C3) use.
    #[arg(
        long,
        env = "REPO_BENCH_REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    redis_url: String,
    /// The same PostgreSQL database through `PgBouncer` in transaction mode, for P1.
    #[arg(
        long,
        env = "REPO_BENCH_PGBOUNCER_URL",
        default_value = "postgres://postgres@127.0.0.1:6432/repo_bench?pooler=transaction"
    )]
    pgbouncer_url: String,
    /// The SQLite database of the `sqlite` backend.
    #[arg(long, default_value = "sqlite::memory:")]
    sqlite_url: String,
    /// The SQLite database of the `sqlite-shared` backend: an in-memory database by name, as
    /// applications write it to share one database between pools.
    #[arg(
        long,
        default_value = "sqlite:file:repo-bench?mode=memory&cache=shared"
    )]
    sqlite_shared_url: String,
    /// The SQLite file of the `sqlite-file` backend (replaced).
    #[arg(long, default_value = "target/repo-bench.sqlite")]
    sqlite_file: PathBuf,
    /// The SQLite file W7 streams from on SQLite (replaced): a child process cannot open an
    /// in-memory database.
    #[arg(long, default_value = "target/repo-bench-stream.sqlite")]
    sqlite_stream_file: PathBuf,
    /// Workloads to run, by their names' first word (`W1`, `W4`, `S1`, `V1`, …; any case);
    /// every workload when empty.
    #[arg(long, value_delimiter = ',')]
    workloads: Vec<String>,
    /// `off` (no subscriber, no recorder); `recorded`: every `repo_core` span and event copied
    /// by a tracing layer and metrics kept by the Prometheus recorder, as an exporting
    /// application runs it (the hand-written contender's sqlx events stay off); `registered`:
    /// the same with a layer that copies nothing (the spans' own cost); `spans`: only that
    /// layer, no recorder; `metrics`: only the recorder, no subscriber.
    #[arg(long, default_value = "off")]
    telemetry: String,
    /// Internal: stream this many rows of `--stream-url` and report (W7's child process).
    #[arg(long, hide = true)]
    stream_child: Option<u64>,
    /// Internal: the database of `--stream-child`.
    #[arg(long, hide = true)]
    stream_url: Option<String>,
}

/// A fresh SQLite file at `path` (its WAL and shared-memory files removed too); its URL.
fn fresh_sqlite_file(path: &std::path::Path) -> Res<String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        match std::fs::remove_file(&file) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
            _ => {}
        }
    }
    Ok(format!("sqlite://{}", path.display()))
}

async fn connect(url: &str) -> Res<Db> {
    // Enough connections for W5's 16 workers (an in-memory SQLite database keeps one).
    Ok(Db::connect_with(url, DbOptions::new().max_connections(20)).await?)
}

/// W1 and W4 on both row shapes.
async fn reads(ctx: &Ctx<'_>, w1: bool, w4: bool, records: &mut Vec<Record>) -> Res<()> {
    let table_rows = workloads::fill_read_table(ctx).await?;
    if w1 {
        records.push(workloads::w1_get_by_id(ctx, table_rows).await?);
    }
    if w4 {
        records.push(workloads::w4_find_page(ctx).await?);
    }
    let table_rows = wide::fill_read_table(ctx).await?;
    if w1 {
        records.push(wide::w1_get_by_id(ctx, table_rows).await?);
    }
    if w4 {
        records.push(wide::w4_find_page(ctx).await?);
    }
    ctx.db.drop_schema::<wide::Event>().await?;
    Ok(())
}

async fn run_backend(args: &Args, name: &str, records: &mut Vec<Record>) -> Res<()> {
    let url = match name {
        "sqlite" => args.sqlite_url.clone(),
        "sqlite-shared" => args.sqlite_shared_url.clone(),
        "sqlite-file" => fresh_sqlite_file(&args.sqlite_file)?,
        "postgres" => args.postgres_url.clone(),
        "mysql" => args.mysql_url.clone(),
        other => {
            return Err(format!(
                "unknown backend `{other}`: expected sqlite, sqlite-shared, sqlite-file, postgres \
                 or mysql"
            )
            .into());
        }
    };
    let db = connect(&url)
        .await
        .map_err(|e| format!("{name}: cannot connect to {url}: {e}"))?;
    repo_domain::migrate(&db).await?;
    let ctx = Ctx {
        db: &db,
        backend: name,
        runs: args.runs,
        scale: args.scale,
    };
    let run = |id: &str| {
        args.workloads.is_empty() || args.workloads.iter().any(|w| w.eq_ignore_ascii_case(id))
    };
    if run("W1") || run("W4") {
        reads(&ctx, run("W1"), run("W4"), records).await?;
    }
    if run("P1") && db.backend() == Backend::Postgres {
        let table_rows = workloads::fill_read_table(&ctx).await?;
        records.extend(Box::pin(pooled::p1(&ctx, &args.pgbouncer_url, table_rows)).await?);
    }
    if run("W2") {
        records.push(Box::pin(workloads::single_inserts(&ctx, false)).await?);
        records.push(Box::pin(wide::w2_insert(&ctx)).await?);
        db.drop_schema::<wide::Event>().await?;
    }
    if run("W3") {
        records.push(Box::pin(workloads::w3_bulk_upsert(&ctx)).await?);
    }
    // Inserts in a session: on PostgreSQL each write is guarded by a savepoint, whose cost S1
    // shows. MariaDB needs none (a failed statement undoes only itself), but a server round
    // trip per insert shows what the session itself costs against a plain transaction, so S1
    // runs there too; on SQLite it would add nothing W2 does not show.
    if run("S1") && matches!(db.backend(), Backend::Postgres | Backend::MySql) {
        records.push(Box::pin(workloads::single_inserts(&ctx, true)).await?);
    }
    if run("V1") {
        records.push(Box::pin(safety::v1_versioned_update(&ctx)).await?);
    }
    if run("D1") {
        records.push(Box::pin(safety::d1_soft_delete_page(&ctx)).await?);
    }
    if run("A1") {
        records.push(Box::pin(safety::a1_audited_bulk_upsert(&ctx)).await?);
    }
    if run("W5") {
        records.push(workloads::w5_claim(&ctx, 4).await?);
        records.push(workloads::w5_claim(&ctx, 16).await?);
    }
    if run("C1") {
        records.push(cached::hits(&ctx, &url, None).await?);
    }
    if run("C2") {
        records.push(cached::hits(&ctx, &url, Some(&args.redis_url)).await?);
    }
    if run("C3") {
        records.push(cached::write_mix(&ctx, &url, CacheOptions::in_process(), "process").await?);
        let shared = CacheOptions::in_process_and_redis(&args.redis_url).namespace("repo-bench");
        records.push(cached::write_mix(&ctx, &url, shared, "process+Redis").await?);
    }
    if run("W6") {
        records.push(deep::w6_keyset(&ctx).await?);
    }
    // A server database is open to the stream's child process as it is; an in-memory SQLite
    // database is not, so SQLite streams from a file of its own.
    if run("W7") {
        if matches!(db.backend(), Backend::Postgres | Backend::MySql) {
            records.push(deep::w7_stream(&ctx, &db, &url).await?);
            db.drop_schema::<data::Item>().await?;
        } else {
            let stream_url = fresh_sqlite_file(&args.sqlite_stream_file)?;
            let stream_db = connect(&stream_url).await?;
            records.push(deep::w7_stream(&ctx, &stream_db, &stream_url).await?);
            stream_db.close().await;
        }
    }
    db.close().await;
    Ok(())
}

fn write_json(args: &Args, records: &[Record]) -> Res<()> {
    if let Some(dir) = args.json.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let json = serde_json::json!({
        "scale": args.scale,
        "runs": args.runs,
        "telemetry": args.telemetry,
        "backends": args.backends,
        "records": records,
    });
    std::fs::write(&args.json, serde_json::to_string_pretty(&json)?)?;
    Ok(())
}

async fn bench(args: &Args) -> Res<()> {
    if let Some(rows) = args.stream_child {
        let url = args
            .stream_url
            .as_deref()
            .ok_or("--stream-child needs --stream-url")?;
        return deep::stream_child(url, rows).await;
    }
    if args.runs == 0 || args.scale.is_nan() || args.scale <= 0.0 {
        return Err("--runs and --scale must be positive".into());
    }
    match args.telemetry.as_str() {
        "off" => {}
        "recorded" => telemetry::record(Some(true), true)?,
        "registered" => telemetry::record(Some(false), true)?,
        "spans" => telemetry::record(Some(false), false)?,
        "metrics" => telemetry::record(None, true)?,
        other => {
            return Err(format!(
                "--telemetry is off, registered, recorded, spans or metrics, not {other}"
            )
            .into());
        }
    }
    let mut records = Vec::new();
    let mut failure = None;
    for name in &args.backends {
        if let Err(error) = Box::pin(run_backend(args, name, &mut records)).await {
            failure = Some(error);
            break;
        }
    }
    if !records.is_empty() {
        println!(
            "\nrepo-bench: scale {}, median of {} runs; ratios are framework / baseline \
             (hand-written sqlx on the same pool unless named)\n",
            args.scale, args.runs
        );
        print!("{}", report::table(&records));
        write_json(args, &records)?;
        println!("\nfigures: {}", args.json.display());
    }
    failure.map_or(Ok(()), Err)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match Box::pin(bench(&args)).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("repo-bench: {error}");
            ExitCode::FAILURE
        }
    }
}
