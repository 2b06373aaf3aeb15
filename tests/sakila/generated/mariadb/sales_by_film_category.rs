//! The `sales_by_film_category` view.

use repo_core::prelude::*;
use rust_decimal::Decimal;

/// A row of `sales_by_film_category`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "sales_by_film_category")]
#[repo(read_only)]
pub struct SalesByFilmCategory {
    pub category: String,
    pub total_sales: Option<Decimal>,
}
