//! Pages of results: by offset with a total ([`PageRequest`] → [`Page`]), or by keyset with an
//! opaque cursor ([`KeysetRequest`] → [`KeysetPage`]) whose cost stays flat however deep.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_query::Value;

use crate::entity::Entity;
use crate::error::{Error, Result};
use crate::filter::Order;

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
/// Rows are sorted by the given orders, then by primary key, so pages never overlap or skip.
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

/// An opaque position in a keyset-ordered result, from [`KeysetPage::next`].
///
/// It is URL-safe text; hand it to clients as is. A cursor is tied to the order it was made
/// under: using it with another order is a [`Validation`](Error::Validation) error.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cursor(String);

impl Cursor {
    /// The cursor's text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub(crate) fn encode(signature: &str, values: &[Value]) -> Self {
        let body = serde_json::json!({ "k": signature, "v": values });
        Self(URL_SAFE_NO_PAD.encode(body.to_string()))
    }

    pub(crate) fn decode(&self, signature: &str, expected: usize) -> Result<Vec<Value>> {
        let invalid = |reason: &str| Error::validation("cursor", reason.to_owned());
        let bytes = URL_SAFE_NO_PAD
            .decode(self.0.as_bytes())
            .map_err(|_| invalid("not a cursor issued by this library"))?;
        let body: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|_| invalid("not a cursor issued by this library"))?;
        if body.get("k").and_then(serde_json::Value::as_str) != Some(signature) {
            return Err(invalid("the cursor was issued for another order or entity"));
        }
        let values: Vec<Value> = body
            .get("v")
            .cloned()
            .and_then(|v| serde_json::from_value(v).ok())
            .ok_or_else(|| invalid("the cursor's values are damaged"))?;
        if values.len() != expected {
            return Err(invalid("the cursor's values are damaged"));
        }
        Ok(values)
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Cursor {
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl From<&str> for Cursor {
    fn from(text: &str) -> Self {
        Self(text.to_owned())
    }
}

/// A keyset page request for [`find_keyset`](crate::BaseRepository::find_keyset): up to
/// `limit` rows after a cursor, in a typed order with the primary key as tie-break.
///
/// Order columns must be NOT NULL. For a flat cost, index the order columns followed by the
/// primary key and keep one direction for all of them (the statement then compares a row
/// value, `(a, b, id) > (…)`, which the index seeks to directly).
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
        check_limit(self.limit)?;
        if let Some(order) = self.order.iter().find(|o| o.nullable) {
            return Err(Error::validation(
                "order",
                format!(
                    "keyset order column `{}` is nullable; order by NOT NULL columns",
                    order.column
                ),
            ));
        }
        Ok(())
    }

    /// The order columns with the primary key appended (unless already there), as
    /// `(column, descending)`, and the signature a cursor carries.
    pub(crate) fn keys<T: Entity>(&self) -> (Vec<(&'static str, bool)>, String) {
        let mut keys: Vec<(&'static str, bool)> = self
            .order
            .iter()
            .map(|o| (o.column, o.descending))
            .collect();
        let pk = T::primary_key().name;
        if !keys.iter().any(|(c, _)| *c == pk) {
            let descending = keys.first().is_some_and(|(_, d)| *d);
            keys.push((pk, descending));
        }
        let signature = std::iter::once(T::TABLE.to_owned())
            .chain(
                keys.iter()
                    .map(|(c, d)| format!("{c}:{}", if *d { "d" } else { "a" })),
            )
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
