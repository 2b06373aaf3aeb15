//! The `payment` table.

use chrono::NaiveDateTime;
use repo_core::prelude::*;
use rust_decimal::Decimal;

/// A row of `payment`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "payment")]
pub struct Payment {
    #[repo(primary_key, auto)]
    pub payment_id: i64,
    #[repo(index)]
    pub customer_id: i64,
    #[repo(index)]
    pub staff_id: i64,
    pub rental_id: Option<i64>,
    pub amount: Decimal,
    pub payment_date: NaiveDateTime,
    pub last_update: NaiveDateTime,
}
