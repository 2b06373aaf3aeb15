//! The `city` table.

use repo_core::prelude::*;

/// A row of `city`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "city")]
pub struct City {
    #[repo(primary_key, auto)]
    pub city_id: u32,
    pub city: String,
    #[repo(index)]
    pub country_id: u32,
    pub last_update: DateTime<Utc>,
}
