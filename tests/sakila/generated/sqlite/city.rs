//! The `city` table.

use chrono::NaiveDateTime;
use repo_core::prelude::*;

/// A row of `city`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "city")]
pub struct City {
    #[repo(primary_key, auto)]
    pub city_id: i64,
    pub city: String,
    #[repo(index)]
    pub country_id: i64,
    pub last_update: NaiveDateTime,
}
