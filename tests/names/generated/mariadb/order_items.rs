//! The `Order Items` table.

use repo_core::prelude::*;
use rust_decimal::Decimal;

use super::enums::OrderItemsState;

/// A row of `Order Items`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "Order Items")]
#[repo(unique(type_, first_name))]
pub struct OrderItems {
    #[repo(primary_key, auto, column = "ID")]
    pub id: i32,
    #[repo(index, column = "Order Total")]
    pub order_total: Decimal,
    #[repo(column = "type")]
    pub type_: String,
    #[repo(column = "2fa")]
    pub x2fa: Option<bool>,
    #[repo(column = "FirstName")]
    pub first_name: Option<String>,
    #[repo(column = "first_name")]
    pub first_name_2: Option<String>,
    pub state: OrderItemsState,
}
