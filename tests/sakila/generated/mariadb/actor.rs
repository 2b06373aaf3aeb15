//! The `actor` table.

use repo_core::prelude::*;

/// A row of `actor`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "actor")]
pub struct Actor {
    #[repo(primary_key, auto)]
    pub actor_id: u32,
    pub first_name: String,
    #[repo(index)]
    pub last_name: String,
    pub last_update: DateTime<Utc>,
}
