//! How a Rust field type is stored: its bound value, its decoding and its column type.
//!
//! Implement nothing here by hand for enums: `#[derive(DbEnum)]` does it.

mod enums;
pub mod json;
mod markers;
mod native;

use sea_query::{ColumnType, Value};

use crate::dialect::Backend;
pub use crate::row::Decoding;
use crate::row::{ColumnInfo, Row};

pub use crate::storage::{decode_f32_blob, encode_f32_blob};
pub use enums::DbEnum;
pub use markers::{AutoKey, DeletedAt, Timestamp, VersionNumber};

/// A Rust type that can be stored in one column.
///
/// Implemented for `bool`, `i16`, `i32`, `i64`, `f32`, `f64`, `String`, `Vec<u8>`,
/// `chrono::DateTime<Utc>`, `chrono::NaiveDate`, `uuid::Uuid`, `serde_json::Value`,
/// `Vec<f32>` (an embedding), every `#[derive(DbEnum)]` enum, and `Option<T>` of those (NULL);
/// and, for existing schemas, `chrono::NaiveDateTime`, `chrono::NaiveTime`, `u32`, `u64`,
/// `std::net::IpAddr` and `rust_decimal::Decimal` (feature `decimal`): see
/// [`field_types`](crate::field_types) for their storage on each backend.
///
/// A type of your own (a newtype such as `Cents(i64)` or `EmailAddress(String)`) becomes a
/// column type by implementing this trait, usually by delegating to the type it wraps: see
/// the README section "A field type of your own" and `examples/custom_field.rs`.
///
/// `Vec<f32>` is a PostgreSQL `real[]`; on SQLite it is a BLOB holding the floats as consecutive
/// 4-byte little-endian IEEE 754 values.
///
/// `DateTime<Utc>` is a PostgreSQL `timestamptz`; on SQLite it is UTC text
/// `YYYY-MM-DD HH:MM:SS`, followed by `.` and the microseconds without trailing zeros only when
/// they are not zero (`2024-05-01 12:00:00`, `2024-05-01 12:00:00.25`). Whole seconds are
/// written exactly as SQLite's `datetime()` writes them, and text order is time order.
/// Reading on SQLite also accepts what SQLite's date functions and other writers produce: `T`
/// instead of the space, any number of fraction digits, no seconds (`YYYY-MM-DD HH:MM`), a
/// trailing `Z` or `+HH:MM`/`-HH:MM` offset (converted to UTC), a bare date (midnight UTC), an
/// INTEGER (unix seconds) and a REAL (julian day number); anything else is an
/// [`Error::Decode`](crate::Error::Decode) naming the column and the stored value.
/// `NaiveDate` is a PostgreSQL `date` and SQLite text `YYYY-MM-DD`. Dates and timestamps
/// outside years 1 to 9999 are refused with [`Error::Validation`](crate::Error::Validation) on
/// every backend before anything is sent.
///
/// Decoding reads what a column or expression holds on every backend alike, so a custom query
/// decodes into the same fields everywhere: a `String` reads text and enum labels (a native
/// enum type on PostgreSQL: `GROUP BY status` into `status: String`); an `i64` reads an
/// integer of any width and an exact number without digits after the point (a plain `SUM`,
/// `numeric` on PostgreSQL and `DECIMAL` on MariaDB); an `f64` reads floats, integers and
/// exact numbers (a plain `AVG`), as the nearest `f64` (see [`aggregate`](crate::aggregate)).
/// Anything else stays an [`Error::Decode`](crate::Error::Decode) naming the column (an
/// integer into a `String`, a fraction into an `i64`), and so is a NULL read into a field that
/// is not an `Option`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored in a column",
    label = "not a column type",
    note = "column types: bool, i16, i32, i64, u32, u64, f32, f64, Decimal, String, Vec<u8>, DateTime<Utc>, NaiveDateTime, NaiveDate, NaiveTime, Uuid, IpAddr, serde_json::Value, Vec<f32>, #[derive(DbEnum)] enums, Option of those; mark serde types #[repo(json)], or implement DbField for a type of your own"
)]
pub trait DbField: Sized + Send + Sync + 'static {
    /// The type filters compare this column with: `T` for both `T` and `Option<T>`.
    type Scalar: DbField;
    /// Whether the column admits NULL.
    const NULLABLE: bool = false;
    /// The value bound for `self`.
    fn to_value(&self) -> Value;
    /// A typed NULL of this column's type (so PostgreSQL knows the parameter's type).
    fn null_value() -> Value;
    /// The field back from a value [`to_value`](DbField::to_value) made: how a cached row is
    /// read back. `None` when it cannot be; the default, so a type of your own that does not
    /// implement it keeps its entity out of the cache (with a warning the first time). A type
    /// that delegates to another can read back as that type does:
    /// `fn from_value(value: &Value) -> Option<Self> { i64::from_value(value).map(Cents) }`.
    #[must_use]
    fn from_value(value: &Value) -> Option<Self> {
        let _ = value;
        None
    }
    /// Decode the column at `index` of `row`.
    fn decode(row: &Row, index: usize) -> Result<Self, sqlx::Error>;
    /// The column type on `backend`, for generated schema.
    fn column_type(backend: Backend) -> ColumnType;
    /// The PostgreSQL enum type behind this column, if any: `(type name, labels)`.
    #[must_use]
    fn enum_type() -> Option<(&'static str, &'static [&'static str])> {
        None
    }
    /// How surely this type decodes what `column` holds, as the connected database describes
    /// it. Asked once per [`Db`](crate::Db) and entity before the first write that returns
    /// rows: when some column may hold a value its field cannot decode, such writes decode
    /// their rows before the write is final (in a transaction of their own, or under a
    /// savepoint in a session), so a write that fails to decode leaves nothing written; when a
    /// column can never be decoded ([`Decoding::Refused`]), they fail before anything is sent.
    ///
    /// The default, [`Decoding::Partial`], is always safe. A type of your own that decodes
    /// through another field type can answer as that type does:
    /// `fn decoding(column: &ColumnInfo) -> Decoding { <i64 as DbField>::decoding(column) }`.
    #[must_use]
    fn decoding(column: &ColumnInfo) -> Decoding {
        let _ = column;
        Decoding::Partial
    }
    /// How two values order as part of a conflict key: bulk writes sort their rows by it, so
    /// concurrent writers lock rows in one order. It must order as the default does, which
    /// compares the values [`to_value`](DbField::to_value) makes; text, integers, timestamps
    /// and the like compare in place, without making them.
    #[must_use]
    fn compare_key(&self, other: &Self) -> std::cmp::Ordering {
        crate::value::compare_value(&self.to_value(), &other.to_value())
    }
}
