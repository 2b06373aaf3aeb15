//! The `film` table.

use chrono::NaiveDateTime;
use repo_core::prelude::*;
use rust_decimal::Decimal;

use super::enums::MpaaRating;

/// A row of `film`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "film")]
pub struct Film {
    #[repo(primary_key, auto)]
    pub film_id: i32,
    #[repo(index)]
    pub title: String,
    pub description: Option<String>,
    pub release_year: Option<i32>,
    #[repo(index)]
    pub language_id: i32,
    #[repo(index)]
    pub original_language_id: Option<i32>,
    pub rental_duration: i16,
    pub rental_rate: Decimal,
    pub length: Option<i16>,
    pub replacement_cost: Decimal,
    pub rating: Option<MpaaRating>,
    pub last_update: NaiveDateTime,
    // `special_features` (text[]): no field type reads this column type; left out.
    // `fulltext` (tsvector, NOT NULL): no field type reads this column type; left out.
}
