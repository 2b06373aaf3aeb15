//! The `nicer_but_slower_film_list` view.

use repo_core::prelude::*;
use rust_decimal::Decimal;

use super::enums::NicerButSlowerFilmListRating;

/// A row of `nicer_but_slower_film_list`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "nicer_but_slower_film_list")]
#[repo(read_only)]
pub struct NicerButSlowerFilmList {
    #[repo(column = "FID")]
    pub fid: Option<u32>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub category: String,
    pub price: Option<Decimal>,
    pub length: Option<u32>,
    pub rating: Option<NicerButSlowerFilmListRating>,
    pub actors: Option<String>,
}
