//! The `customer` table.

use chrono::NaiveDateTime;
use repo_core::prelude::*;

/// A row of `customer`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "customer")]
pub struct Customer {
    #[repo(primary_key, auto)]
    pub customer_id: u32,
    #[repo(index)]
    pub store_id: u32,
    pub first_name: String,
    #[repo(index)]
    pub last_name: String,
    pub email: Option<String>,
    #[repo(index)]
    pub address_id: u32,
    pub active: bool,
    pub create_date: NaiveDateTime,
    pub last_update: Option<DateTime<Utc>>,
}
