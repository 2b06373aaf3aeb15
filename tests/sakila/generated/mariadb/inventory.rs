//! The `inventory` table.

use repo_core::prelude::*;

/// A row of `inventory`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "inventory")]
#[repo(index(store_id, film_id))]
pub struct Inventory {
    #[repo(primary_key, auto)]
    pub inventory_id: u32,
    #[repo(index)]
    pub film_id: u32,
    pub store_id: u32,
    pub last_update: DateTime<Utc>,
}
