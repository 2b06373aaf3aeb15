//! How values are stored where a backend has no type of its own for them (SQLite timestamp
//! text, a long list as one JSON parameter), and the checks every backend makes before binding
//! a value.
//!
//! Dates and timestamps outside years 1 to 9999 are refused on every backend before anything
//! is sent (SQLite's four-digit text form has no room for them, and PostgreSQL would otherwise
//! store what SQLite cannot): the bind fails with [`InvalidValue`], which the repository
//! reports as [`Error::Validation`](crate::Error::Validation). Each backend's own storage forms
//! (SQLite timestamp text, `f32` BLOBs) are in its backend file.

use chrono::{DateTime, Datelike as _, NaiveDate, NaiveDateTime, TimeZone};
use sea_query::Value;
use sqlx::error::BoxDynError;

pub(crate) mod mysql;
pub(crate) mod sqlite;

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

pub(crate) fn check_year(
    year: i32,
    what: &str,
    shown: &dyn std::fmt::Display,
) -> Result<(), InvalidValue> {
    if YEARS.contains(&year) {
        Ok(())
    } else {
        Err(InvalidValue(format!(
            "{what} {shown} is outside years 1 to 9999, the range every backend stores alike"
        )))
    }
}

pub(crate) fn date(value: Option<NaiveDate>) -> Result<Option<NaiveDate>, InvalidValue> {
    if let Some(d) = value {
        check_year(d.year(), "date", &d)?;
    }
    Ok(value)
}

pub(crate) fn naive(value: Option<NaiveDateTime>) -> Result<Option<NaiveDateTime>, InvalidValue> {
    if let Some(t) = value {
        check_year(t.year(), "timestamp", &t)?;
    }
    Ok(value)
}

/// A zone-aware timestamp, checked by its UTC year (the instant that is stored).
pub(crate) fn aware<Tz: TimeZone>(
    value: Option<DateTime<Tz>>,
) -> Result<Option<DateTime<Tz>>, InvalidValue>
where
    Tz::Offset: std::fmt::Display,
{
    if let Some(t) = &value {
        check_year(t.naive_utc().year(), "timestamp", t)?;
    }
    Ok(value)
}

pub(crate) fn unsupported(value: &Value) -> BoxDynError {
    format!("value kind {value:?} is not supported by this backend").into()
}

/// A `u64` for a backend whose integers are signed 64-bit (PostgreSQL, SQLite): above
/// `i64::MAX` it is refused before anything is sent.
pub(crate) fn unsigned(value: Option<u64>) -> Result<Option<i64>, InvalidValue> {
    value
        .map(|v| {
            i64::try_from(v).map_err(|_| {
                InvalidValue(format!(
                    "unsigned integer {v} is above {}, the largest integer this backend stores \
                     (only MariaDB's BIGINT UNSIGNED holds every u64)",
                    i64::MAX
                ))
            })
        })
        .transpose()
}

pub(crate) fn floats(values: &[Value]) -> Vec<f32> {
    values
        .iter()
        .map(|x| match x {
            Value::Float(Some(f)) => *f,
            _ => f32::NAN,
        })
        .collect()
}

/// A value of a long `IN` list as JSON, for backends that take such a list as one JSON
/// parameter: numbers as numbers, text as text, binary as hex, dates as `YYYY-MM-DD`, and
/// timestamps and times in the backend's own text forms (`timestamp`, `time`).
pub(crate) fn list_json(
    value: &Value,
    timestamp: fn(&NaiveDateTime) -> String,
    time: fn(chrono::NaiveTime) -> String,
) -> serde_json::Value {
    use serde_json::Value as Json;
    let hex = |bytes: &[u8]| {
        use std::fmt::Write as _;
        let mut text = String::with_capacity(bytes.len() * 2);
        for b in bytes {
            let _ = write!(text, "{b:02x}");
        }
        Json::String(text)
    };
    let at = |t: &NaiveDateTime| Json::String(timestamp(t));
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
        Value::Enum(sea_query::OptionEnum::Some(v)) => Json::String(v.value.to_string()),
        Value::Bytes(Some(v)) => hex(v),
        Value::Uuid(Some(v)) => hex(v.as_bytes()),
        Value::Json(Some(v)) => Json::String(v.to_string()),
        Value::ChronoDate(Some(v)) => Json::String(v.format("%Y-%m-%d").to_string()),
        Value::ChronoTime(Some(v)) => Json::String(time(*v)),
        Value::ChronoDateTime(Some(v)) => at(v),
        Value::ChronoDateTimeUtc(Some(v)) => at(&v.naive_utc()),
        Value::ChronoDateTimeLocal(Some(v)) => at(&v.naive_utc()),
        Value::ChronoDateTimeWithTimeZone(Some(v)) => at(&v.naive_utc()),
        Value::IpNetwork(Some(v)) => Json::String(v.ip().to_string()),
        #[cfg(feature = "decimal")]
        Value::Decimal(Some(v)) => Json::String(v.to_string()),
        _ => Json::Null,
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
