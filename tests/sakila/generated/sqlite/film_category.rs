//! The `film_category` table.

use chrono::NaiveDateTime;
use repo_core::prelude::*;

/// A row of `film_category`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "film_category")]
pub struct FilmCategory {
    #[repo(primary_key, index)]
    pub film_id: i64,
    #[repo(primary_key, index)]
    pub category_id: i64,
    pub last_update: NaiveDateTime,
}
