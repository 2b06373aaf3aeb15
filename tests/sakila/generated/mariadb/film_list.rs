//! The `film_list` view.

use repo_core::prelude::*;
use rust_decimal::Decimal;

use super::enums::FilmListRating;

/// A row of `film_list`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "film_list")]
#[repo(read_only)]
pub struct FilmList {
    #[repo(column = "FID")]
    pub fid: Option<u32>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: String,
    pub price: Option<Decimal>,
    pub length: Option<u32>,
    pub rating: Option<FilmListRating>,
    pub actors: Option<String>,
}
