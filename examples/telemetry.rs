//! Telemetry: what the framework tells tracing and metrics, printed to stdout (no network).
//!
//! Spans are printed as they close (the repository call, and under it each statement with
//! OpenTelemetry's database attributes); metrics are kept by the Prometheus exporter's
//! recorder and printed in its text format; `count_statements` catches an N+1 loop. Runs on an
//! in-memory SQLite database, or on the database named by `DATABASE_URL`.

use std::time::Duration;

use repo_core::prelude::*;
use repo_core::telemetry::{DURATION_BUCKETS, count_statements};
use tracing_subscriber::fmt::format::FmtSpan;

#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "books", unique(isbn))]
pub struct Book {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub isbn: String,
    pub title: String,
    pub copies: i32,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Spans at INFO (the framework's; sqlx logs its statements at DEBUG), printed as they close.
    tracing_subscriber::fmt()
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_target(false)
        .without_time()
        .init();
    // Metrics: install the recorder before connecting (the pool registers its gauges then).
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&DURATION_BUCKETS)?
        .install_recorder()?;

    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite::memory:".to_owned());
    let db = Db::connect_with(
        &url,
        DbOptions::new()
            .record_query_text(true)
            .slow_statement_threshold(Some(Duration::from_millis(250))),
    )
    .await?;
    db.create_schema::<Book>().await?;
    let books = BookRepository::new(&db);

    println!("--- spans of an insert, a page and a failed insert");
    let dune = books
        .insert_new(NewBook {
            isbn: "978-0441013593".into(),
            title: "Dune".into(),
            copies: 3,
        })
        .await?;
    books.find(Book::COPIES.gt(0), PageRequest::new(10)).await?;
    let taken = books.insert(&dune).await.unwrap_err();
    println!("(the second insert failed as expected: {})", taken.kind());

    println!("\n--- count_statements: a read per book is an N+1 pattern");
    let ids = [dune.id, dune.id, dune.id];
    let (_, sent) = count_statements(async {
        for id in ids {
            books.get(id).await?;
        }
        Ok::<_, repo_core::Error>(())
    })
    .await;
    println!("{} statements: {:?}", sent.len(), sent.summaries());

    println!("\n--- metrics (Prometheus text format)");
    let rendered = metrics.render();
    for line in rendered.lines().filter(|line| {
        line.starts_with("db_client_operation_duration_count")
            || line.starts_with("db_client_connection")
            || line.starts_with("# TYPE db_client")
    }) {
        println!("{line}");
    }
    db.close().await;
    Ok(())
}
