//! The application's domain: datasets and their enrichment, API errors, generation pipelines.
//!
//! Six entities declared with `#[derive(Repository)]` ([`entities`]), a repository for each with
//! the operations the application needs as inherent methods, and versioned migrations for
//! PostgreSQL and SQLite applied by [`migrate()`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> repo_core::Result<()> {
//! use repo_core::prelude::*;
//! use repo_domain::{Dataset, DatasetRepository, EnrichmentStatus};
//!
//! let db = Db::connect("sqlite::memory:").await?;
//! repo_domain::migrate(&db).await?;
//! let repo = DatasetRepository::new(&db);
//! repo.upsert(&Dataset::new("kaggle", "owner/name", "My Dataset")).await?;
//! let found = repo.get_by_external_id("kaggle", "owner/name").await?.unwrap();
//! assert_eq!(found.enrichment_status, EnrichmentStatus::Minimal);
//! # Ok(()) }
//! ```

mod api_errors;
mod datasets;
mod enrichment_logs;
pub mod entities;
pub mod migrate;
mod pipelines;

pub use api_errors::{AggregationFilters, ErrorFilters, ErrorStats};
pub use datasets::{DEFAULT_LEASE, SourceStats, StatusCounts};
pub use enrichment_logs::{ErrorTypeCount, StageResultStats};
pub use entities::*;
pub use migrate::migrate;
pub use pipelines::{FindOptions, PipelineStats, PipelineUpdate};
