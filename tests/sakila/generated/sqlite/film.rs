//! The `film` table.

use chrono::NaiveDateTime;
use repo_core::prelude::*;
use rust_decimal::Decimal;

/// A row of `film`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "film")]
pub struct Film {
    #[repo(primary_key, auto)]
    pub film_id: i64,
    pub title: String,
    pub description: Option<String>,
    pub release_year: Option<String>,
    #[repo(index)]
    pub language_id: i64,
    #[repo(index)]
    pub original_language_id: Option<i64>,
    pub rental_duration: i64,
    pub rental_rate: Decimal,
    pub length: Option<i64>,
    pub replacement_cost: Decimal,
    pub rating: Option<String>,
    pub special_features: Option<String>,
    pub last_update: NaiveDateTime,
}
