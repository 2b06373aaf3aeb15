//! The `film` table.

use repo_core::prelude::*;
use rust_decimal::Decimal;

use super::enums::FilmRating;

/// A row of `film`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "film")]
pub struct Film {
    #[repo(primary_key, auto)]
    pub film_id: u32,
    #[repo(index)]
    pub title: String,
    pub description: Option<String>,
    // `release_year` (year(4)): no field type reads this column type; left out.
    #[repo(index)]
    pub language_id: u32,
    #[repo(index)]
    pub original_language_id: Option<u32>,
    pub rental_duration: u32,
    pub rental_rate: Decimal,
    pub length: Option<u32>,
    pub replacement_cost: Decimal,
    pub rating: Option<FilmRating>,
    // `special_features` (set('Trailers','Commentaries','Deleted Scenes','Behind the Scenes')): no field type reads this column type; left out.
    pub last_update: DateTime<Utc>,
}
