//! The `staff` table.

use chrono::NaiveDateTime;
use repo_core::prelude::*;

/// A row of `staff`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "staff")]
pub struct Staff {
    #[repo(primary_key, auto)]
    pub staff_id: i32,
    pub first_name: String,
    pub last_name: String,
    pub address_id: i32,
    pub email: Option<String>,
    pub store_id: i32,
    pub active: bool,
    pub username: String,
    pub password: Option<String>,
    pub last_update: NaiveDateTime,
    pub picture: Option<Vec<u8>>,
}
