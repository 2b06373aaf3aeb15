//! The `country` table.

use chrono::NaiveDateTime;
use repo_core::prelude::*;

/// A row of `country`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "country")]
pub struct Country {
    #[repo(primary_key, auto)]
    pub country_id: i32,
    pub country: String,
    pub last_update: NaiveDateTime,
}
