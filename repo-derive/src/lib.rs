//! Derives for `repo-core`: `#[derive(Repository)]` declares an entity and its repository,
//! `#[derive(DbEnum)]` stores a Rust enum by label, `#[derive(FromRow)]` reads the rows of a
//! custom query. Use them through `repo_core::prelude`.
#![forbid(unsafe_code)]

mod ast;
mod attr;
mod ctxt;
mod expand;
mod valid;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Declare a table-backed entity and generate its `Entity` impl, typed column constants
/// (`Dataset::SOURCE_NAME`), the repository newtype `DatasetRepository` and the input type
/// `NewDataset`: every field but an `auto` primary key and the `created_at` / `updated_at` /
/// `version` / `soft_delete` fields, which the database and the repository set (`insert_new`
/// takes it). `NewDataset` has
/// the entity's visibility and implements `Debug`, `Clone` and `PartialEq` whenever its field
/// types do.
///
/// Struct attributes: `#[repo(table = "datasets", unique(a, b), index(c))]`;
/// `new = "CreateDataset"` names the input type, `no_new` makes the entity its own input.
/// Field attributes: `primary_key`, `auto` (database-generated integer key),
/// `column = "name"`, `created_at`, `updated_at`, `version` (an `i64` or `i32` for optimistic
/// locking), `soft_delete` (an `Option<DateTime<Utc>>` set by deletes), `json`, `unique`,
/// `index`.
#[proc_macro_derive(Repository, attributes(repo))]
pub fn derive_repository(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive_repository(&input).into()
}

/// Store a fieldless enum by label: a native enum type on PostgreSQL, text elsewhere.
///
/// Enum attributes: `#[repo(type_name = "status", rename_all = "snake_case")]`; variant
/// attribute: `#[repo(rename = "label")]`.
#[proc_macro_derive(DbEnum, attributes(repo))]
pub fn derive_db_enum(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive_db_enum(&input).into()
}

/// Read a struct from a result row of a custom query (`repo_core::FromDbRow`): each field from
/// the column of its name, decoded through `repo_core::DbField` exactly as entity fields are,
/// so enums, timestamps, embeddings and JSON read the same on every backend.
///
/// Field attributes: `#[repo(column = "name")]` (the column, when it differs from the field),
/// `#[repo(json)]` (any serde type, stored as JSON).
///
/// sqlx's own `#[derive(sqlx::FromRow)]` is not reused: its expansion names `::sqlx`, which
/// needs a direct sqlx dependency, and it decodes with each backend's sqlx types instead of
/// the framework's column types.
#[proc_macro_derive(FromRow, attributes(repo))]
pub fn derive_from_row(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive_from_row(&input).into()
}
