//! The `customer_list` view.

use repo_core::prelude::*;

/// A row of `customer_list`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "customer_list")]
#[repo(read_only)]
pub struct CustomerList {
    #[repo(column = "ID")]
    pub id: Option<i64>,
    // `name` ((none declared)): no field type reads this column type; left out.
    pub address: Option<String>,
    pub zip_code: Option<String>,
    pub phone: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    // `notes` ((none declared)): no field type reads this column type; left out.
    #[repo(column = "SID")]
    pub sid: Option<i64>,
}
