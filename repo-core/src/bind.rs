//! Binding sea-query values to sqlx arguments.
//!
//! The maintained binder (`sea-query-binder`) targets sqlx 0.8; this framework runs on sqlx 0.9,
//! so this module is the smallest adapter that does the same for the value kinds entities use.
//! It also fixes two storage choices on SQLite:
//!
//! - Timestamps are UTC text `YYYY-MM-DD HH:MM:SS`, followed by `.` and the microseconds with
//!   trailing zeros trimmed only when the fraction is not zero (`2024-01-01 00:00:00`,
//!   `2024-01-01 00:00:00.5`, `2024-01-01 00:00:00.000001`). A whole second is exactly what
//!   SQLite's `datetime()` and `CURRENT_TIMESTAMP` write, so such rows compare equal to bound
//!   values, and text order is time order (a trimmed fraction compares correctly as text).
//!   Dates are `YYYY-MM-DD`. Zone-aware values are converted to UTC first.
//! - `f32` arrays are little-endian BLOBs.
//!
//! Dates and timestamps outside years 1 to 9999 are refused on every backend before anything
//! is sent (the four-digit text form has no room for them, and PostgreSQL would otherwise
//! store what SQLite cannot): the bind fails with [`InvalidValue`], which the repository
//! reports as [`Error::Validation`](crate::Error::Validation).

use chrono::{DateTime, Datelike as _, NaiveDate, NaiveDateTime, TimeZone};
use sea_query::{ArrayType, OptionEnum, Value};
use sqlx::Arguments as _;
use sqlx::error::BoxDynError;

/// A bound value no backend may store; reported as [`Error::Validation`](crate::Error::Validation).
#[derive(Debug)]
pub(crate) struct InvalidValue(pub(crate) String);

impl std::fmt::Display for InvalidValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidValue {}

/// The first and last year stored alike on every backend.
const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

fn check_year(year: i32, what: &str, shown: &dyn std::fmt::Display) -> Result<(), InvalidValue> {
    if YEARS.contains(&year) {
        Ok(())
    } else {
        Err(InvalidValue(format!(
            "{what} {shown} is outside years 1 to 9999, the range every backend stores alike"
        )))
    }
}

fn date(value: Option<NaiveDate>) -> Result<Option<NaiveDate>, InvalidValue> {
    if let Some(d) = value {
        check_year(d.year(), "date", &d)?;
    }
    Ok(value)
}

fn naive(value: Option<NaiveDateTime>) -> Result<Option<NaiveDateTime>, InvalidValue> {
    if let Some(t) = value {
        check_year(t.year(), "timestamp", &t)?;
    }
    Ok(value)
}

/// A zone-aware timestamp, checked by its UTC year (the instant that is stored).
fn aware<Tz: TimeZone>(value: Option<DateTime<Tz>>) -> Result<Option<DateTime<Tz>>, InvalidValue>
where
    Tz::Offset: std::fmt::Display,
{
    if let Some(t) = &value {
        check_year(t.naive_utc().year(), "timestamp", t)?;
    }
    Ok(value)
}

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
            Value::ChronoDate(v) => args.add(date(v)?)?,
            Value::ChronoTime(v) => args.add(v)?,
            Value::ChronoDateTime(v) => args.add(naive(v)?)?,
            Value::ChronoDateTimeUtc(v) => args.add(aware(v)?)?,
            Value::ChronoDateTimeLocal(v) => args.add(aware(v)?)?,
            Value::ChronoDateTimeWithTimeZone(v) => args.add(aware(v)?)?,
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

/// The text form of a UTC timestamp on SQLite: `YYYY-MM-DD HH:MM:SS`, then `.` and the
/// microseconds without trailing zeros when there are any (see the module documentation).
/// Digits below the microsecond are dropped, as PostgreSQL drops them.
#[cfg(feature = "sqlite")]
pub(crate) fn sqlite_timestamp(at: &NaiveDateTime) -> String {
    use chrono::Timelike as _;
    let mut text = at.format("%Y-%m-%d %H:%M:%S").to_string();
    let micros = at.nanosecond() % 1_000_000_000 / 1_000;
    if micros != 0 {
        let digits = format!("{micros:06}");
        text.push('.');
        text.push_str(digits.trim_end_matches('0'));
    }
    text
}

/// The SQLite text of a zone-aware timestamp: its UTC instant.
#[cfg(feature = "sqlite")]
fn sqlite_aware<Tz: TimeZone>(value: Option<DateTime<Tz>>) -> Result<Option<String>, InvalidValue>
where
    Tz::Offset: std::fmt::Display,
{
    Ok(aware(value)?.map(|t| sqlite_timestamp(&t.naive_utc())))
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
            Value::ChronoDate(v) => args.add(date(v)?.map(|d| d.format("%Y-%m-%d").to_string()))?,
            Value::ChronoTime(v) => args.add(v)?,
            Value::ChronoDateTime(v) => args.add(naive(v)?.map(|t| sqlite_timestamp(&t)))?,
            Value::ChronoDateTimeUtc(v) => args.add(sqlite_aware(v)?)?,
            Value::ChronoDateTimeLocal(v) => args.add(sqlite_aware(v)?)?,
            Value::ChronoDateTimeWithTimeZone(v) => args.add(sqlite_aware(v)?)?,
            Value::Uuid(v) => args.add(v)?,
            Value::Array(ArrayType::Float, v) => {
                args.add(v.map(|v| crate::field::encode_f32_blob(&floats(&v))))?;
            }
            other => return Err(unsupported(&other)),
        }
    }
    Ok(args)
}
