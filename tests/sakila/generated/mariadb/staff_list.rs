//! The `staff_list` view.

use repo_core::prelude::*;

/// A row of `staff_list`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "staff_list")]
#[repo(read_only)]
pub struct StaffList {
    #[repo(column = "ID")]
    pub id: u32,
    pub name: Option<String>,
    pub address: String,
    #[repo(column = "zip code")]
    pub zip_code: Option<String>,
    pub phone: String,
    pub city: String,
    pub country: String,
    #[repo(column = "SID")]
    pub sid: u32,
}
