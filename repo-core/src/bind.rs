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
use sea_query::Value;
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
