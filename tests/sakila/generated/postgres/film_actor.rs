//! The `film_actor` table.

use chrono::NaiveDateTime;
use repo_core::prelude::*;

/// A row of `film_actor`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "film_actor")]
pub struct FilmActor {
    #[repo(primary_key)]
    pub actor_id: i32,
    #[repo(primary_key, index)]
    pub film_id: i32,
    pub last_update: NaiveDateTime,
}
