//! The `language` table.

use chrono::NaiveDateTime;
use repo_core::prelude::*;

/// A row of `language`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "language")]
pub struct Language {
    #[repo(primary_key, auto)]
    pub language_id: i32,
    pub name: String,
    pub last_update: NaiveDateTime,
}
