//! The `film_text` table.

use repo_core::prelude::*;

/// A row of `film_text`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "film_text")]
pub struct FilmText {
    #[repo(primary_key)]
    pub film_id: i32,
    pub title: String,
    pub description: Option<String>,
}
