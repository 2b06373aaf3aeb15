//! Aggregates of typed columns that decode as the same Rust type on every backend.
//!
//! Plain SQL aggregates compute each backend's own type: `SUM` of integers is `numeric` on
//! PostgreSQL (for `bigint`; `bigint` for smaller integers), `DECIMAL` on MariaDB and INTEGER
//! on SQLite; `AVG` is `numeric`, `DECIMAL` with four digits after the point, or REAL. These
//! helpers wrap them in the casts that make the result type fixed, and return a sea-query
//! [`Expr`] to put in a select with `expr_as`; each says what to decode the column as in a
//! `#[derive(FromRow)]` row: [`Column::sum`] is an `i64` (0 over no rows), [`Column::avg`] an
//! `Option<f64>`.
//!
//! Aggregates written the sea-query way (`Expr::col(Part::GRAMS).sum()`, `.avg()`, `.max()`)
//! decode into the same fields, with the same values, on every backend, because the numeric
//! fields accept each backend's result types:
//!
//! - an `i64` field reads an integer of any width, and an exact number with no digits after
//!   the point (a plain `SUM` of integers), exactly; an exact number with digits after the
//!   point (even zeros: a plain `AVG`), a float, or a value outside the range of `i64` is an
//!   [`Error::Decode`](crate::Error::Decode) whose message names `Column::sum()` and
//!   `Column::avg()`;
//! - an `f64` field reads a float of any width, an integer, or an exact number, as the
//!   nearest `f64`.
//!
//! A plain `SUM` or `AVG` over no rows (or only NULLs) is NULL: read it as `Option<i64>` /
//! `Option<f64>`; in a plain `i64` or `f64` it is a decode error on every backend. Exact numbers
//! (`numeric`, `DECIMAL`) are read through `rust_decimal`, so they need the `decimal` feature
//! (on by default); without it they are decode errors naming the typed aggregates.
//!
//! ```
//! use repo_core::prelude::*;
//!
//! #[derive(Debug, Clone, Copy, PartialEq, Eq, DbEnum)]
//! pub enum Kind { Bolt, Nut }
//!
//! #[derive(Debug, Clone, Repository)]
//! #[repo(table = "parts")]
//! pub struct Part {
//!     #[repo(primary_key, auto)]
//!     pub id: i64,
//!     pub kind: Kind,
//!     pub grams: i64,
//! }
//!
//! #[derive(Debug, PartialEq, FromRow)]
//! pub struct KindStats {
//!     pub kind: Kind,
//!     pub parts: i64,
//!     pub total_grams: i64,
//!     pub mean_grams: Option<f64>,
//!     pub lightest: i64,
//!     pub plain_total: Option<i64>, // NULL for a group of NULLs only
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> repo_core::Result<()> {
//! let db = Db::connect("sqlite::memory:").await?;
//! db.create_schema::<Part>().await?;
//! let repo = PartRepository::new(&db);
//! for (kind, grams) in [(Kind::Bolt, 10), (Kind::Bolt, 20), (Kind::Nut, 4)] {
//!     repo.insert(&Part { id: 0, kind, grams }).await?;
//! }
//! let select = Query::select()
//!     .column(Part::KIND.name())
//!     .expr_as(count_rows(), "parts")
//!     .expr_as(Part::GRAMS.sum(), "total_grams")
//!     .expr_as(Part::GRAMS.avg(), "mean_grams")
//!     .expr_as(Part::GRAMS.min(), "lightest")
//!     .expr_as(Expr::col(Part::GRAMS).sum(), "plain_total") // numeric on PostgreSQL
//!     .from(Part::TABLE)
//!     .group_by_col(Part::KIND.name())
//!     .order_by(Part::KIND.name(), Order::Asc)
//!     .to_owned();
//! let stats: Vec<KindStats> = repo.fetch_rows(&select).await?;
//! assert_eq!(
//!     stats[0],
//!     KindStats {
//!         kind: Kind::Bolt, parts: 2, total_grams: 30, mean_grams: Some(15.0), lightest: 10,
//!         plain_total: Some(30),
//!     }
//! );
//! # Ok(()) }
//! ```

use sea_query::{Expr, ExprTrait as _, Func};

use crate::field::DbField;
use crate::filter::Column;

/// `COUNT(*)`: the rows of the group. Decodes as `i64`.
#[must_use]
pub fn count_rows() -> Expr {
    Expr::cust("COUNT(*)")
}

// Built from sea-query functions rather than custom SQL with placeholders: a custom
// expression's placeholder is `$1` on PostgreSQL but `?` on SQLite.

/// `COALESCE(SUM(col), 0)`.
fn sum_or_zero(column: Expr) -> Expr {
    Expr::from(Func::coalesce([Func::sum(column).into(), Expr::cust("0")]))
}

/// `CAST(COALESCE(SUM(col), 0) AS BIGINT)`: decodes as `i64`, 0 for no rows or only NULLs.
fn integer_sum(column: Expr) -> Expr {
    sum_or_zero(column).cast_as("BIGINT")
}

/// `CAST(COALESCE(SUM(col), 0) AS DOUBLE PRECISION)`: decodes as `f64`, 0.0 for no rows.
fn float_sum(column: Expr) -> Expr {
    sum_or_zero(column).cast_as("DOUBLE PRECISION")
}

/// `CAST(AVG(col) AS DOUBLE PRECISION)`: decodes as `Option<f64>`, `None` for no rows.
fn float_avg(column: Expr) -> Expr {
    Expr::from(Func::avg(column)).cast_as("DOUBLE PRECISION")
}

macro_rules! integer_aggregates {
    ($($ty:ty),*) => {$(
        impl<E> Column<E, $ty> {
            /// `SUM` of the column as a 64-bit integer on every backend (PostgreSQL's own
            /// `SUM` is `numeric` for `bigint`). Decodes as `i64`; 0 when there are no rows or
            /// every value is NULL.
            #[must_use]
            pub fn sum(self) -> Expr {
                integer_sum(self.expr())
            }

            /// `AVG` of the column as a double on every backend. Decodes as `Option<f64>`:
            /// `None` when there are no rows or every value is NULL.
            #[must_use]
            pub fn avg(self) -> Expr {
                float_avg(self.expr())
            }
        }
    )*};
}

integer_aggregates!(i16, i32, i64);

macro_rules! float_aggregates {
    ($($ty:ty),*) => {$(
        impl<E> Column<E, $ty> {
            /// `SUM` of the column as a double on every backend. Decodes as `f64`; 0.0 when
            /// there are no rows or every value is NULL.
            #[must_use]
            pub fn sum(self) -> Expr {
                float_sum(self.expr())
            }

            /// `AVG` of the column as a double on every backend. Decodes as `Option<f64>`:
            /// `None` when there are no rows or every value is NULL.
            #[must_use]
            pub fn avg(self) -> Expr {
                float_avg(self.expr())
            }
        }
    )*};
}

float_aggregates!(f32, f64);

impl<E, T: DbField> Column<E, T> {
    /// `MIN` of the column. Decodes as the column's type `T` (an enum, a timestamp, a number),
    /// or `Option<T>` when the group may be empty (an aggregate without `GROUP BY` over no
    /// rows) or hold only NULLs.
    ///
    /// On PostgreSQL an enum's minimum is its first label in declaration order; on SQLite it
    /// is the alphabetically first label.
    #[must_use]
    pub fn min(self) -> Expr {
        self.expr().min()
    }

    /// `MAX` of the column. Decodes like [`min`](Column::min).
    #[must_use]
    pub fn max(self) -> Expr {
        self.expr().max()
    }

    /// `COUNT(col)`: the rows where the column is not NULL. Decodes as `i64`.
    #[must_use]
    pub fn count(self) -> Expr {
        self.expr().count()
    }

    /// `COUNT(DISTINCT col)`: the distinct non-NULL values. Decodes as `i64`.
    #[must_use]
    pub fn count_distinct(self) -> Expr {
        self.expr().count_distinct()
    }
}
