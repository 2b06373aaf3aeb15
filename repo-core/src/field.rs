//! How a Rust field type is stored: its bound value, its decoding and its column type.
//!
//! Implement nothing here by hand for enums: `#[derive(DbEnum)]` does it.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};
use sea_query::{ArrayType, ColumnType, OptionEnum, RcOrArc, StringLen, Value};
use uuid::Uuid;

use crate::db::Backend;
use crate::row::Row;

/// A Rust type that can be stored in one column.
///
/// Implemented for `bool`, `i16`, `i32`, `i64`, `f32`, `f64`, `String`, `Vec<u8>`,
/// `chrono::DateTime<Utc>`, `chrono::NaiveDate`, `uuid::Uuid`, `serde_json::Value`,
/// `Vec<f32>` (an embedding), every `#[derive(DbEnum)]` enum, and `Option<T>` of those (NULL).
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
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored in a column",
    label = "not a column type",
    note = "column types: bool, i16, i32, i64, f32, f64, String, Vec<u8>, DateTime<Utc>, NaiveDate, Uuid, serde_json::Value, Vec<f32>, #[derive(DbEnum)] enums, Option of those; mark serde types #[repo(json)]"
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
}

macro_rules! native_field {
    ($ty:ty, $variant:ident, $column:expr) => {
        impl DbField for $ty {
            type Scalar = Self;
            fn to_value(&self) -> Value {
                Value::$variant(Some(self.clone()))
            }
            fn null_value() -> Value {
                Value::$variant(None)
            }
            fn decode(row: &Row, index: usize) -> Result<Self, sqlx::Error> {
                row.try_get(index)
            }
            fn column_type(_: Backend) -> ColumnType {
                $column
            }
        }
    };
}

native_field!(bool, Bool, ColumnType::Boolean);
native_field!(i16, SmallInt, ColumnType::SmallInteger);
native_field!(i32, Int, ColumnType::Integer);
native_field!(i64, BigInt, ColumnType::BigInteger);
native_field!(f32, Float, ColumnType::Float);
native_field!(f64, Double, ColumnType::Double);
native_field!(String, String, ColumnType::Text);
native_field!(Vec<u8>, Bytes, ColumnType::Blob);
native_field!(NaiveDate, ChronoDate, ColumnType::Date);
native_field!(Uuid, Uuid, ColumnType::Uuid);

impl DbField for DateTime<Utc> {
    type Scalar = Self;
    fn to_value(&self) -> Value {
        Value::ChronoDateTimeUtc(Some(*self))
    }
    fn null_value() -> Value {
        Value::ChronoDateTimeUtc(None)
    }
    fn decode(row: &Row, index: usize) -> Result<Self, sqlx::Error> {
        match row {
            #[cfg(feature = "postgres")]
            Row::Postgres(row) => sqlx::Row::try_get(row, index),
            #[cfg(feature = "sqlite")]
            Row::Sqlite(row) => sqlite_timestamp::decode(row, index),
        }
    }
    fn column_type(_: Backend) -> ColumnType {
        ColumnType::TimestampWithTimeZone
    }
}

/// Reading SQLite timestamps in every form SQLite's date functions accept.
#[cfg(feature = "sqlite")]
mod sqlite_timestamp {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
    use sqlx::sqlite::SqliteRow;
    use sqlx::{Column as _, Row as _, TypeInfo as _, ValueRef as _};

    /// Decode the column at `index`: TEXT in any accepted form, INTEGER unix seconds or REAL
    /// julian day number.
    pub(super) fn decode(row: &SqliteRow, index: usize) -> Result<DateTime<Utc>, sqlx::Error> {
        let raw = row.try_get_raw(index)?;
        let kind = raw.type_info().name().to_owned();
        let parsed = match kind.as_str() {
            "TEXT" => {
                let text: &str = row.try_get_unchecked(index)?;
                parse(text).ok_or_else(|| {
                    format!(
                        "`{text}` is not a timestamp: expected `YYYY-MM-DD HH:MM:SS[.fraction]` \
                         (or `T` for the space, an offset, or a bare date)"
                    )
                })
            }
            "INTEGER" => {
                let seconds: i64 = row.try_get_unchecked(index)?;
                DateTime::from_timestamp(seconds, 0)
                    .ok_or_else(|| format!("{seconds} unix seconds is out of range"))
            }
            "REAL" => {
                let day: f64 = row.try_get_unchecked(index)?;
                from_julian_day(day)
                    .ok_or_else(|| format!("julian day {day} is not a representable instant"))
            }
            other => Err(format!("a {other} value is not a timestamp")),
        };
        parsed.map_err(|reason| sqlx::Error::ColumnDecode {
            index: row
                .columns()
                .get(index)
                .map_or_else(|| index.to_string(), |c| c.name().to_owned()),
            source: reason.into(),
        })
    }

    /// The instant of a julian day number, at the millisecond precision SQLite computes with.
    fn from_julian_day(day: f64) -> Option<DateTime<Utc>> {
        /// Milliseconds from the julian day epoch to the unix epoch (julian day 2440587.5).
        const UNIX_EPOCH_MS: i64 = 210_866_760_000_000;
        let ms = (day * 86_400_000.0).round();
        // Beyond this, f64 milliseconds are no longer exact and chrono's range is long passed.
        if !ms.is_finite() || ms.abs() > 9.0e15 {
            return None;
        }
        DateTime::from_timestamp_millis(ms as i64 - UNIX_EPOCH_MS)
    }

    /// Parse `YYYY-MM-DD`, optionally followed by ` ` or `T`, `HH:MM`, optionally `:SS` and
    /// `.` with one or more fraction digits, optionally `Z` or `±HH:MM` (optionally after
    /// spaces); the UTC instant.
    pub(crate) fn parse(text: &str) -> Option<DateTime<Utc>> {
        let bytes = text.as_bytes();
        let date = date(bytes.get(..10)?)?;
        let rest = &bytes[10..];
        let Some((&separator, rest)) = rest.split_first() else {
            return Some(date.and_time(NaiveTime::MIN).and_utc());
        };
        if separator != b' ' && separator != b'T' {
            return None;
        }
        let hour = number(rest.get(..2)?)?;
        if rest.get(2) != Some(&b':') {
            return None;
        }
        let minute = number(rest.get(3..5)?)?;
        let mut rest = &rest[5..];
        let mut second = 0;
        let mut nanos = 0;
        if let [b':', s1, s2, tail @ ..] = rest {
            second = number(&[*s1, *s2])?;
            rest = tail;
            if let [b'.', tail @ ..] = rest {
                let digits = tail.iter().take_while(|b| b.is_ascii_digit()).count();
                if digits == 0 {
                    return None;
                }
                // Nanoseconds from the first nine digits; later digits are below chrono's
                // precision.
                for position in 0..9 {
                    let digit = tail.get(position).filter(|_| position < digits);
                    nanos = nanos * 10 + digit.map_or(0, |d| u32::from(d - b'0'));
                }
                rest = &tail[digits..];
            }
        }
        let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
        let local = NaiveDateTime::new(date, time);
        let offset = offset(rest.trim_ascii_start())?;
        Some(local.checked_sub_signed(offset)?.and_utc())
    }

    /// `YYYY-MM-DD`.
    fn date(bytes: &[u8]) -> Option<NaiveDate> {
        let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = bytes else {
            return None;
        };
        let year = number(&[*y1, *y2, *y3, *y4])?;
        NaiveDate::from_ymd_opt(
            i32::try_from(year).ok()?,
            number(&[*m1, *m2])?,
            number(&[*d1, *d2])?,
        )
    }

    /// The offset east of UTC a zone suffix names: none, `Z`, or `±HH:MM`.
    fn offset(zone: &[u8]) -> Option<TimeDelta> {
        match zone {
            [] | [b'Z' | b'z'] => Some(TimeDelta::zero()),
            [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
                let hours = number(&[*h1, *h2])?;
                let minutes = number(&[*m1, *m2])?;
                if hours > 14 || minutes > 59 {
                    return None;
                }
                let delta = TimeDelta::minutes(i64::from(hours * 60 + minutes));
                Some(if *sign == b'-' { -delta } else { delta })
            }
            _ => None,
        }
    }

    /// ASCII digits as a number; `None` for anything else.
    fn number(digits: &[u8]) -> Option<u32> {
        digits.iter().try_fold(0_u32, |n, b| {
            b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
        })
    }

    #[cfg(test)]
    mod tests {
        use super::parse;

        fn at(text: &str) -> String {
            parse(text).map_or_else(|| "none".to_owned(), |t| t.to_rfc3339())
        }

        #[test]
        fn accepts_every_sqlite_form() {
            let midnight = "2024-01-01T00:00:00+00:00";
            assert_eq!(at("2024-01-01"), midnight);
            assert_eq!(at("2024-01-01 00:00"), midnight);
            assert_eq!(at("2024-01-01 00:00:00"), midnight);
            assert_eq!(at("2024-01-01T00:00:00"), midnight);
            assert_eq!(at("2024-01-01 00:00:00.000000"), midnight);
            assert_eq!(at("2024-01-01 00:00:00Z"), midnight);
            assert_eq!(at("2024-01-01T02:30:00+02:30"), midnight);
            assert_eq!(at("2023-12-31 22:00 -02:00"), midnight);
            assert_eq!(at("2024-01-01 00:00:00.5"), "2024-01-01T00:00:00.500+00:00");
            assert_eq!(
                at("2024-01-01 00:00:00.0000015999"),
                "2024-01-01T00:00:00.000001599+00:00"
            );
        }

        #[test]
        fn refuses_malformed_text() {
            for text in [
                "",
                "yesterday",
                "2024-1-01",
                "2024-02-30",
                "2024-01-01 24:00:00",
                "2024-01-01 00:00:00.",
                "2024-01-01 00:00:00+2",
                "2024-01-01x00:00",
                "2024-01-01 00:00:00 UTC",
            ] {
                assert_eq!(at(text), "none", "{text:?}");
            }
        }
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
        match row {
            #[cfg(feature = "postgres")]
            Row::Postgres(row) => sqlx::Row::try_get(row, index),
            #[cfg(feature = "sqlite")]
            Row::Sqlite(row) => {
                let bytes: &[u8] = sqlx::Row::try_get(row, index)?;
                decode_f32_blob(bytes).map_err(|source| sqlx::Error::ColumnDecode {
                    index: index.to_string(),
                    source: source.into(),
                })
            }
        }
    }
    fn column_type(backend: Backend) -> ColumnType {
        match backend {
            Backend::Postgres => ColumnType::Array(RcOrArc::new(ColumnType::Float)),
            Backend::Sqlite => ColumnType::Blob,
        }
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
    note = "column types: bool, i16, i32, i64, f32, f64, String, Vec<u8>, DateTime<Utc>, NaiveDate, Uuid, serde_json::Value, Vec<f32>, #[derive(DbEnum)] enums, Option of those; mark serde types #[repo(json)]"
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
        match backend {
            Backend::Postgres => ColumnType::Custom(T::TYPE_NAME.into()),
            Backend::Sqlite => ColumnType::String(StringLen::None),
        }
    }
    fn enum_type() -> Option<(&'static str, &'static [&'static str])> {
        Some((T::TYPE_NAME, T::LABELS))
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
}
