//! Typed columns and the filters, orders and assignments built from them.
//!
//! `#[derive(Repository)]` gives each entity one constant per field (`Dataset::SOURCE_NAME`), a
//! [`Column`] that knows its entity and value type: comparing it with a value of another type, or
//! mixing columns of two entities in one filter, does not compile.
//!
//! Every filter means the same on every backend:
//!
//! - Comparisons (`eq`, `lt`, `between`, `like`, …) never match a NULL value; their negations
//!   ([`ne`](Column::ne), [`not_in`](Column::not_in), [`not_like`](Column::not_like),
//!   [`Filter::not`]) are complements and do match NULL values: `status.ne(Active)` is every
//!   row whose status is not `Active`, including rows without one.
//! - Enum columns order and compare by declaration order (`lt`, `gt`, `between`, sorting).
//! - [`like`](Column::like) is case-sensitive, with `%`, `_` and `\` as escape (a lone `\`
//!   ending the pattern matches a backslash); [`ilike`](Column::ilike) ignores case;
//!   [`contains`](Column::contains), [`starts_with`](Column::starts_with) and
//!   [`ends_with`](Column::ends_with) match their argument literally.
//! - [`is_in`](Column::is_in) takes any number of values (long lists travel as one parameter).

use std::marker::PhantomData;
use std::sync::Arc;

use sea_query::{Condition, Expr, ExprTrait as _, IntoCondition, Value};

pub use crate::order::{Nulls, Order};

use crate::dialect::{Backend, custom};
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

/// A typed column is a sea-query identifier, so custom queries name it directly:
/// `Query::select().column(Dataset::TITLE)`, `update.value(Dataset::TITLE, "x")`.
impl<E, T> sea_query::Iden for Column<E, T> {
    fn quoted(&self) -> std::borrow::Cow<'static, str> {
        sea_query::Iden::quoted(&self.name)
    }

    fn unquoted(&self) -> &str {
        self.name
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
}

/// The largest list [`Column::is_in`] writes as `IN (…)` with one parameter per value; longer
/// lists travel as a single parameter, so no list is too long for the bind limit.
pub const INLINE_LIST_LIMIT: usize = 256;

fn value<T: DbField>(v: impl Into<T>) -> Value {
    v.into().to_value()
}

/// A compared value as an operand. Enum labels are written as literals: they can only be
/// labels the enum declares (never input), and a literal lets the planner use a partial index
/// such as `WHERE status IN ('minimal', 'failed')`, which a bound parameter hides from it.
fn operand<T: DbField>(v: Value) -> Expr {
    if T::enum_type().is_some() {
        Expr::Constant(v)
    } else {
        Expr::val(v)
    }
}

/// The label of an enum value.
fn label(value: &Value) -> Option<&str> {
    match value {
        Value::Enum(sea_query::OptionEnum::Some(e)) => Some(&e.value),
        _ => None,
    }
}

impl<E: 'static, T: DbField> Column<E, T> {
    /// Ascending order on this column (NULLs last; see [`Order::nulls_first`]).
    #[must_use]
    pub fn asc(self) -> Order<E> {
        Order::new(self.name, self.nullable, false, enum_labels::<T>())
    }

    /// Descending order on this column (NULLs last; see [`Order::nulls_first`]).
    #[must_use]
    pub fn desc(self) -> Order<E> {
        Order::new(self.name, self.nullable, true, enum_labels::<T>())
    }

    /// `column = value`.
    #[must_use]
    pub fn eq(self, v: impl Into<T>) -> Filter<E> {
        Filter::from_condition(self.expr().eq(operand::<T>(value::<T>(v))))
    }

    /// Every row whose value is not `value`, including rows holding NULL (SQL `IS DISTINCT
    /// FROM`; plain `<>` on NOT NULL columns).
    #[must_use]
    pub fn ne(self, v: impl Into<T>) -> Filter<E> {
        let v = value::<T>(v);
        if self.nullable {
            let column = self.name;
            Filter::rendered(move |backend| {
                custom(
                    backend,
                    backend.is_distinct_from(),
                    [Expr::col(column), operand::<T>(v.clone())],
                )
                .into_condition()
            })
        } else {
            Filter::from_condition(self.expr().ne(operand::<T>(v)))
        }
    }

    /// `column < value` (enums: declared before `value`).
    #[must_use]
    pub fn lt(self, v: impl Into<T>) -> Filter<E> {
        self.compare(value::<T>(v), |a, b| a < b, Expr::lt)
    }
    /// `column <= value` (enums: declared no later than `value`).
    #[must_use]
    pub fn lte(self, v: impl Into<T>) -> Filter<E> {
        self.compare(value::<T>(v), |a, b| a <= b, Expr::lte)
    }
    /// `column > value` (enums: declared after `value`).
    #[must_use]
    pub fn gt(self, v: impl Into<T>) -> Filter<E> {
        self.compare(value::<T>(v), |a, b| a > b, Expr::gt)
    }
    /// `column >= value` (enums: declared no earlier than `value`).
    #[must_use]
    pub fn gte(self, v: impl Into<T>) -> Filter<E> {
        self.compare(value::<T>(v), |a, b| a >= b, Expr::gte)
    }

    /// `column BETWEEN low AND high` (both ends included; enums by declaration order).
    #[must_use]
    pub fn between(self, low: impl Into<T>, high: impl Into<T>) -> Filter<E> {
        let (low, high) = (value::<T>(low), value::<T>(high));
        if let Some(labels) = enum_labels::<T>() {
            let low_value = low.clone();
            let (Some(low), Some(high)) = (ordinal(labels, &low), ordinal(labels, &high)) else {
                return Filter::none();
            };
            return self.enum_subset(&low_value, labels, |i| i >= low && i <= high);
        }
        Filter::from_condition(self.expr().between(low, high))
    }

    /// An order comparison; on an enum column, membership in the labels declared on the
    /// wanted side of `v`, so every backend compares by declaration order.
    fn compare(
        self,
        v: Value,
        by_position: fn(usize, usize) -> bool,
        plain: fn(Expr, Expr) -> Expr,
    ) -> Filter<E> {
        if let Some(labels) = enum_labels::<T>() {
            let Some(at) = ordinal(labels, &v) else {
                return Filter::none();
            };
            return self.enum_subset(&v, labels, |i| by_position(i, at));
        }
        Filter::from_condition(plain(self.expr(), operand::<T>(v)))
    }

    /// Membership in the labels of `sample`'s enum whose declaration position `keep`s.
    fn enum_subset(
        self,
        sample: &Value,
        labels: &'static [&'static str],
        keep: impl Fn(usize) -> bool,
    ) -> Filter<E> {
        let Value::Enum(sea_query::OptionEnum::Some(sample)) = sample else {
            return Filter::none();
        };
        let values = labels
            .iter()
            .enumerate()
            .filter(|(i, _)| keep(*i))
            .map(|(_, label)| {
                Value::Enum(sea_query::OptionEnum::Some(Box::new(sea_query::Enum {
                    type_name: sample.type_name.clone(),
                    value: std::borrow::Cow::Borrowed(label),
                })))
            })
            .collect();
        self.in_values(values)
    }

    /// `column IN (values)`, with any number of values; an empty list matches nothing.
    #[must_use]
    pub fn is_in<V: Into<T>>(self, values: impl IntoIterator<Item = V>) -> Filter<E> {
        self.in_values(values.into_iter().map(value::<T>).collect())
    }

    fn in_values(self, values: Vec<Value>) -> Filter<E> {
        if values.is_empty() {
            return Filter::none();
        }
        if values.len() <= INLINE_LIST_LIMIT {
            return Filter::from_condition(self.expr().is_in(values.into_iter().map(operand::<T>)));
        }
        let values = Arc::new(values);
        let column = self.name;
        let typed_null = T::null_value();
        Filter::rendered(move |backend| {
            backend
                .in_list(column, &typed_null, &values)
                .into_condition()
        })
    }

    /// Every row whose value is not in `values`, including rows holding NULL; an empty list
    /// matches every row.
    #[must_use]
    pub fn not_in<V: Into<T>>(self, values: impl IntoIterator<Item = V>) -> Filter<E> {
        self.is_in(values).not()
    }

    /// Set the column to `value` in [`update_where`](crate::BaseRepository::update_where).
    #[must_use]
    pub fn set(self, v: impl Into<T>) -> Assignment<E> {
        Assignment::new(self.name, v.into().to_value())
    }

    /// Set a nullable column to NULL in [`update_where`](crate::BaseRepository::update_where).
    #[must_use]
    pub fn set_null(self) -> Assignment<E> {
        Assignment::new(self.name, T::null_value())
    }
}

fn enum_labels<T: DbField>() -> Option<&'static [&'static str]> {
    T::enum_type().map(|(_, labels)| labels)
}

fn ordinal(labels: &[&str], v: &Value) -> Option<usize> {
    let label = label(v)?;
    labels.iter().position(|l| *l == label)
}

type Render = dyn Fn(Backend) -> Condition + Send + Sync;

/// A condition on rows of entity `E`. Combine with [`and`](Filter::and), [`or`](Filter::or),
/// [`not`](Filter::not) (or `&`, `|`, `!`); [`Filter::all`] matches every row.
///
/// A filter is rendered for the backend of the repository that runs it; in a custom query,
/// turn it into a sea-query condition with
/// [`Repository::condition`](crate::Repository::condition).
pub struct Filter<E> {
    render: Arc<Render>,
    _entity: PhantomData<fn() -> E>,
}

impl<E> Clone for Filter<E> {
    fn clone(&self) -> Self {
        Self {
            render: Arc::clone(&self.render),
            _entity: PhantomData,
        }
    }
}

impl<E> std::fmt::Debug for Filter<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Filter")
            .field(&self.condition(Backend::Postgres))
            .finish()
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

    /// No row.
    #[must_use]
    pub fn none() -> Self {
        Self::from_condition(Condition::any())
    }

    /// A filter from any sea-query condition or expression, for what typed columns cannot say.
    #[must_use]
    pub fn from_condition(condition: impl IntoCondition) -> Self {
        let condition = condition.into_condition();
        Self::rendered(move |_| condition.clone())
    }

    /// A filter whose SQL depends on the backend it runs on.
    pub(crate) fn rendered(render: impl Fn(Backend) -> Condition + Send + Sync + 'static) -> Self {
        Self {
            render: Arc::new(render),
            _entity: PhantomData,
        }
    }

    /// Rows matching both.
    #[must_use]
    pub fn and(self, other: Self) -> Self {
        let (this, other) = (self.render, other.render);
        Self::rendered(move |backend| Condition::all().add(this(backend)).add(other(backend)))
    }

    /// Rows matching either.
    #[must_use]
    pub fn or(self, other: Self) -> Self {
        let (this, other) = (self.render, other.render);
        Self::rendered(move |backend| Condition::any().add(this(backend)).add(other(backend)))
    }

    /// Every row this filter does not match, including rows where it compares a NULL (SQL's
    /// `NOT` alone would leave those out): `NOT COALESCE(condition, FALSE)`.
    #[must_use]
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Self {
        let this = self.render;
        Self::rendered(move |backend| {
            custom(
                backend,
                "NOT COALESCE($1, FALSE)",
                [Expr::from(this(backend))],
            )
            .into_condition()
        })
    }

    /// The sea-query condition for `backend`. Custom queries usually call
    /// [`Repository::condition`](crate::Repository::condition), which knows the backend.
    #[must_use]
    pub fn condition(&self, backend: Backend) -> Condition {
        (self.render)(backend)
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

/// Escape `%`, `_` and `\` so `text` matches itself in a `LIKE … ESCAPE '\'` pattern.
#[must_use]
pub fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}
