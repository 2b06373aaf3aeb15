//! The `film_list` view.

use repo_core::prelude::*;
use rust_decimal::Decimal;

use super::enums::MpaaRating;

/// A row of `film_list`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "film_list")]
#[repo(read_only)]
pub struct FilmList {
    pub fid: Option<i32>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub price: Option<Decimal>,
    pub length: Option<i16>,
    pub rating: Option<MpaaRating>,
    pub actors: Option<String>,
}
