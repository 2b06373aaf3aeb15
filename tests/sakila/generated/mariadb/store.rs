//! The `store` table.

use repo_core::prelude::*;

/// A row of `store`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "store")]
pub struct Store {
    #[repo(primary_key, auto)]
    pub store_id: u32,
    #[repo(unique)]
    pub manager_staff_id: u32,
    #[repo(index)]
    pub address_id: u32,
    pub last_update: DateTime<Utc>,
}
