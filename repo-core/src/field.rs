//! How a Rust field type is stored: its bound value, its decoding and its column type.
//!
//! Implement nothing here by hand for enums: `#[derive(DbEnum)]` does it.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};
use sea_query::{ArrayType, ColumnType, OptionEnum, RcOrArc, StringLen, Value};
use uuid::Uuid;

use crate::backend::ColumnInfo;
use crate::db::Backend;
use crate::row::Row;

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
        crate::statements::compare_value(&self.to_value(), &other.to_value())
    }
}

/// How surely a field type decodes the values of a column: see [`DbField::decoding`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decoding {
    /// Every value the column can hold decodes.
    Total,
    /// What this type writes reads back as it was written; a value stored by others (a label
    /// an older version of the enum did not have, text in another format) may not decode.
    OwnValues,
    /// Even a value this type writes may come back in a form it cannot decode (the database
    /// converts it, as SQLite's column affinity turns numeric text into a number).
    Partial,
    /// No value of the column decodes as this type (a `NUMERIC` column under an `f64` field):
    /// why, in the database's terms.
    Refused(String),
}

impl Decoding {
    /// The weaker of two answers: how surely both decode.
    #[must_use]
    pub fn and(self, other: Self) -> Self {
        fn rank(d: &Decoding) -> u8 {
            match d {
                Decoding::Refused(_) => 0,
                Decoding::Partial => 1,
                Decoding::OwnValues => 2,
                Decoding::Total => 3,
            }
        }
        if rank(&other) < rank(&self) {
            other
        } else {
            self
        }
    }
}

macro_rules! native_field {
    ($ty:ty, $variant:ident, $column:expr, $decode:ident, |$info:ident| $decoding:expr, ordered) => {
        native_field!($ty, $variant, $column, $decode, |$info| $decoding, {
            fn compare_key(&self, other: &Self) -> std::cmp::Ordering {
                self.cmp(other)
            }
        });
    };
    ($ty:ty, $variant:ident, $column:expr, $decode:ident, |$info:ident| $decoding:expr) => {
        native_field!($ty, $variant, $column, $decode, |$info| $decoding, {});
    };
    ($ty:ty, $variant:ident, $column:expr, $decode:ident, |$info:ident| $decoding:expr, { $($compare:tt)* }) => {
        impl DbField for $ty {
            type Scalar = Self;
            fn to_value(&self) -> Value {
                Value::$variant(Some(self.clone()))
            }
            fn null_value() -> Value {
                Value::$variant(None)
            }
            fn decode(row: &Row, index: usize) -> Result<Self, sqlx::Error> {
                row.$decode(index)
            }
            fn column_type(_: Backend) -> ColumnType {
                $column
            }
            fn decoding($info: &ColumnInfo) -> Decoding {
                $decoding
            }
            $($compare)*
        }
    };
}

// `ordered`: the type's own order is the one `compare_value` gives its values. The decoder:
// `try_get` is sqlx's, with its type check; `integer`, `float` and `text` also take the other
// forms a backend computes the same values in (see their docs on `DbField`). The last part
// says how surely that decoder reads a column the database describes.
native_field!(
    bool,
    Bool,
    ColumnType::Boolean,
    try_get,
    |c| c.boolean(),
    ordered
);
native_field!(
    i16,
    SmallInt,
    ColumnType::SmallInteger,
    try_get,
    |c| c.integer::<i16>(2),
    ordered
);
native_field!(
    i32,
    Int,
    ColumnType::Integer,
    try_get,
    |c| c.integer::<i32>(4),
    ordered
);
native_field!(
    i64,
    BigInt,
    ColumnType::BigInteger,
    integer,
    |c| c.wide_integer(),
    ordered
);
native_field!(f32, Float, ColumnType::Float, try_get, |c| c.float::<f32>());
native_field!(f64, Double, ColumnType::Double, float, |c| c.wide_float());
native_field!(
    String,
    String,
    ColumnType::Text,
    text,
    |c| c.text(),
    ordered
);
native_field!(
    Vec<u8>,
    Bytes,
    ColumnType::Blob,
    try_get,
    |c| c.bytes(),
    ordered
);
native_field!(
    NaiveDate,
    ChronoDate,
    ColumnType::Date,
    try_get,
    |c| c.temporal::<NaiveDate>(),
    ordered
);
native_field!(Uuid, Uuid, ColumnType::Uuid, try_get, |c| c.uuid(), ordered);

impl DbField for DateTime<Utc> {
    type Scalar = Self;
    fn to_value(&self) -> Value {
        Value::ChronoDateTimeUtc(Some(*self))
    }
    fn null_value() -> Value {
        Value::ChronoDateTimeUtc(None)
    }
    fn decode(row: &Row, index: usize) -> Result<Self, sqlx::Error> {
        row.timestamp(index)
    }
    fn column_type(_: Backend) -> ColumnType {
        ColumnType::TimestampWithTimeZone
    }
    fn decoding(column: &ColumnInfo) -> Decoding {
        column.timestamp::<Self>()
    }
    fn compare_key(&self, other: &Self) -> std::cmp::Ordering {
        self.cmp(other)
    }
}

impl DbField for serde_json::Value {
    type Scalar = Self;
    fn to_value(&self) -> Value {
        Value::Json(Some(Box::new(self.clone())))
    }
    fn null_value() -> Value {
        Value::Json(None)
    }
    fn decode(row: &Row, index: usize) -> Result<Self, sqlx::Error> {
        row.try_get(index)
    }
    fn column_type(_: Backend) -> ColumnType {
        ColumnType::JsonBinary
    }
    fn decoding(column: &ColumnInfo) -> Decoding {
        column.json()
    }
}

impl DbField for Vec<f32> {
    type Scalar = Self;
    fn to_value(&self) -> Value {
        Value::Array(
            ArrayType::Float,
            Some(Box::new(
                self.iter().map(|x| Value::Float(Some(*x))).collect(),
            )),
        )
    }
    fn null_value() -> Value {
        Value::Array(ArrayType::Float, None)
    }
    fn decode(row: &Row, index: usize) -> Result<Self, sqlx::Error> {
        row.floats(index)
    }
    fn column_type(backend: Backend) -> ColumnType {
        if backend.capabilities().arrays {
            ColumnType::Array(RcOrArc::new(ColumnType::Float))
        } else {
            ColumnType::Blob
        }
    }
    fn decoding(column: &ColumnInfo) -> Decoding {
        column.floats()
    }
}

/// Encode floats as the SQLite embedding BLOB: consecutive little-endian `f32`s.
#[must_use]
pub fn encode_f32_blob(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Decode the SQLite embedding BLOB written by [`encode_f32_blob`].
pub fn decode_f32_blob(bytes: &[u8]) -> Result<Vec<f32>, String> {
    if !bytes.len().is_multiple_of(4) {
        return Err(format!(
            "embedding blob of {} bytes is not a whole number of f32 values",
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

impl<T: DbField<Scalar = T>> DbField for Option<T> {
    type Scalar = T;
    const NULLABLE: bool = true;
    fn to_value(&self) -> Value {
        match self {
            Some(value) => value.to_value(),
            None => T::null_value(),
        }
    }
    fn null_value() -> Value {
        T::null_value()
    }
    fn decode(row: &Row, index: usize) -> Result<Self, sqlx::Error> {
        if row.is_null(index)? {
            Ok(None)
        } else {
            T::decode(row, index).map(Some)
        }
    }
    fn column_type(backend: Backend) -> ColumnType {
        T::column_type(backend)
    }
    fn enum_type() -> Option<(&'static str, &'static [&'static str])> {
        T::enum_type()
    }
    fn decoding(column: &ColumnInfo) -> Decoding {
        T::decoding(column)
    }
    /// NULL first, as the typed NULL [`to_value`](DbField::to_value) makes orders before a value.
    fn compare_key(&self, other: &Self) -> std::cmp::Ordering {
        match (self, other) {
            (Some(a), Some(b)) => a.compare_key(b),
            (a, b) => a.is_some().cmp(&b.is_some()),
        }
    }
}

/// A Rust enum stored by label: a native enum type on PostgreSQL, text elsewhere.
///
/// Derive it with `#[derive(DbEnum)]`; labels default to the variant names in `snake_case` and
/// the PostgreSQL type name to the enum name in `snake_case`. The derive also implements sqlx's
/// `Type`, `Encode` and `Decode` on every enabled backend (see [`db_enum`](crate::db_enum)), so
/// an enum can be a field of a [`FromRow`](crate::FromDbRow) row or a parameter of a plain
/// sqlx query.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored in a column",
    label = "not a column type",
    note = "column types: bool, i16, i32, i64, u32, u64, f32, f64, Decimal, String, Vec<u8>, DateTime<Utc>, NaiveDateTime, NaiveDate, NaiveTime, Uuid, IpAddr, serde_json::Value, Vec<f32>, #[derive(DbEnum)] enums, Option of those; mark serde types #[repo(json)], or implement DbField for a type of your own"
)]
pub trait DbEnum: Sized + Send + Sync + 'static + crate::row::Decodable {
    /// The PostgreSQL type name.
    const TYPE_NAME: &'static str;
    /// Every label, in declaration order.
    const LABELS: &'static [&'static str];
    /// The stored label of `self`.
    fn as_label(&self) -> &'static str;
    /// The variant stored as `label`, if any.
    fn from_label(label: &str) -> Option<Self>;
}

impl<T: DbEnum> DbField for T {
    type Scalar = Self;
    fn to_value(&self) -> Value {
        Value::Enum(OptionEnum::Some(Box::new(sea_query::Enum {
            type_name: T::TYPE_NAME.into(),
            value: Cow::Borrowed(self.as_label()),
        })))
    }
    fn null_value() -> Value {
        Value::Enum(OptionEnum::None(T::TYPE_NAME.into()))
    }
    /// Decoded by the enum's sqlx `Decode` impl (see [`db_enum`](crate::db_enum)): a label the
    /// enum does not know is an error naming the label, the enum and the column.
    fn decode(row: &Row, index: usize) -> Result<Self, sqlx::Error> {
        row.try_get(index)
    }
    fn column_type(backend: Backend) -> ColumnType {
        if backend.capabilities().native_enums {
            ColumnType::Custom(T::TYPE_NAME.into())
        } else {
            ColumnType::String(StringLen::None)
        }
    }
    fn enum_type() -> Option<(&'static str, &'static [&'static str])> {
        Some((T::TYPE_NAME, T::LABELS))
    }
    fn decoding(column: &ColumnInfo) -> Decoding {
        column.labels::<T>(T::LABELS)
    }
}

/// The column type of `#[repo(created_at)]` / `#[repo(updated_at)]` fields.
#[diagnostic::on_unimplemented(
    message = "`#[repo(created_at)]` and `#[repo(updated_at)]` need a `chrono::DateTime<Utc>` field, not `{Self}`",
    label = "not a timestamp",
    note = "the repository sets these fields to the current time: declare the field `DateTime<Utc>`, or drop the attribute to store `{Self}` as a plain column"
)]
pub trait Timestamp {
    /// The value a new entity holds until the repository sets the real time on insert.
    const PLACEHOLDER: Self;
}
impl Timestamp for DateTime<Utc> {
    const PLACEHOLDER: Self = DateTime::<Utc>::UNIX_EPOCH;
}

/// The column type of `#[repo(primary_key, auto)]` fields: database-generated integers.
#[diagnostic::on_unimplemented(
    message = "`#[repo(auto)]` needs an integer primary key (`i32` or `i64`), not `{Self}`",
    label = "cannot be generated by the database",
    note = "declare the key `i64`, or drop `auto` and set the key in the application"
)]
pub trait AutoKey {
    /// The value a new entity holds until the database generates the key on insert.
    const PLACEHOLDER: Self;
}
impl AutoKey for i32 {
    const PLACEHOLDER: Self = 0;
}
impl AutoKey for i64 {
    const PLACEHOLDER: Self = 0;
}

/// The column type of `#[repo(version)]` fields: an integer the repository adds 1 to on every
/// write.
#[diagnostic::on_unimplemented(
    message = "`#[repo(version)]` needs an integer field (`i64` or `i32`), not `{Self}`",
    label = "not a version number",
    note = "the repository compares the version on every single-row write and adds 1: declare the field `i64`"
)]
pub trait VersionNumber {
    /// The version of a new entity built from its input type: new rows start at 0.
    const PLACEHOLDER: Self;
}
impl VersionNumber for i32 {
    const PLACEHOLDER: Self = 0;
}
impl VersionNumber for i64 {
    const PLACEHOLDER: Self = 0;
}

/// The column type of `#[repo(soft_delete)]` fields: when the row was deleted, or `None`
/// while it is live.
#[diagnostic::on_unimplemented(
    message = "`#[repo(soft_delete)]` needs an `Option<DateTime<Utc>>` field, not `{Self}`",
    label = "not an optional timestamp",
    note = "a delete stores the time of the delete and a live row holds NULL: declare the field `Option<DateTime<Utc>>`"
)]
pub trait DeletedAt {
    /// The value of a new entity built from its input type: live.
    const PLACEHOLDER: Self;
}
impl DeletedAt for Option<DateTime<Utc>> {
    const PLACEHOLDER: Self = None;
}

/// Storage of `#[repo(json)]` fields: any serde type as a JSON document (`jsonb` on
/// PostgreSQL, text on SQLite). A JSON `null` is stored as SQL NULL and read back from it.
pub mod json {
    use sea_query::{ColumnType, Value};
    use serde::{Serialize, de::DeserializeOwned};

    use crate::db::Backend;
    use crate::row::Row;

    /// The bound value of a JSON field; a value serde cannot serialize is a
    /// [`Validation`](crate::Error::Validation) error naming `field`.
    pub fn to_value<T: Serialize>(value: &T, field: &str) -> crate::Result<Value> {
        match serde_json::to_value(value) {
            Ok(serde_json::Value::Null) => Ok(Value::Json(None)),
            Ok(json) => Ok(Value::Json(Some(Box::new(json)))),
            Err(e) => Err(crate::Error::validation(field, e.to_string())),
        }
    }

    /// Decode a JSON field.
    pub fn decode<T: DeserializeOwned>(row: &Row, index: usize) -> Result<T, sqlx::Error> {
        let json: Option<serde_json::Value> = if row.is_null(index)? {
            None
        } else {
            Some(row.try_get(index)?)
        };
        serde_json::from_value(json.unwrap_or(serde_json::Value::Null)).map_err(|e| {
            sqlx::Error::ColumnDecode {
                index: index.to_string(),
                source: e.into(),
            }
        })
    }

    /// Whether the JSON field admits NULL (its type deserializes from `null`).
    #[must_use]
    pub fn nullable<T: DeserializeOwned>() -> bool {
        serde_json::from_value::<T>(serde_json::Value::Null).is_ok()
    }

    /// The column type of a JSON field.
    #[must_use]
    pub fn column_type(_: Backend) -> ColumnType {
        ColumnType::JsonBinary
    }

    /// How surely a JSON field decodes `column`: a document it wrote reads back; another may
    /// not have the shape the field's type expects.
    #[must_use]
    pub fn decoding(column: &crate::backend::ColumnInfo) -> crate::field::Decoding {
        match column.json() {
            crate::field::Decoding::Total => crate::field::Decoding::OwnValues,
            other => other,
        }
    }
}
