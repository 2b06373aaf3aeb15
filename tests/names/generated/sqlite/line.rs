//! The `line` table.

use repo_core::prelude::*;

/// A row of `line`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "line")]
pub struct Line {
    #[repo(primary_key)]
    pub order_id: i64,
    #[repo(primary_key)]
    pub line: i64,
    pub note: Option<String>,
}
