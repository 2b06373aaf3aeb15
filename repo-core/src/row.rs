//! Rows as the driver returns them, and decoding them into Rust values on any backend.

#[allow(unused_imports)]
use sqlx::Row as _;
#[cfg(feature = "postgres")]
use sqlx::postgres::{PgRow, Postgres};
#[cfg(feature = "sqlite")]
use sqlx::sqlite::{Sqlite, SqliteRow};

/// One result row, from whichever backend ran the statement.
///
/// Generated entity code decodes it by column position; custom queries decode it into any
/// [`FromDbRow`] type with [`Row::decode`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Row {
    /// A PostgreSQL row.
    #[cfg(feature = "postgres")]
    Postgres(PgRow),
    /// A SQLite row.
    #[cfg(feature = "sqlite")]
    Sqlite(SqliteRow),
}

macro_rules! backend_trait {
    ($(#[$m:meta])* $name:ident, $feature:literal, $($bound:tt)+) => {
        $(#[$m])*
        #[cfg(feature = $feature)]
        pub trait $name: $($bound)+ {}
        #[cfg(feature = $feature)]
        impl<T: $($bound)+> $name for T {}
        $(#[$m])*
        #[cfg(not(feature = $feature))]
        pub trait $name {}
        #[cfg(not(feature = $feature))]
        impl<T: ?Sized> $name for T {}
    };
}

backend_trait!(
    /// A type sqlx can decode from a PostgreSQL column (every type when the backend is off).
    PgDecode, "postgres", for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>
);
backend_trait!(
    /// A type sqlx can decode from a SQLite column (every type when the backend is off).
    SqliteDecode, "sqlite", for<'r> sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>
);
backend_trait!(
    /// A row type sqlx can build from a PostgreSQL row (every type when the backend is off).
    PgFromRow, "postgres", for<'r> sqlx::FromRow<'r, PgRow>
);
backend_trait!(
    /// A row type sqlx can build from a SQLite row (every type when the backend is off).
    SqliteFromRow, "sqlite", for<'r> sqlx::FromRow<'r, SqliteRow>
);

/// A type sqlx decodes from a single column on every enabled backend.
pub trait Decodable: PgDecode + SqliteDecode {}
impl<T: PgDecode + SqliteDecode> Decodable for T {}

/// A row type (usually `#[derive(sqlx::FromRow)]`) that decodes on every enabled backend:
/// the target of custom queries such as statistics.
pub trait FromDbRow: PgFromRow + SqliteFromRow + Send + Unpin + 'static {}
impl<T: PgFromRow + SqliteFromRow + Send + Unpin + 'static> FromDbRow for T {}

impl Row {
    /// Decode the column at `index` as `T`, with sqlx's type check.
    pub fn try_get<T: Decodable>(&self, index: usize) -> Result<T, sqlx::Error> {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(row) => row.try_get(index),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(row) => row.try_get(index),
        }
    }

    /// Decode the column at `index` as `T` without sqlx's type check (PostgreSQL enum labels
    /// arrive as their own type but decode as text).
    pub fn try_get_unchecked<T: Decodable>(&self, index: usize) -> Result<T, sqlx::Error> {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(row) => row.try_get_unchecked(index),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(row) => row.try_get_unchecked(index),
        }
    }

    /// Whether the column at `index` is SQL NULL.
    pub fn is_null(&self, index: usize) -> Result<bool, sqlx::Error> {
        use sqlx::ValueRef as _;
        Ok(match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(row) => row.try_get_raw(index)?.is_null(),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(row) => row.try_get_raw(index)?.is_null(),
        })
    }

    /// Build a whole-row type, such as a `#[derive(sqlx::FromRow)]` statistics struct.
    pub fn decode<T: FromDbRow>(&self) -> Result<T, sqlx::Error> {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(row) => T::from_row(row),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(row) => T::from_row(row),
        }
    }
}
