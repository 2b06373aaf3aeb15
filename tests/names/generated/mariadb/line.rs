//! The `line` table.

use repo_core::prelude::*;

/// A row of `line`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "line")]
pub struct Line {
    #[repo(primary_key)]
    pub order_id: i32,
    #[repo(primary_key)]
    pub line: i16,
    pub note: Option<String>,
}
