//! The `address` table.

use repo_core::prelude::*;

/// A row of `address`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "address")]
pub struct Address {
    #[repo(primary_key, auto)]
    pub address_id: u32,
    pub address: String,
    pub address2: Option<String>,
    pub district: String,
    #[repo(index)]
    pub city_id: u32,
    pub postal_code: Option<String>,
    pub phone: String,
    pub last_update: DateTime<Utc>,
}
