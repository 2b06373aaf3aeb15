//! The enum types of the generated entities' columns.

use repo_core::prelude::*;

/// The labels of an `ENUM` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, DbEnum)]
pub enum FilmListRating {
    #[repo(rename = "G")]
    G,
    #[repo(rename = "PG")]
    Pg,
    #[repo(rename = "PG-13")]
    Pg13,
    #[repo(rename = "R")]
    R,
    #[repo(rename = "NC-17")]
    Nc17,
}

/// The labels of an `ENUM` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, DbEnum)]
pub enum FilmRating {
    #[repo(rename = "G")]
    G,
    #[repo(rename = "PG")]
    Pg,
    #[repo(rename = "PG-13")]
    Pg13,
    #[repo(rename = "R")]
    R,
    #[repo(rename = "NC-17")]
    Nc17,
}

/// The labels of an `ENUM` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, DbEnum)]
pub enum NicerButSlowerFilmListRating {
    #[repo(rename = "G")]
    G,
    #[repo(rename = "PG")]
    Pg,
    #[repo(rename = "PG-13")]
    Pg13,
    #[repo(rename = "R")]
    R,
    #[repo(rename = "NC-17")]
    Nc17,
}
