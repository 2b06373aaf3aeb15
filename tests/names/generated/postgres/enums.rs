//! The enum types of the generated entities' columns.

use repo_core::prelude::*;

/// The enum type `Ticket State`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, DbEnum)]
#[repo(type_name = "Ticket State")]
pub enum TicketState {
    Open,
    #[repo(rename = "PG-13")]
    Pg13,
    #[repo(rename = "it's")]
    ItS,
    #[repo(rename = "Open")]
    Open2,
}
