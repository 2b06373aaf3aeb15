//! The `repo` command's work, as a library: [`generate`] writes entity declarations from
//! the tables of a live database; [`run`] is the whole command line, which a project calls
//! from a binary of its own with its entities' declarations to run `repo diff` (migrations
//! from declarations, see [`repo_core::Db::diff`]).

mod cli;
pub mod generate;
mod names;

pub use cli::{run, run_with, summary};
