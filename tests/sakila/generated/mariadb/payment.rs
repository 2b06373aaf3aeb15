//! The `payment` table.

use chrono::NaiveDateTime;
use repo_core::prelude::*;
use rust_decimal::Decimal;

/// A row of `payment`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "payment")]
pub struct Payment {
    #[repo(primary_key, auto)]
    pub payment_id: u32,
    #[repo(index)]
    pub customer_id: u32,
    #[repo(index)]
    pub staff_id: u32,
    #[repo(index)]
    pub rental_id: Option<i32>,
    pub amount: Decimal,
    pub payment_date: NaiveDateTime,
    pub last_update: Option<DateTime<Utc>>,
}
