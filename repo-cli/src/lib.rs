//! The `repo` command's work, as a library: [`generate`] writes entity declarations from
//! the tables of a live database.

pub mod generate;
mod names;
