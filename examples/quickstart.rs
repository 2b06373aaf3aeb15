//! Quickstart: declare an entity, create its table, write and query it.
//!
//! Runs on an in-memory SQLite database, or on the database named by `DATABASE_URL`
//! (`postgres://…` or `sqlite:…`).

use repo_core::prelude::*;

/// Where a dataset is in its enrichment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, DbEnum)]
pub enum EnrichmentStatus {
    Minimal,
    Enriching,
    Enriched,
    Failed,
}

/// A dataset from some source, unique per source and external id.
#[derive(Debug, Clone, Repository)]
#[repo(
    table = "quickstart_datasets",
    unique(source_name, external_id),
    index(enrichment_status)
)]
pub struct Dataset {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub source_name: String,
    pub external_id: String,
    pub title: String,
    pub url: Option<String>,
    pub enrichment_status: EnrichmentStatus,
    pub enrichment_attempts: i32,
    pub embedding: Option<Vec<f32>>,
    #[repo(created_at)]
    pub created_at: DateTime<Utc>,
    #[repo(updated_at)]
    pub updated_at: DateTime<Utc>,
}

fn dataset(source: &str, external_id: &str, title: &str) -> Dataset {
    Dataset {
        id: 0,
        source_name: source.into(),
        external_id: external_id.into(),
        title: title.into(),
        url: None,
        enrichment_status: EnrichmentStatus::Minimal,
        enrichment_attempts: 0,
        embedding: None,
        created_at: Utc::now(),
        updated_at: Utc::now(),
    }
}

#[tokio::main]
async fn main() -> repo_core::Result<()> {
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "sqlite::memory:".into());
    let db = Db::connect(&url).await?;
    db.create_schema::<Dataset>().await?;
    println!("connected to {:?} ({url})", db.backend());

    // A unit of work: both writes commit together.
    let session = db.begin().await?;
    let repo = DatasetRepository::new(&session);
    let first = repo
        .upsert(&dataset("kaggle", "owner/titanic", "Titanic"))
        .await?;
    let batch: Vec<Dataset> = (0..1_000)
        .map(|i| dataset("kaggle", &format!("owner/set-{i}"), &format!("Set {i}")))
        .collect();
    let written = repo.bulk_upsert(&batch).await?;
    session.commit().await?;
    println!(
        "upserted #{} and {written} more in one transaction",
        first.id
    );

    let repo = DatasetRepository::new(&db);
    let marked = repo
        .update_where(
            Dataset::EXTERNAL_ID.like("owner/set-1%"),
            [Dataset::ENRICHMENT_STATUS.set(EnrichmentStatus::Failed)],
        )
        .await?;
    println!("marked {marked} datasets failed");

    let page = repo
        .find(
            Dataset::SOURCE_NAME.eq("kaggle").and(
                Dataset::ENRICHMENT_STATUS
                    .is_in([EnrichmentStatus::Minimal, EnrichmentStatus::Failed]),
            ),
            PageRequest::new(5)
                .offset(10)
                .order_by(Dataset::EXTERNAL_ID.asc()),
        )
        .await?;
    println!("page of {} from {} matching:", page.items.len(), page.total);
    for d in &page.items {
        println!(
            "  #{:<5} {:<20} {:?}",
            d.id, d.external_id, d.enrichment_status
        );
    }

    let mut pages = 0;
    let mut cursor = None;
    loop {
        let keyset = repo
            .find_keyset(
                Filter::all(),
                KeysetRequest::new(250)
                    .order_by(Dataset::CREATED_AT.desc())
                    .after_opt(cursor),
            )
            .await?;
        pages += 1;
        match keyset.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    println!("walked all rows in {pages} keyset pages");
    println!(
        "failed: {}, total: {}",
        repo.count(Dataset::ENRICHMENT_STATUS.eq(EnrichmentStatus::Failed))
            .await?,
        repo.count(Filter::all()).await?
    );
    Ok(())
}
