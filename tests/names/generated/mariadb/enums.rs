//! The enum types of the generated entities' columns.

use repo_core::prelude::*;

/// The labels of an `ENUM` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, DbEnum)]
pub enum OrderItemsState {
    Open,
    #[repo(rename = "PG-13")]
    Pg13,
    #[repo(rename = "it's")]
    ItS,
    #[repo(rename = "Open")]
    Open2,
}
