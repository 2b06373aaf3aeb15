//! The `customer` table.

use chrono::{NaiveDate, NaiveDateTime};
use repo_core::prelude::*;

/// A row of `customer`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "customer")]
pub struct Customer {
    #[repo(primary_key, auto)]
    pub customer_id: i32,
    #[repo(index)]
    pub store_id: i32,
    pub first_name: String,
    #[repo(index)]
    pub last_name: String,
    pub email: Option<String>,
    #[repo(index)]
    pub address_id: i32,
    pub activebool: bool,
    pub create_date: NaiveDate,
    pub last_update: Option<NaiveDateTime>,
    pub active: Option<i32>,
}
