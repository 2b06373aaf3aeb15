//! The `film_category` table.

use repo_core::prelude::*;

/// A row of `film_category`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "film_category")]
pub struct FilmCategory {
    #[repo(primary_key)]
    pub film_id: u32,
    #[repo(primary_key, index)]
    pub category_id: u32,
    pub last_update: DateTime<Utc>,
}
