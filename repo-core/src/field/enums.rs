//! Rust enums stored by label (`#[derive(DbEnum)]`).

use std::borrow::Cow;

use sea_query::{ColumnType, OptionEnum, StringLen, Value};

use super::{DbField, Decoding};
use crate::dialect::Backend;
use crate::row::{ColumnInfo, Row};

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
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Enum(OptionEnum::Some(label)) => T::from_label(&label.value),
            _ => None,
        }
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
