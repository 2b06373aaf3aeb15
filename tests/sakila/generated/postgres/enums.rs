//! The enum types of the generated entities' columns.

use repo_core::prelude::*;

/// The enum type `mpaa_rating`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, DbEnum)]
#[repo(type_name = "mpaa_rating")]
pub enum MpaaRating {
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
