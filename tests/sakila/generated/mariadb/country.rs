//! The `country` table.

use repo_core::prelude::*;

/// A row of `country`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "country")]
pub struct Country {
    #[repo(primary_key, auto)]
    pub country_id: u32,
    pub country: String,
    pub last_update: DateTime<Utc>,
}
