//! Typed columns and the filters, orders and assignments built from them.
//!
//! `#[derive(Repository)]` gives each entity one constant per field (`Dataset::SOURCE_NAME`), a
//! [`Column`] that knows its entity and value type: comparing it with a value of another type, or
//! mixing columns of two entities in one filter, does not compile.

use std::marker::PhantomData;

use sea_query::{Condition, Expr, ExprTrait as _, IntoCondition, Value};

use crate::field::DbField;

/// A column of entity `E` holding values of type `T` (`T` for both `T` and `Option<T>` fields).
pub struct Column<E, T> {
    name: &'static str,
    nullable: bool,
    _entity: PhantomData<fn() -> (E, T)>,
}

impl<E, T> Clone for Column<E, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<E, T> Copy for Column<E, T> {}

impl<E, T> std::fmt::Debug for Column<E, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Column")
            .field("name", &self.name)
            .field("nullable", &self.nullable)
            .finish()
    }
}

impl<E, T> Column<E, T> {
    /// A column named `name` (the derive writes these).
    #[must_use]
    pub const fn new(name: &'static str, nullable: bool) -> Self {
        Self {
            name,
            nullable,
            _entity: PhantomData,
        }
    }

    /// The SQL column name.
    #[must_use]
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// Whether the column admits NULL.
    #[must_use]
    pub const fn is_nullable(&self) -> bool {
        self.nullable
    }

    /// The column as a sea-query expression, for custom queries.
    #[must_use]
    pub fn expr(&self) -> Expr {
        Expr::col(self.name)
    }

    /// `column IS NULL`.
    #[must_use]
    pub fn is_null(self) -> Filter<E> {
        Filter::from_condition(self.expr().is_null())
    }

    /// `column IS NOT NULL`.
    #[must_use]
    pub fn is_not_null(self) -> Filter<E> {
        Filter::from_condition(self.expr().is_not_null())
    }

    /// Ascending order on this column.
    #[must_use]
    pub fn asc(self) -> Order<E> {
        Order::new(self.name, self.nullable, false)
    }

    /// Descending order on this column.
    #[must_use]
    pub fn desc(self) -> Order<E> {
        Order::new(self.name, self.nullable, true)
    }
}

fn value<T: DbField>(v: impl Into<T>) -> Expr {
    Expr::val(v.into().to_value())
}

impl<E, T: DbField> Column<E, T> {
    /// `column = value`.
    #[must_use]
    pub fn eq(self, v: impl Into<T>) -> Filter<E> {
        Filter::from_condition(self.expr().eq(value(v)))
    }
    /// `column <> value`.
    #[must_use]
    pub fn ne(self, v: impl Into<T>) -> Filter<E> {
        Filter::from_condition(self.expr().ne(value(v)))
    }
    /// `column < value`.
    #[must_use]
    pub fn lt(self, v: impl Into<T>) -> Filter<E> {
        Filter::from_condition(self.expr().lt(value(v)))
    }
    /// `column <= value`.
    #[must_use]
    pub fn lte(self, v: impl Into<T>) -> Filter<E> {
        Filter::from_condition(self.expr().lte(value(v)))
    }
    /// `column > value`.
    #[must_use]
    pub fn gt(self, v: impl Into<T>) -> Filter<E> {
        Filter::from_condition(self.expr().gt(value(v)))
    }
    /// `column >= value`.
    #[must_use]
    pub fn gte(self, v: impl Into<T>) -> Filter<E> {
        Filter::from_condition(self.expr().gte(value(v)))
    }
    /// `column BETWEEN low AND high` (both ends included).
    #[must_use]
    pub fn between(self, low: impl Into<T>, high: impl Into<T>) -> Filter<E> {
        Filter::from_condition(self.expr().between(value(low), value(high)))
    }
    /// `column IN (values)`; an empty list matches nothing.
    #[must_use]
    pub fn is_in<V: Into<T>>(self, values: impl IntoIterator<Item = V>) -> Filter<E> {
        let values: Vec<Expr> = values.into_iter().map(value).collect();
        Filter::from_condition(self.expr().is_in(values))
    }
    /// `column NOT IN (values)`; an empty list matches everything.
    #[must_use]
    pub fn not_in<V: Into<T>>(self, values: impl IntoIterator<Item = V>) -> Filter<E> {
        let values: Vec<Expr> = values.into_iter().map(value).collect();
        Filter::from_condition(self.expr().is_not_in(values))
    }
    /// Set the column to `value` in [`update_where`](crate::BaseRepository::update_where).
    #[must_use]
    pub fn set(self, v: impl Into<T>) -> Assignment<E> {
        Assignment::new(self.name, v.into().to_value())
    }
}

impl<E, T: DbField> Column<E, T> {
    /// Set a nullable column to NULL in [`update_where`](crate::BaseRepository::update_where).
    #[must_use]
    pub fn set_null(self) -> Assignment<E> {
        Assignment::new(self.name, T::null_value())
    }
}

impl<E> Column<E, String> {
    /// `column LIKE pattern` (`%` any run of characters, `_` one character).
    #[must_use]
    pub fn like(self, pattern: impl Into<String>) -> Filter<E> {
        Filter::from_condition(self.expr().like(pattern.into()))
    }
    /// `column NOT LIKE pattern`.
    #[must_use]
    pub fn not_like(self, pattern: impl Into<String>) -> Filter<E> {
        Filter::from_condition(self.expr().not_like(pattern.into()))
    }
}

/// A condition on rows of entity `E`. Combine with [`and`](Filter::and), [`or`](Filter::or),
/// [`not`](Filter::not) (or `&`, `|`, `!`); [`Filter::all`] matches every row.
pub struct Filter<E> {
    condition: Condition,
    _entity: PhantomData<fn() -> E>,
}

impl<E> Clone for Filter<E> {
    fn clone(&self) -> Self {
        Self::from_condition(self.condition.clone())
    }
}

impl<E> std::fmt::Debug for Filter<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Filter").field(&self.condition).finish()
    }
}

impl<E> Default for Filter<E> {
    fn default() -> Self {
        Self::all()
    }
}

impl<E> Filter<E> {
    /// Every row.
    #[must_use]
    pub fn all() -> Self {
        Self::from_condition(Condition::all())
    }

    /// A filter from any sea-query condition or expression, for what typed columns cannot say.
    #[must_use]
    pub fn from_condition(condition: impl IntoCondition) -> Self {
        Self {
            condition: condition.into_condition(),
            _entity: PhantomData,
        }
    }

    /// Rows matching both.
    #[must_use]
    pub fn and(self, other: Self) -> Self {
        Self::from_condition(Condition::all().add(self.condition).add(other.condition))
    }

    /// Rows matching either.
    #[must_use]
    pub fn or(self, other: Self) -> Self {
        Self::from_condition(Condition::any().add(self.condition).add(other.condition))
    }

    /// Rows not matching.
    #[must_use]
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Self {
        Self::from_condition(self.condition.not())
    }

    /// The sea-query condition, for custom queries.
    #[must_use]
    pub fn into_condition(self) -> Condition {
        self.condition
    }
}

impl<E> std::ops::BitAnd for Filter<E> {
    type Output = Self;
    fn bitand(self, other: Self) -> Self {
        self.and(other)
    }
}

impl<E> std::ops::BitOr for Filter<E> {
    type Output = Self;
    fn bitor(self, other: Self) -> Self {
        self.or(other)
    }
}

impl<E> std::ops::Not for Filter<E> {
    type Output = Self;
    fn not(self) -> Self {
        Filter::not(self)
    }
}

/// A sort key on a column of entity `E`, from [`Column::asc`] or [`Column::desc`].
pub struct Order<E> {
    pub(crate) column: &'static str,
    pub(crate) nullable: bool,
    pub(crate) descending: bool,
    _entity: PhantomData<fn() -> E>,
}

impl<E> Clone for Order<E> {
    fn clone(&self) -> Self {
        Self::new(self.column, self.nullable, self.descending)
    }
}

impl<E> std::fmt::Debug for Order<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}",
            self.column,
            if self.descending { "DESC" } else { "ASC" }
        )
    }
}

impl<E> Order<E> {
    pub(crate) fn new(column: &'static str, nullable: bool, descending: bool) -> Self {
        Self {
            column,
            nullable,
            descending,
            _entity: PhantomData,
        }
    }

    pub(crate) fn sea_order(&self) -> sea_query::Order {
        if self.descending {
            sea_query::Order::Desc
        } else {
            sea_query::Order::Asc
        }
    }
}

/// `column = value` in [`update_where`](crate::BaseRepository::update_where), from
/// [`Column::set`].
pub struct Assignment<E> {
    pub(crate) column: &'static str,
    pub(crate) value: Value,
    _entity: PhantomData<fn() -> E>,
}

impl<E> std::fmt::Debug for Assignment<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} = ?", self.column)
    }
}

impl<E> Assignment<E> {
    fn new(column: &'static str, value: Value) -> Self {
        Self {
            column,
            value,
            _entity: PhantomData,
        }
    }
}
