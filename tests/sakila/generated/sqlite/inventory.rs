//! The `inventory` table.

use chrono::NaiveDateTime;
use repo_core::prelude::*;

/// A row of `inventory`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "inventory")]
#[repo(index(store_id, film_id))]
pub struct Inventory {
    #[repo(primary_key, auto)]
    pub inventory_id: i64,
    #[repo(index)]
    pub film_id: i64,
    pub store_id: i64,
    pub last_update: NaiveDateTime,
}
