//! The `staff` table.

use chrono::NaiveDateTime;
use repo_core::prelude::*;

/// A row of `staff`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "staff")]
pub struct Staff {
    #[repo(primary_key, auto)]
    pub staff_id: i64,
    pub first_name: String,
    pub last_name: String,
    #[repo(index)]
    pub address_id: i64,
    pub picture: Option<Vec<u8>>,
    pub email: Option<String>,
    #[repo(index)]
    pub store_id: i64,
    pub active: i64,
    pub username: String,
    pub password: Option<String>,
    pub last_update: NaiveDateTime,
}
