//! The `staff` table.

use repo_core::prelude::*;

/// A row of `staff`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "staff")]
pub struct Staff {
    #[repo(primary_key, auto)]
    pub staff_id: u32,
    pub first_name: String,
    pub last_name: String,
    #[repo(index)]
    pub address_id: u32,
    pub picture: Option<Vec<u8>>,
    pub email: Option<String>,
    #[repo(index)]
    pub store_id: u32,
    pub active: bool,
    pub username: String,
    pub password: Option<String>,
    pub last_update: DateTime<Utc>,
}
