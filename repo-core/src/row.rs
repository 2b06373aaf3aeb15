//! Rows as the driver returns them, and decoding them into Rust values on any backend.

use crate::backend::dispatch;
pub use crate::backend::{Decodable, Row};
use crate::field::DbField;

/// A row type that decodes on every enabled backend: the target of custom queries such as
/// statistics ([`fetch_rows`](crate::Repository::fetch_rows)).
///
/// Derive it with `#[derive(FromRow)]` (re-exported by this crate and its prelude): each field
/// is read from the column of the same name (or `#[repo(column = "name")]`) through
/// [`DbField`], exactly as entity fields are, so enums, timestamps, embeddings and
/// `#[repo(json)]` fields decode the same way in both. Tuples of up to eight [`DbField`]s
/// decode by position.
///
/// sqlx's own `#[derive(sqlx::FromRow)]` is not used for this: its expansion names `::sqlx`,
/// so it needs a direct sqlx dependency, and it decodes with each backend's sqlx types rather
/// than the framework's column types.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be built from a result row",
    label = "not a row type",
    note = "derive it with `#[derive(FromRow)]` from `repo_core::prelude`, or use a tuple of column types"
)]
pub trait FromDbRow: Sized + Send + Unpin + 'static {
    /// Build the value from `row`.
    fn from_db_row(row: &Row) -> Result<Self, sqlx::Error>;
}

macro_rules! tuple_row {
    ($($t:ident $i:tt),+) => {
        impl<$($t: DbField + Unpin),+> FromDbRow for ($($t,)+) {
            fn from_db_row(row: &Row) -> Result<Self, sqlx::Error> {
                Ok(($(row.field::<$t>($i)?,)+))
            }
        }
    };
}

tuple_row!(A 0);
tuple_row!(A 0, B 1);
tuple_row!(A 0, B 1, C 2);
tuple_row!(A 0, B 1, C 2, D 3);
tuple_row!(A 0, B 1, C 2, D 3, E 4);
tuple_row!(A 0, B 1, C 2, D 3, E 4, F 5);
tuple_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
tuple_row!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);

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

    /// Decode the column at `index` as the [`DbField`] `T`, as entity fields are decoded.
    pub fn field<T: DbField>(&self, index: usize) -> Result<T, sqlx::Error> {
        T::decode(self, index).map_err(|e| self.name_column(e))
    }

    /// Decode the column named `column` as the [`DbField`] `T`.
    pub fn field_named<T: DbField>(&self, column: &str) -> Result<T, sqlx::Error> {
        self.field(self.index_of(column)?)
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

    /// Build a whole-row type, such as a `#[derive(FromRow)]` statistics struct.
    pub fn decode<T: FromDbRow>(&self) -> Result<T, sqlx::Error> {
        T::from_db_row(self)
    }
}
