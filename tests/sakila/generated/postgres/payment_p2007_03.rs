//! The `payment_p2007_03` table.

use chrono::NaiveDateTime;
use repo_core::prelude::*;
use rust_decimal::Decimal;

/// A row of `payment_p2007_03`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "payment_p2007_03")]
#[repo(read_only)]
pub struct PaymentP200703 {
    pub payment_id: i32,
    #[repo(index)]
    pub customer_id: i32,
    #[repo(index)]
    pub staff_id: i32,
    pub rental_id: i32,
    pub amount: Decimal,
    pub payment_date: NaiveDateTime,
}
