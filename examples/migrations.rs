//! Migrations from declarations: a binary of the application that registers its entities
//! and runs the `repo` command line with them, so `diff` compares them with a database and
//! writes the sqlx migration that makes its schema what they declare.
//!
//! ```sh
//! cargo run -p repo-examples --example migrations -- \
//!     diff --url "sqlite://shop.db?mode=rwc" --out migrations/sqlite
//! ```
//!
//! A second run after applying the migration (`sqlx migrate run`, or `Migrator::run`) says
//! there is nothing to write. `generate` works here too.

use std::process::ExitCode;

use repo_core::prelude::*;
use repo_core::verify::Declaration;

/// A customer of the shop.
#[derive(Debug, Clone, Repository)]
#[repo(table = "customers", unique(email))]
pub struct Customer {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub email: String,
    /// Called `name` before: the migration renames the column instead of dropping it.
    #[repo(renamed_from = "name")]
    pub display_name: String,
    pub phone: Option<String>,
}

/// An order of a customer.
#[derive(Debug, Clone, Repository)]
#[repo(table = "orders", index(customer_id, placed_at))]
pub struct Order {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub customer_id: i64,
    pub total: i64,
    pub placed_at: chrono::DateTime<chrono::Utc>,
    pub note: Option<String>,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    repo_cli::run(&[Declaration::of::<Customer>(), Declaration::of::<Order>()]).await
}
