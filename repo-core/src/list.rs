//! Long `IN` lists as one bound parameter, so a list is never too long for the bind limit.
//!
//! PostgreSQL receives an array (`column = ANY($1)`), SQLite a JSON array of the values as it
//! stores them (`column IN (SELECT value FROM json_each(?))`). Either way the values stay
//! bound, never written into the SQL text.

use sea_query::extension::postgres::PgFunc;
use sea_query::{ArrayType, Expr, ExprTrait as _, OptionEnum, Value};
use serde_json::Value as Json;

use crate::db::Backend;

/// `column IN (values)` for a long list of values of the column's type (`typed_null`).
pub(crate) fn in_list(
    backend: Backend,
    column: &'static str,
    typed_null: &Value,
    values: &[Value],
) -> Expr {
    match backend {
        Backend::Postgres => {
            let array = Value::Array(array_type(typed_null), Some(Box::new(values.to_vec())));
            Expr::col(column).eq(PgFunc::any(Expr::val(array)))
        }
        Backend::Sqlite => {
            let json = Json::Array(values.iter().map(sqlite_json).collect()).to_string();
            let template = if matches!(typed_null, Value::Bytes(_) | Value::Uuid(_)) {
                "$1 IN (SELECT unhex(value) FROM json_each($2))"
            } else {
                "$1 IN (SELECT value FROM json_each($2))"
            };
            crate::filter::custom(backend, template, [Expr::col(column), Expr::val(json)])
        }
    }
}

/// The PostgreSQL array type whose elements have `typed_null`'s type.
fn array_type(typed_null: &Value) -> ArrayType {
    match typed_null {
        Value::Bool(_) => ArrayType::Bool,
        Value::TinyInt(_) | Value::SmallInt(_) => ArrayType::SmallInt,
        Value::Int(_) => ArrayType::Int,
        Value::Float(_) => ArrayType::Float,
        Value::Double(_) => ArrayType::Double,
        Value::String(_) | Value::Char(_) => ArrayType::String,
        Value::Enum(OptionEnum::None(name)) => ArrayType::Enum(Box::new(name.clone())),
        Value::Bytes(_) => ArrayType::Bytes,
        Value::Json(_) => ArrayType::Json,
        Value::ChronoDate(_) => ArrayType::ChronoDate,
        Value::ChronoTime(_) => ArrayType::ChronoTime,
        Value::ChronoDateTime(_) => ArrayType::ChronoDateTime,
        Value::ChronoDateTimeUtc(_)
        | Value::ChronoDateTimeLocal(_)
        | Value::ChronoDateTimeWithTimeZone(_) => ArrayType::ChronoDateTimeUtc,
        Value::Uuid(_) => ArrayType::Uuid,
        _ => ArrayType::BigInt,
    }
}

/// A value as SQLite stores it, in JSON (blobs as hex, read back with `unhex`).
fn sqlite_json(value: &Value) -> Json {
    let hex = |bytes: &[u8]| {
        use std::fmt::Write as _;
        let mut text = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            let _ = write!(text, "{b:02x}");
        }
        Json::String(text)
    };
    match value {
        Value::Bool(Some(v)) => Json::from(i64::from(*v)),
        Value::TinyInt(Some(v)) => Json::from(*v),
        Value::SmallInt(Some(v)) => Json::from(*v),
        Value::Int(Some(v)) => Json::from(*v),
        Value::BigInt(Some(v)) => Json::from(*v),
        Value::TinyUnsigned(Some(v)) => Json::from(*v),
        Value::SmallUnsigned(Some(v)) => Json::from(*v),
        Value::Unsigned(Some(v)) => Json::from(*v),
        Value::BigUnsigned(Some(v)) => Json::from(*v),
        Value::Float(Some(v)) => Json::from(f64::from(*v)),
        Value::Double(Some(v)) => Json::from(*v),
        Value::String(Some(v)) => Json::String(v.clone()),
        Value::Char(Some(v)) => Json::String(v.to_string()),
        Value::Enum(OptionEnum::Some(v)) => Json::String(v.value.to_string()),
        Value::Bytes(Some(v)) => hex(v),
        Value::Uuid(Some(v)) => hex(v.as_bytes()),
        Value::Json(Some(v)) => Json::String(v.to_string()),
        Value::ChronoDate(Some(v)) => Json::String(v.format("%Y-%m-%d").to_string()),
        Value::ChronoDateTimeUtc(Some(v)) => {
            Json::String(crate::bind::sqlite_timestamp(&v.naive_utc()))
        }
        Value::ChronoDateTime(Some(v)) => Json::String(crate::bind::sqlite_timestamp(v)),
        _ => Json::Null,
    }
}
