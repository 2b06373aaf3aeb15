//! The actions an upsert can take on a column of the row it meets on its conflict key (see
//! [`crate::conflict`]), and the column types each action takes.

/// What an upsert writes to a column of an existing row with the incoming conflict key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConflictAction {
    /// The incoming value (the default).
    #[default]
    Replace,
    /// The existing value stays.
    Keep,
    /// The existing value plus the incoming one, such as a count of occurrences.
    Add,
    /// The greater of the existing and the incoming value.
    Greatest,
    /// The lesser of the existing and the incoming value.
    Least,
}

impl ConflictAction {
    /// The action's name in `#[repo(on_conflict = "...")]`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Replace => "replace",
            Self::Keep => "keep",
            Self::Add => "add",
            Self::Greatest => "greatest",
            Self::Least => "least",
        }
    }
}

/// A type whose stored values the database can add: the column types an `add` action takes.
/// Not `Decimal`, which SQLite stores as exact text.
pub trait Numeric {}

/// A type whose stored values compare the same on every backend: the column types a
/// `greatest` or `least` action takes. Strings compare by the column's collation.
pub trait Ordered {}

macro_rules! marker {
    ($trait:ident: $($ty:ty),*) => { $(impl $trait for $ty {})* };
}
marker!(Numeric: i16, i32, i64, u32, u64, f32, f64);
marker!(Ordered: i16, i32, i64, u32, u64, f32, f64, String, chrono::NaiveDate,
    chrono::DateTime<chrono::Utc>);
