//! The models the derives generate from, read from the input item and its `#[repo(...)]`
//! attributes: an entity, a stored enum, a row of a custom query.
//!
//! Reading only: a model is built from whatever was written, and the only errors reported here
//! are the attribute grammar's and an item whose shape no model fits (a tuple struct, an
//! enum where a struct belongs, generics). Whether what was written makes sense together (one
//! primary key, distinct columns, keys naming real fields) is judged by `crate::valid`,
//! which reads the `repo` attributes each model keeps for their spans.

mod db_enum;
mod entity;
mod row;

use syn::{DeriveInput, Ident, LitStr};

use crate::ctxt::Ctxt;

pub use db_enum::{Enum, RENAME_RULES, db_enum};
pub use entity::{Entity, Field, ON_CONFLICT, OnConflict, Role, entity, role_keys};
pub use row::{Row, row};

fn not_a_struct(cx: &Ctxt, input: &DeriveInput, derive: &str, what: &str) {
    cx.error_spanned_by(&input.ident, format!("#[derive({derive})] works on {what}"));
}

/// The column a field maps to: the `column = "..."` given, else the field's name without `r#`.
fn column_name(ident: &Ident, column: Option<&LitStr>) -> String {
    column.map_or_else(
        || ident.to_string().trim_start_matches("r#").to_owned(),
        LitStr::value,
    )
}

#[cfg(test)]
mod tests;
