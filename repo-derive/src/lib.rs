//! Derives for `repo-core`: `#[derive(Repository)]` declares an entity and its repository,
//! `#[derive(DbEnum)]` stores a Rust enum by label. Use them through `repo_core::prelude`.
#![forbid(unsafe_code)]

mod ast;
mod attr;
mod ctxt;
mod expand;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Declare a table-backed entity and generate its `Entity` impl, typed column constants
/// (`Dataset::SOURCE_NAME`) and the repository newtype `DatasetRepository`.
///
/// Struct attributes: `#[repo(table = "datasets", unique(a, b), index(c))]`.
/// Field attributes: `primary_key`, `auto` (database-generated integer key),
/// `column = "name"`, `created_at`, `updated_at`, `json`, `unique`, `index`.
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
