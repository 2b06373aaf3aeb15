//! Binding sea-query values to sqlx arguments.
//!
//! The maintained binder (`sea-query-binder`) targets sqlx 0.8; this framework runs on sqlx 0.9,
//! so this module is the smallest adapter that does the same for the value kinds entities use.
//! It also fixes two storage choices on SQLite: timestamps are UTC text
//! `YYYY-MM-DD HH:MM:SS.ffffff` (fixed width, so text order is time order and it compares with
//! SQLite's own `datetime()`), and `f32` arrays are little-endian BLOBs.

use sea_query::{ArrayType, OptionEnum, Value};
use sqlx::Arguments as _;
use sqlx::error::BoxDynError;

fn unsupported(value: &Value) -> BoxDynError {
    format!("value kind {value:?} is not supported by this backend").into()
}

fn unsigned(value: Option<u64>) -> Result<Option<i64>, BoxDynError> {
    value
        .map(|v| {
            i64::try_from(v).map_err(|_| format!("{v} does not fit a signed 64-bit column").into())
        })
        .transpose()
}

/// Arguments for a PostgreSQL statement.
#[cfg(feature = "postgres")]
pub(crate) fn pg_arguments(values: Vec<Value>) -> Result<sqlx::postgres::PgArguments, BoxDynError> {
    let mut args = sqlx::postgres::PgArguments::default();
    args.reserve(values.len(), values.len() * 8);
    for value in values {
        match value {
            Value::Bool(v) => args.add(v)?,
            // Every integer travels as int8 and every float as float8: PostgreSQL converts
            // them to the column's type, and one SQL text then always has the same parameter
            // types, which sqlx's per-connection statement cache (keyed by text) relies on.
            Value::TinyInt(v) => args.add(v.map(i64::from))?,
            Value::SmallInt(v) => args.add(v.map(i64::from))?,
            Value::Int(v) => args.add(v.map(i64::from))?,
            Value::BigInt(v) => args.add(v)?,
            Value::TinyUnsigned(v) => args.add(v.map(i64::from))?,
            Value::SmallUnsigned(v) => args.add(v.map(i64::from))?,
            Value::Unsigned(v) => args.add(v.map(i64::from))?,
            Value::BigUnsigned(v) => args.add(unsigned(v)?)?,
            Value::Float(v) => args.add(v.map(f64::from))?,
            Value::Double(v) => args.add(v)?,
            Value::String(v) => args.add(v)?,
            Value::Char(v) => args.add(v.map(String::from))?,
            Value::Enum(OptionEnum::Some(v)) => args.add(v.value.into_owned())?,
            Value::Enum(OptionEnum::None(_)) => args.add(None::<String>)?,
            Value::Bytes(v) => args.add(v)?,
            Value::Json(v) => args.add(v.map(|v| *v))?,
            Value::ChronoDate(v) => args.add(v)?,
            Value::ChronoTime(v) => args.add(v)?,
            Value::ChronoDateTime(v) => args.add(v)?,
            Value::ChronoDateTimeUtc(v) => args.add(v)?,
            Value::ChronoDateTimeLocal(v) => args.add(v)?,
            Value::ChronoDateTimeWithTimeZone(v) => args.add(v)?,
            Value::Uuid(v) => args.add(v)?,
            Value::Array(ArrayType::Float, v) => args.add(v.map(|v| floats(&v)))?,
            Value::Array(ArrayType::Double, v) => args.add(elements::<f64>(v)?)?,
            Value::Array(ArrayType::Bool, v) => args.add(elements::<bool>(v)?)?,
            Value::Array(ArrayType::SmallInt, v) => args.add(elements::<i16>(v)?)?,
            Value::Array(ArrayType::Int, v) => args.add(elements::<i32>(v)?)?,
            Value::Array(ArrayType::BigInt, v) => args.add(elements::<i64>(v)?)?,
            Value::Array(ArrayType::String, v) => args.add(elements::<String>(v)?)?,
            Value::Array(ArrayType::Bytes, v) => args.add(elements::<Vec<u8>>(v)?)?,
            Value::Array(ArrayType::Uuid, v) => args.add(elements::<uuid::Uuid>(v)?)?,
            Value::Array(ArrayType::ChronoDate, v) => {
                args.add(elements::<chrono::NaiveDate>(v)?)?;
            }
            Value::Array(ArrayType::ChronoTime, v) => {
                args.add(elements::<chrono::NaiveTime>(v)?)?;
            }
            Value::Array(ArrayType::ChronoDateTime, v) => {
                args.add(elements::<chrono::NaiveDateTime>(v)?)?;
            }
            Value::Array(ArrayType::ChronoDateTimeUtc, v) => {
                args.add(elements::<chrono::DateTime<chrono::Utc>>(v)?)?;
            }
            other => return Err(unsupported(&other)),
        }
    }
    Ok(args)
}

/// The elements of an array value, each of type `T` (sea-query boxes array values).
#[allow(clippy::box_collection)]
fn elements<T: sea_query::ValueType>(
    values: Option<Box<Vec<Value>>>,
) -> Result<Option<Vec<T>>, BoxDynError> {
    values
        .map(|values| {
            values
                .into_iter()
                .map(|v| T::try_from(v).map_err(|_| "array element of another type".into()))
                .collect()
        })
        .transpose()
}

/// The parameter types of `values` as PostgreSQL receives them, one letter each: written into
/// the text of statements whose shape comes from user filters, so two statements that differ
/// only in their parameter types never share a cached prepared statement.
#[cfg(feature = "postgres")]
pub(crate) fn pg_type_signature(values: &[Value]) -> String {
    values
        .iter()
        .map(|value| match value {
            Value::Bool(_) => 'b',
            Value::TinyInt(_)
            | Value::SmallInt(_)
            | Value::Int(_)
            | Value::BigInt(_)
            | Value::TinyUnsigned(_)
            | Value::SmallUnsigned(_)
            | Value::Unsigned(_)
            | Value::BigUnsigned(_) => 'i',
            Value::Float(_) | Value::Double(_) => 'f',
            Value::String(_) | Value::Char(_) | Value::Enum(_) => 's',
            Value::Bytes(_) => 'y',
            Value::Json(_) => 'j',
            Value::ChronoDate(_) => 'd',
            Value::ChronoTime(_) => 't',
            Value::ChronoDateTime(_) => 'n',
            Value::ChronoDateTimeUtc(_)
            | Value::ChronoDateTimeLocal(_)
            | Value::ChronoDateTimeWithTimeZone(_) => 'z',
            Value::Uuid(_) => 'u',
            Value::Array(..) => 'a',
        })
        .collect()
}

fn floats(values: &[Value]) -> Vec<f32> {
    values
        .iter()
        .map(|x| match x {
            Value::Float(Some(f)) => *f,
            _ => f32::NAN,
        })
        .collect()
}

/// The text form of a UTC timestamp on SQLite.
#[cfg(feature = "sqlite")]
pub(crate) fn sqlite_timestamp(at: &chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

/// Arguments for a SQLite statement.
#[cfg(feature = "sqlite")]
pub(crate) fn sqlite_arguments(
    values: Vec<Value>,
) -> Result<sqlx::sqlite::SqliteArguments, BoxDynError> {
    let mut args = sqlx::sqlite::SqliteArguments::default();
    args.reserve(values.len(), 0);
    for value in values {
        match value {
            Value::Bool(v) => args.add(v)?,
            Value::TinyInt(v) => args.add(v.map(i32::from))?,
            Value::SmallInt(v) => args.add(v.map(i32::from))?,
            Value::Int(v) => args.add(v)?,
            Value::BigInt(v) => args.add(v)?,
            Value::TinyUnsigned(v) => args.add(v.map(i32::from))?,
            Value::SmallUnsigned(v) => args.add(v.map(i32::from))?,
            Value::Unsigned(v) => args.add(v.map(i64::from))?,
            Value::BigUnsigned(v) => args.add(unsigned(v)?)?,
            Value::Float(v) => args.add(v.map(f64::from))?,
            Value::Double(v) => args.add(v)?,
            Value::String(v) => args.add(v)?,
            Value::Char(v) => args.add(v.map(String::from))?,
            Value::Enum(OptionEnum::Some(v)) => args.add(v.value.into_owned())?,
            Value::Enum(OptionEnum::None(_)) => args.add(None::<String>)?,
            Value::Bytes(v) => args.add(v)?,
            Value::Json(v) => args.add(v.map(|v| v.to_string()))?,
            Value::ChronoDate(v) => args.add(v.map(|d| d.format("%Y-%m-%d").to_string()))?,
            Value::ChronoTime(v) => args.add(v)?,
            Value::ChronoDateTime(v) => {
                args.add(v.map(|t| sqlite_timestamp(&t.and_utc())))?;
            }
            Value::ChronoDateTimeUtc(v) => args.add(v.map(|t| sqlite_timestamp(&t)))?,
            Value::ChronoDateTimeLocal(v) => {
                args.add(v.map(|t| sqlite_timestamp(&t.to_utc())))?;
            }
            Value::ChronoDateTimeWithTimeZone(v) => {
                args.add(v.map(|t| sqlite_timestamp(&t.to_utc())))?;
            }
            Value::Uuid(v) => args.add(v)?,
            Value::Array(ArrayType::Float, v) => {
                args.add(v.map(|v| crate::field::encode_f32_blob(&floats(&v))))?;
            }
            other => return Err(unsupported(&other)),
        }
    }
    Ok(args)
}
