//! The rules a model must keep before anything is generated from it: within a field (one
//! role, a known upsert action), across fields (one primary key, distinct columns, keys that
//! name real fields, distinct labels) and on the item (a table, a usable input type name).
//! Every breach is reported into the `Ctxt` and the other rules still run, so the user sees
//! all mistakes at once.
//!
//! The models (`crate::ast`) keep what was written, spans included; the checks point at it.

mod db_enum;
mod entity;
mod row;

pub use db_enum::db_enum;
pub use entity::entity;
pub use row::row;

#[cfg(test)]
mod tests;
