//! The `sales_by_store` view.

use repo_core::prelude::*;

/// A row of `sales_by_store`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "sales_by_store")]
#[repo(read_only)]
pub struct SalesByStore {
    pub store_id: Option<i64>,
    // `store` ((none declared)): no field type reads this column type; left out.
    // `manager` ((none declared)): no field type reads this column type; left out.
    // `total_sales` ((none declared)): no field type reads this column type; left out.
}
