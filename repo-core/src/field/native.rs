//! The column types the framework knows: integers, floats, text, bytes, dates and timestamps,
//! UUIDs, JSON, embeddings, and `Option` of each (NULL).

use chrono::{DateTime, NaiveDate, Utc};
use sea_query::{ArrayType, ColumnType, RcOrArc, Value};
use uuid::Uuid;

use super::{DbField, Decoding};
use crate::dialect::Backend;
use crate::row::{ColumnInfo, Row};

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
            fn from_value(value: &Value) -> Option<Self> {
                match value {
                    Value::$variant(Some(value)) => Some(value.clone()),
                    _ => None,
                }
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
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::ChronoDateTimeUtc(Some(value)) => Some(*value),
            _ => None,
        }
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
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Json(Some(json)) => Some((**json).clone()),
            _ => None,
        }
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
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Array(ArrayType::Float, Some(items)) => items
                .iter()
                .map(|item| match item {
                    Value::Float(Some(x)) => Some(*x),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
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
    fn from_value(value: &Value) -> Option<Self> {
        if value.is_some() {
            T::from_value(value).map(Some)
        } else {
            Some(None)
        }
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
