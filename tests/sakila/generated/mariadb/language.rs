//! The `language` table.

use repo_core::prelude::*;

/// A row of `language`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "language")]
pub struct Language {
    #[repo(primary_key, auto)]
    pub language_id: u32,
    pub name: String,
    pub last_update: DateTime<Utc>,
}
