//! The `store` table.

use chrono::NaiveDateTime;
use repo_core::prelude::*;

/// A row of `store`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "store")]
pub struct Store {
    #[repo(primary_key, auto)]
    pub store_id: i64,
    #[repo(index)]
    pub manager_staff_id: i64,
    #[repo(index)]
    pub address_id: i64,
    pub last_update: NaiveDateTime,
}
