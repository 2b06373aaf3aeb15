//! The entity, enum and row models the expansion works from, checked across fields: one
//! file per derive.

mod db_enum;
mod entity;
mod row;

use syn::DeriveInput;

use crate::ctxt::Ctxt;

pub use db_enum::{Enum, db_enum};
pub use entity::{Entity, Field, OnConflict, Role, entity};
pub use row::{Row, row};

fn not_a_struct(cx: &Ctxt, input: &DeriveInput, derive: &str, what: &str) {
    cx.error_spanned_by(&input.ident, format!("#[derive({derive})] works on {what}"));
}

#[cfg(test)]
mod tests;
