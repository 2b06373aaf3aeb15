//! Rows as the driver returns them, and decoding them into Rust values on any backend.

mod column_info;
mod decode;

pub(crate) use decode::out_of_range;

pub use column_info::{ColumnInfo, Decoding};

use crate::dialect::dispatch;

#[cfg(feature = "mysql")]
use sqlx::mysql::MySql;
#[cfg(feature = "postgres")]
use sqlx::postgres::Postgres;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::Sqlite;

/// One result row, from whichever backend ran the statement.
///
/// Generated entity code decodes it by column position; custom queries decode it into any
/// [`FromDbRow`](crate::FromDbRow) type with [`Row::decode`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Row {
    /// A PostgreSQL row.
    #[cfg(feature = "postgres")]
    Postgres(sqlx::postgres::PgRow),
    /// A SQLite row.
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::sqlite::SqliteRow),
    /// A MySQL or MariaDB row.
    #[cfg(feature = "mysql")]
    MySql(sqlx::mysql::MySqlRow),
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
    /// A type sqlx can decode from a MySQL column (every type when the backend is off).
    MySqlDecode, "mysql", for<'r> sqlx::Decode<'r, MySql> + sqlx::Type<MySql>
);
/// A type sqlx decodes from a single column on every enabled backend.
pub trait Decodable: PgDecode + SqliteDecode + MySqlDecode {}
impl<T: PgDecode + SqliteDecode + MySqlDecode> Decodable for T {}

/// sqlx's `try_get`, except that NULL is an error on every backend: sqlx's SQLite decoders
/// read NULL as 0, 0.0, empty text or `false`, where PostgreSQL's and MySQL's refuse it.
fn try_get_not_null<'r, R, T>(row: &'r R, index: usize) -> Result<T, sqlx::Error>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    T: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    use sqlx::ValueRef as _;
    if row.try_get_raw(index)?.is_null() {
        return Err(sqlx::Error::ColumnDecode {
            index: index.to_string(),
            source: Box::new(sqlx::error::UnexpectedNullError),
        });
    }
    row.try_get(index)
}

impl Row {
    /// Decode the column at `index` as `T`, with sqlx's type check. NULL is an error on every
    /// backend (decode into `Option<T>` to read it).
    pub fn try_get<T: Decodable>(&self, index: usize) -> Result<T, sqlx::Error> {
        let result = dispatch!(Row, self, |row, D| try_get_not_null(row, index));
        result.map_err(|e| self.name_column(e))
    }

    /// The position of the column named `column`.
    pub fn index_of(&self, column: &str) -> Result<usize, sqlx::Error> {
        (0..)
            .map_while(|index| self.column_name(index))
            .position(|name| name == column)
            .ok_or_else(|| sqlx::Error::ColumnNotFound(column.to_owned()))
    }

    /// The name of the column at `index`, if the row has one there.
    #[must_use]
    pub fn column_name(&self, index: usize) -> Option<&str> {
        dispatch!(Row, self, |row, D| sqlx::Row::columns(row)
            .get(index)
            .map(sqlx::Column::name))
    }

    /// `error` with the column it names by position named by its name instead, so an
    /// [`Error::Decode`](crate::Error::Decode) says which column could not be read.
    #[must_use]
    pub fn name_column(&self, error: sqlx::Error) -> sqlx::Error {
        match error {
            sqlx::Error::ColumnDecode { index, source } => {
                let name = index
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| self.column_name(i))
                    .map_or(index, str::to_owned);
                sqlx::Error::ColumnDecode {
                    index: name,
                    source,
                }
            }
            other => other,
        }
    }

    /// Decode the column at `index` as `T` without sqlx's type check (PostgreSQL enum labels
    /// arrive as their own type but decode as text).
    pub fn try_get_unchecked<T: Decodable>(&self, index: usize) -> Result<T, sqlx::Error> {
        let result = dispatch!(Row, self, |row, D| sqlx::Row::try_get_unchecked(row, index));
        result.map_err(|e| self.name_column(e))
    }

    /// Whether the column at `index` is SQL NULL.
    pub fn is_null(&self, index: usize) -> Result<bool, sqlx::Error> {
        use sqlx::ValueRef as _;
        Ok(dispatch!(Row, self, |row, D| sqlx::Row::try_get_raw(
            row, index
        )?
        .is_null()))
    }
}
