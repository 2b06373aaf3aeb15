//! The `staff_list` view.

use repo_core::prelude::*;

/// A row of `staff_list`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "staff_list")]
#[repo(read_only)]
pub struct StaffList {
    pub id: Option<i32>,
    pub name: Option<String>,
    pub address: Option<String>,
    #[repo(column = "zip code")]
    pub zip_code: Option<String>,
    pub phone: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub sid: Option<i32>,
}
