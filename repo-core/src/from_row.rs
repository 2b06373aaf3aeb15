//! Rows of custom queries decoded into Rust types: a `#[derive(FromRow)]` struct or a tuple,
//! each column read through [`DbField`] as entity fields are.

use crate::field::DbField;
use crate::row::Row;

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

impl Row {
    /// Decode the column at `index` as the [`DbField`] `T`, as entity fields are decoded.
    pub fn field<T: DbField>(&self, index: usize) -> Result<T, sqlx::Error> {
        T::decode(self, index).map_err(|e| self.name_column(e))
    }
    /// Decode the column named `column` as the [`DbField`] `T`.
    pub fn field_named<T: DbField>(&self, column: &str) -> Result<T, sqlx::Error> {
        self.field(self.index_of(column)?)
    }
    /// Build a whole-row type, such as a `#[derive(FromRow)]` statistics struct.
    pub fn decode<T: FromDbRow>(&self) -> Result<T, sqlx::Error> {
        T::from_db_row(self)
    }
}
