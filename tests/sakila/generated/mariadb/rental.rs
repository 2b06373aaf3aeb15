//! The `rental` table.

use chrono::NaiveDateTime;
use repo_core::prelude::*;

/// A row of `rental`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "rental")]
#[repo(unique(rental_date, inventory_id, customer_id))]
pub struct Rental {
    #[repo(primary_key, auto)]
    pub rental_id: i32,
    pub rental_date: NaiveDateTime,
    #[repo(index)]
    pub inventory_id: u32,
    #[repo(index)]
    pub customer_id: u32,
    pub return_date: Option<NaiveDateTime>,
    #[repo(index)]
    pub staff_id: u32,
    pub last_update: DateTime<Utc>,
}
