//! The `film_list` view.

use repo_core::prelude::*;
use rust_decimal::Decimal;

/// A row of `film_list`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "film_list")]
#[repo(read_only)]
pub struct FilmList {
    #[repo(column = "FID")]
    pub fid: Option<i64>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub price: Option<Decimal>,
    pub length: Option<i64>,
    pub rating: Option<String>,
    // `actors` ((none declared)): no field type reads this column type; left out.
}
