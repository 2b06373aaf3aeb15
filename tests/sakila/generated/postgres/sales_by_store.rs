//! The `sales_by_store` view.

use repo_core::prelude::*;
use rust_decimal::Decimal;

/// A row of `sales_by_store`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "sales_by_store")]
#[repo(read_only)]
pub struct SalesByStore {
    pub store: Option<String>,
    pub manager: Option<String>,
    pub total_sales: Option<Decimal>,
}
