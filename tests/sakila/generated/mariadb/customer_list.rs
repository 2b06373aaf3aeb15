//! The `customer_list` view.

use repo_core::prelude::*;

/// A row of `customer_list`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "customer_list")]
#[repo(read_only)]
pub struct CustomerList {
    #[repo(column = "ID")]
    pub id: u32,
    pub name: Option<String>,
    pub address: String,
    #[repo(column = "zip code")]
    pub zip_code: Option<String>,
    pub phone: String,
    pub city: String,
    pub country: String,
    pub notes: String,
    #[repo(column = "SID")]
    pub sid: u32,
}
