//! The `customer_list` view.

use repo_core::prelude::*;

/// A row of `customer_list`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "customer_list")]
#[repo(read_only)]
pub struct CustomerList {
    pub id: Option<i32>,
    pub name: Option<String>,
    pub address: Option<String>,
    #[repo(column = "zip code")]
    pub zip_code: Option<String>,
    pub phone: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub notes: Option<String>,
    pub sid: Option<i32>,
}
