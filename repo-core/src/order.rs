//! Sort keys of typed columns: [`Order`], from [`Column::asc`](crate::Column::asc) and
//! [`Column::desc`](crate::Column::desc).

use std::marker::PhantomData;

use sea_query::NullOrdering;

/// Where NULL values go in an [`Order`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Nulls {
    /// Before every value.
    First,
    /// After every value (the default, in both directions).
    Last,
}

/// A sort key on a column of entity `E`, from [`Column::asc`](crate::Column::asc) or
/// [`Column::desc`](crate::Column::desc).
///
/// The same on every backend: NULL values sort last in both directions unless
/// [`nulls_first`](Order::nulls_first) says otherwise, and enum columns sort by declaration
/// order.
pub struct Order<E> {
    pub(crate) column: &'static str,
    pub(crate) nullable: bool,
    pub(crate) descending: bool,
    pub(crate) nulls: Nulls,
    pub(crate) labels: Option<&'static [&'static str]>,
    _entity: PhantomData<fn() -> E>,
}

impl<E> Clone for Order<E> {
    fn clone(&self) -> Self {
        Self {
            _entity: PhantomData,
            ..*self
        }
    }
}

impl<E> std::fmt::Debug for Order<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {}",
            self.column,
            if self.descending { "DESC" } else { "ASC" }
        )?;
        if self.nullable {
            write!(f, " NULLS {:?}", self.nulls)?;
        }
        Ok(())
    }
}

impl<E> Order<E> {
    pub(crate) fn new(
        column: &'static str,
        nullable: bool,
        descending: bool,
        labels: Option<&'static [&'static str]>,
    ) -> Self {
        Self {
            column,
            nullable,
            descending,
            nulls: Nulls::Last,
            labels,
            _entity: PhantomData,
        }
    }

    /// Put NULL values before every value.
    #[must_use]
    pub fn nulls_first(mut self) -> Self {
        self.nulls = Nulls::First;
        self
    }

    /// Put NULL values after every value (the default).
    #[must_use]
    pub fn nulls_last(mut self) -> Self {
        self.nulls = Nulls::Last;
        self
    }
}

impl Nulls {
    pub(crate) fn sea(self) -> NullOrdering {
        match self {
            Self::First => NullOrdering::First,
            Self::Last => NullOrdering::Last,
        }
    }
}
