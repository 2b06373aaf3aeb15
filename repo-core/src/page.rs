//! Pages of results: by offset with a total ([`PageRequest`] → [`Page`]), or by keyset with an
//! opaque cursor ([`KeysetRequest`] → [`KeysetPage`]) whose cost stays flat however deep.

use crate::cursor::Cursor;
use crate::entity::Entity;
use crate::error::{Error, Result};
use crate::filter::Order;
use crate::keys::SortKey;

/// The largest page a request may ask for.
pub const MAX_PAGE_LIMIT: u64 = 10_000;

/// Check a page size: 1 to [`MAX_PAGE_LIMIT`], else a [`Validation`](Error::Validation) error on
/// `limit`. Custom queries that take a limit use it to reject what the base operations reject.
pub fn check_limit(limit: u64) -> Result<()> {
    if limit == 0 || limit > MAX_PAGE_LIMIT {
        return Err(Error::validation(
            "limit",
            format!("page limit must be between 1 and {MAX_PAGE_LIMIT}, got {limit}"),
        ));
    }
    Ok(())
}

/// Which slice of the matching rows [`find`](crate::BaseRepository::find) returns.
///
/// Rows are sorted by the given orders, then by primary key in the direction of the last order
/// (ascending when none is given), so pages never overlap or skip and an index that ends with
/// the last order's column serves the page in either direction.
#[derive(Debug, Clone)]
pub struct PageRequest<E> {
    pub(crate) limit: u64,
    pub(crate) offset: u64,
    pub(crate) order: Vec<Order<E>>,
}

impl<E> PageRequest<E> {
    /// Up to `limit` rows (1 to [`MAX_PAGE_LIMIT`]), from the first.
    #[must_use]
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            offset: 0,
            order: Vec::new(),
        }
    }

    /// Skip the first `offset` rows.
    #[must_use]
    pub fn offset(mut self, offset: u64) -> Self {
        self.offset = offset;
        self
    }

    /// Sort by `order`, after any order given before.
    #[must_use]
    pub fn order_by(mut self, order: Order<E>) -> Self {
        self.order.push(order);
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        check_limit(self.limit)
    }
}

/// One page of [`find`](crate::BaseRepository::find): the rows and how many match in all.
#[derive(Debug, Clone)]
pub struct Page<E> {
    /// The rows of this page.
    pub items: Vec<E>,
    /// How many rows match the filter in all.
    pub total: u64,
    /// The page size asked for.
    pub limit: u64,
    /// Rows skipped before this page.
    pub offset: u64,
}

impl<E> Page<E> {
    /// Whether rows follow this page.
    #[must_use]
    pub fn has_next(&self) -> bool {
        self.offset + (self.items.len() as u64) < self.total
    }
}

/// A keyset page request for [`find_keyset`](crate::BaseRepository::find_keyset): up to
/// `limit` rows after a cursor, in a typed order with the primary key as tie-break (in the
/// direction of the last order).
///
/// Order columns may be nullable: NULLs sort where the order says ([`Order::nulls_first`],
/// last by default) and pages continue across them. For a flat cost, index the order columns
/// followed by the primary key, keep one direction for all of them and order by NOT NULL
/// columns: the statement then compares a row value, `(a, b, id) > (…)`, which the index seeks
/// to directly; other orders expand into `a > x OR (a = x AND …)`, which is correct but seeks
/// less well.
///
/// The cursor is sealed (see [`Cursor`]): it shows nothing of the row it points after, and an
/// edited or forged one is an [`Error::Validation`] on `cursor`.
#[derive(Debug, Clone)]
pub struct KeysetRequest<E> {
    pub(crate) limit: u64,
    pub(crate) order: Vec<Order<E>>,
    pub(crate) after: Option<Cursor>,
}

impl<E> KeysetRequest<E> {
    /// The first `limit` rows (1 to [`MAX_PAGE_LIMIT`]).
    #[must_use]
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            order: Vec::new(),
            after: None,
        }
    }

    /// Sort by `order`, after any order given before.
    #[must_use]
    pub fn order_by(mut self, order: Order<E>) -> Self {
        self.order.push(order);
        self
    }

    /// Continue after `cursor` (from the previous page's [`KeysetPage::next`]).
    #[must_use]
    pub fn after(mut self, cursor: impl Into<Cursor>) -> Self {
        self.after = Some(cursor.into());
        self
    }

    /// Continue after `cursor` if there is one.
    #[must_use]
    pub fn after_opt(mut self, cursor: Option<Cursor>) -> Self {
        self.after = cursor;
        self
    }

    pub(crate) fn validate(&self) -> Result<()> {
        check_limit(self.limit)
    }

    /// The order's keys with the primary key's columns appended (those not already there),
    /// and the signature a cursor carries.
    pub(crate) fn keys<T: Entity>(&self) -> (Vec<SortKey>, String) {
        let mut keys: Vec<SortKey> = self.order.iter().map(Order::key).collect();
        // As on offset pages, the key follows the last order's direction.
        let descending = keys.last().is_some_and(|k| k.descending);
        for column in T::PRIMARY_KEY {
            if !keys.iter().any(|k| k.column == *column) {
                keys.push(SortKey::plain(column, descending));
            }
        }
        let signature = std::iter::once(T::TABLE.to_owned())
            .chain(keys.iter().map(SortKey::signature))
            .collect::<Vec<_>>()
            .join(",");
        (keys, signature)
    }
}

/// One keyset page: the rows, and the cursor of the next page (`None` after the last row).
#[derive(Debug, Clone)]
pub struct KeysetPage<E> {
    /// The rows of this page.
    pub items: Vec<E>,
    /// Where the next page starts; `None` when no row follows.
    pub next: Option<Cursor>,
}
