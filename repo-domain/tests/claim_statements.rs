//! A leased claim takes expired and available datasets in one statement (in one transaction on
//! MariaDB), counted from the statements sqlx reports: a claim is a worker's hot path, and a
//! second round trip per batch is what W5 of `repo-bench` measured.
//!
//! Its own test binary with one test, as it installs a process-wide subscriber: statements of
//! other tests would be counted too.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use repo_core::prelude::*;
use repo_domain::*;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt as _};

/// The text of every statement sqlx ran.
#[derive(Clone, Default)]
struct Statements(Arc<Mutex<Vec<String>>>);

struct Text<'a>(&'a mut String);

impl Visit for Text<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" || field.name() == "db.statement" {
            let _ = write!(self.0, "{value:?} ");
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "summary" || field.name() == "db.statement" {
            self.0.push_str(value);
            self.0.push(' ');
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Statements {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        if event.metadata().target() == "sqlx::query" {
            let mut text = String::new();
            event.record(&mut Text(&mut text));
            self.0.lock().unwrap().push(text);
        }
    }
}

impl Statements {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leased_claim_is_one_statement() {
    let statements = Statements::default();
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(statements.clone()),
    )
    .unwrap();
    for db in [
        repo_tests::sqlite("a_leased_claim_is_one_statement").await,
        repo_tests::postgres("a_leased_claim_is_one_statement").await,
        repo_tests::mysql("a_leased_claim_is_one_statement").await,
    ] {
        claim_once(&db, &statements).await;
    }
}

/// One dataset under an expired lease, one under a live lease, two pending: a claim of ten
/// takes the expired one (its lost attempt counted) and the pending ones, in one statement.
async fn claim_once(db: &Db, statements: &Statements) {
    let backend = db.backend();
    migrate(db).await.unwrap();
    let repo = DatasetRepository::new(db);
    let held = |name: &str, by: &str, at: DateTime<Utc>| {
        let mut dataset = Dataset::new("kaggle", name, "t");
        dataset.enrichment_status = EnrichmentStatus::Enriching;
        dataset.claimed_by = Some(by.to_owned());
        dataset.claimed_at = Some(at);
        dataset
    };
    let now = Utc::now();
    let rows = [
        held("expired", "dead", now - chrono::TimeDelta::hours(1)),
        held("live", "alive", now),
        Dataset::new("kaggle", "pending/1", "t"),
        Dataset::new("kaggle", "pending/2", "t"),
    ];
    repo.bulk_insert(&rows).await.unwrap();

    // The driver may report a statement just after its result arrives.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    statements.take();
    let claimed = repo
        .claim_pending_for_enrichment("kaggle", 10, 3, "w")
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // Not the driver's own statements (PostgreSQL's enum type lookups on first use, SQLite's
    // set-up of a new connection), nor the one read of the table's description a `Db` makes
    // before its first write that returns rows of an entity.
    let ran: Vec<String> = statements
        .take()
        .into_iter()
        .filter(|s| {
            !s.contains("pg_catalog")
                && !s.starts_with("PRAGMA")
                && !s.contains("pragma_table_info")
                && !s.contains("FROM pg_attribute")
                && !s.contains("information_schema.COLUMNS")
        })
        .collect();

    let got: Vec<(&str, i32)> = claimed
        .iter()
        .map(|d| (d.external_id.as_str(), d.enrichment_attempts))
        .collect();
    assert_eq!(
        got,
        [("expired", 1), ("pending/1", 0), ("pending/2", 0)],
        "{backend:?}"
    );
    assert!(
        claimed
            .iter()
            .all(|d| d.claimed_by.as_deref() == Some("w") && d.claimed_at.is_some()),
        "{backend:?}: {claimed:?}"
    );
    let updates = ran.iter().filter(|s| s.contains(" SET ")).count();
    assert_eq!(
        updates, 1,
        "{backend:?}: one update per claim, ran {ran:#?}"
    );
    if backend.capabilities().returning_on_update {
        // Transaction control aside (a write whose returned rows might not decode runs in a
        // transaction of its own).
        let statements = ran
            .iter()
            .filter(|s| !["BEGIN", "COMMIT"].iter().any(|word| s.starts_with(word)))
            .count();
        assert_eq!(
            statements, 1,
            "{backend:?}: one statement per claim, ran {ran:#?}"
        );
    } else {
        let begins = ran
            .iter()
            .filter(|s| s.contains("BEGIN") || s.contains("START TRANSACTION"))
            .count();
        assert_eq!(
            begins, 1,
            "{backend:?}: one transaction per claim, ran {ran:#?}"
        );
    }
}
