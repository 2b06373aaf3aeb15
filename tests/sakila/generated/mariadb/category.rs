//! The `category` table.

use repo_core::prelude::*;

/// A row of `category`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "category")]
pub struct Category {
    #[repo(primary_key, auto)]
    pub category_id: u32,
    pub name: String,
    pub last_update: DateTime<Utc>,
}
