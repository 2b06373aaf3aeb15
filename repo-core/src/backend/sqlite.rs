//! SQLite: connecting and per-connection settings, binding with its storage choices, and
//! reading what other writers store.

use chrono::NaiveDateTime;
use sea_query::{ArrayType, Value};
use sqlx::error::BoxDynError;

use super::{Driver, Row};
use crate::bind::{aware, date, floats, naive, unsigned, unsupported};
use crate::db::DbOptions;
use crate::field_types::sqlite_time;

mod catalog;

pub(crate) async fn connect(
    url: &str,
    options: &DbOptions,
) -> Result<sqlx::SqlitePool, sqlx::Error> {
    use std::str::FromStr as _;
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let settings = options.on_connect.clone();
    let mut connect = sqlx::sqlite::SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .foreign_keys(true)
        // LIKE is case-sensitive on every backend (PostgreSQL's LIKE always is).
        .pragma("case_sensitive_like", "ON")
        .busy_timeout(options.busy_timeout)
        .synchronous(match options.synchronous {
            crate::db::Synchronous::Off => sqlx::sqlite::SqliteSynchronous::Off,
            crate::db::Synchronous::Normal => sqlx::sqlite::SqliteSynchronous::Normal,
            crate::db::Synchronous::Full => sqlx::sqlite::SqliteSynchronous::Full,
            crate::db::Synchronous::Extra => sqlx::sqlite::SqliteSynchronous::Extra,
        });
    if !in_memory {
        connect = connect.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
    }
    let mut pool = sqlx::sqlite::SqlitePoolOptions::new()
        .acquire_timeout(options.acquire_timeout)
        .test_before_acquire(options.test_before_acquire)
        .after_connect(move |conn, _| {
            let settings = settings.clone();
            Box::pin(async move {
                forbid_double_quoted_strings(conn).await?;
                super::run_settings!(conn, settings)
            })
        });
    pool = if in_memory {
        // Each connection to `:memory:` is its own database: keep exactly one, forever.
        pool.max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
    } else {
        pool.max_connections(options.max_connections)
            .min_connections(options.min_connections)
    };
    pool.connect_with(connect).await
}

impl Driver for sqlx::Sqlite {
    fn arguments(values: &[Value]) -> Result<Self::Arguments, BoxDynError> {
        let mut args = Arguments::new(values.len());
        for value in values {
            args.bind_ref(value)?;
        }
        Ok(args.args)
    }
    fn arguments_owned(values: Vec<Value>) -> Result<Self::Arguments, BoxDynError> {
        let mut args = Arguments::new(values.len());
        for value in values {
            args.bind(value)?;
        }
        Ok(args.args)
    }
    fn wrap(row: Self::Row) -> Row {
        Row::Sqlite(row)
    }
    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
}

/// Turn off SQLite's double-quoted string literals on a new connection, for DML and DDL alike.
///
/// By default SQLite reads a double-quoted name that matches no column as a string literal, so
/// `SELECT "no_such_column" FROM t` returns the text instead of failing, and a typo or a drifted
/// schema gives wrong results silently. With this off, such a statement fails as it does on
/// PostgreSQL; string literals take single quotes, as generated SQL always writes them.
async fn forbid_double_quoted_strings(
    conn: &mut sqlx::SqliteConnection,
) -> Result<(), sqlx::Error> {
    let mut handle = conn.lock_handle().await?;
    switch_off_double_quoted_strings(&mut handle).map_err(|(name, code)| {
        sqlx::Error::Configuration(
            format!("SQLite refused to turn off {name}: result code {code}").into(),
        )
    })
}

/// `sqlite3_db_config(db, SQLITE_DBCONFIG_DQS_DML, 0, NULL)`, then the same for
/// `SQLITE_DBCONFIG_DQS_DDL`; on failure the option's name and SQLite's result code.
///
/// `unsafe` is needed because this is a C call into the SQLite library sqlx links (through
/// `libsqlite3-sys`, the same version): sqlx has no option for these settings, and SQLite offers
/// them only through this variadic function, not as a pragma.
#[allow(unsafe_code)]
fn switch_off_double_quoted_strings(
    handle: &mut sqlx::sqlite::LockedSqliteHandle<'_>,
) -> Result<(), (&'static str, std::ffi::c_int)> {
    use libsqlite3_sys::{SQLITE_DBCONFIG_DQS_DDL, SQLITE_DBCONFIG_DQS_DML, SQLITE_OK};
    let db = handle.as_raw_handle().as_ptr();
    let off: std::ffi::c_int = 0;
    for (option, name) in [
        (SQLITE_DBCONFIG_DQS_DML, "SQLITE_DBCONFIG_DQS_DML"),
        (SQLITE_DBCONFIG_DQS_DDL, "SQLITE_DBCONFIG_DQS_DDL"),
    ] {
        // SAFETY: `db` is the handle of an open connection, valid, and used by no other thread
        // while `handle` (sqlx's lock on it) is borrowed, which spans this function. Both
        // options are documented to take exactly an `int` (the new setting) and an `int*` for
        // the previous one, which may be NULL; they are passed with exactly those C types.
        let code = unsafe {
            libsqlite3_sys::sqlite3_db_config(
                db,
                option,
                off,
                std::ptr::null_mut::<std::ffi::c_int>(),
            )
        };
        if code != SQLITE_OK {
            return Err((name, code));
        }
    }
    Ok(())
}

/// The text form of a UTC timestamp on SQLite: `YYYY-MM-DD HH:MM:SS`, then `.` and the
/// microseconds without trailing zeros when there are any (see the module documentation).
/// Digits below the microsecond are dropped, as PostgreSQL drops them.
pub(crate) fn sqlite_timestamp(at: &NaiveDateTime) -> String {
    use chrono::{Datelike as _, Timelike as _};
    /// `n` (below 10^`width`) as `width` digits.
    fn digits(text: &mut String, n: u32, width: u32) {
        for place in (0..width).rev() {
            text.push(char::from(b'0' + (n / 10_u32.pow(place) % 10) as u8));
        }
    }
    let year = at.year();
    // chrono's `%Y` signs years outside 0 to 9999: those keep its formatting. Written by hand
    // otherwise, as `%Y-%m-%d %H:%M:%S` writes it: parsing the format costs more than the rest.
    let mut text = if (0..=9999).contains(&year) {
        let mut text = String::with_capacity(26);
        digits(&mut text, year as u32, 4);
        text.push('-');
        digits(&mut text, at.month(), 2);
        text.push('-');
        digits(&mut text, at.day(), 2);
        text.push(' ');
        digits(&mut text, at.hour(), 2);
        text.push(':');
        digits(&mut text, at.minute(), 2);
        text.push(':');
        // A leap second is written 60, as `%S` writes it.
        digits(&mut text, at.second() + at.nanosecond() / 1_000_000_000, 2);
        text
    } else {
        at.format("%Y-%m-%d %H:%M:%S").to_string()
    };
    let micros = at.nanosecond() % 1_000_000_000 / 1_000;
    if micros != 0 {
        let mut fraction = micros;
        let mut width = 6;
        while fraction.is_multiple_of(10) {
            fraction /= 10;
            width -= 1;
        }
        text.push('.');
        digits(&mut text, fraction, width);
    }
    text
}

/// Arguments for a SQLite statement, each value in the form this framework stores it: UTC
/// timestamp and date text, JSON and decimals as text, an `f32` array as a BLOB, unsigned
/// 64-bit integers checked against `i64`; bound without a converted copy of the values.
struct Arguments {
    args: sqlx::sqlite::SqliteArguments,
    /// The last timestamp bound and its text: a row's timestamps, and a bulk write's rows, are
    /// mostly the same instant, whose text is then formatted once and shared.
    last_timestamp: Option<(NaiveDateTime, std::sync::Arc<str>)>,
}

impl Arguments {
    fn new(len: usize) -> Self {
        use sqlx::Arguments as _;
        let mut args = sqlx::sqlite::SqliteArguments::default();
        args.reserve(len, 0);
        Self {
            args,
            last_timestamp: None,
        }
    }

    /// Bind an owned value: its text and bytes move into the arguments.
    fn bind(&mut self, value: Value) -> Result<(), BoxDynError> {
        use sqlx::Arguments as _;
        match value {
            Value::String(v) => self.args.add(v),
            Value::Bytes(v) => self.args.add(v),
            Value::Enum(sea_query::OptionEnum::Some(v)) => self.args.add(v.value.into_owned()),
            other => self.bind_ref(&other),
        }
    }

    /// Bind a borrowed value (text and bytes are copied, as sqlx copies a `&str`).
    fn bind_ref(&mut self, value: &Value) -> Result<(), BoxDynError> {
        use sqlx::Arguments as _;
        let args = &mut self.args;
        match value {
            Value::Bool(v) => args.add(*v),
            Value::TinyInt(v) => args.add(*v),
            Value::SmallInt(v) => args.add(*v),
            Value::Int(v) => args.add(*v),
            Value::BigInt(v) => args.add(*v),
            Value::TinyUnsigned(v) => args.add(*v),
            Value::SmallUnsigned(v) => args.add(*v),
            Value::Unsigned(v) => args.add(*v),
            Value::BigUnsigned(v) => args.add(unsigned(*v)?),
            Value::Float(v) => args.add(v.map(f64::from)),
            Value::Double(v) => args.add(*v),
            Value::String(v) => args.add(v.as_deref()),
            Value::Char(v) => args.add(v.map(|c| c.to_string())),
            Value::Enum(sea_query::OptionEnum::Some(v)) => args.add(&*v.value),
            Value::Enum(sea_query::OptionEnum::None(_)) => args.add(None::<String>),
            Value::Bytes(v) => args.add(v.as_deref()),
            Value::Uuid(v) => args.add(*v),
            Value::Json(v) => args.add(v.as_ref().map(ToString::to_string)),
            Value::ChronoDate(v) => args.add(date(*v)?.map(|d| d.format("%Y-%m-%d").to_string())),
            Value::ChronoDateTime(v) => self.timestamp(naive(*v)?),
            Value::ChronoDateTimeUtc(v) => self.timestamp(aware(*v)?.map(|t| t.naive_utc())),
            Value::ChronoDateTimeLocal(v) => self.timestamp(aware(*v)?.map(|t| t.naive_utc())),
            Value::ChronoDateTimeWithTimeZone(v) => {
                self.timestamp(aware(*v)?.map(|t| t.naive_utc()))
            }
            Value::Array(ArrayType::Float, v) => args.add(
                v.as_ref()
                    .map(|v| crate::field::encode_f32_blob(&floats(v))),
            ),
            Value::ChronoTime(v) => args.add(v.map(sqlite_time)),
            Value::IpNetwork(v) => args.add(v.map(|ip| ip.ip().to_string())),
            #[cfg(feature = "decimal")]
            Value::Decimal(v) => args.add(v.map(|d| d.to_string())),
            other @ Value::Array(..) => Err(unsupported(other)),
        }
    }

    /// Bind a timestamp (UTC) as [`sqlite_timestamp`] text.
    fn timestamp(&mut self, at: Option<NaiveDateTime>) -> Result<(), BoxDynError> {
        use sqlx::Arguments as _;
        let Some(at) = at else {
            return self.args.add(None::<String>);
        };
        let text = match &self.last_timestamp {
            Some((last, text)) if *last == at => std::sync::Arc::clone(text),
            _ => {
                let text: std::sync::Arc<str> = sqlite_timestamp(&at).into();
                self.last_timestamp = Some((at, std::sync::Arc::clone(&text)));
                text
            }
        };
        self.args.add(text)
    }
}

/// Reading SQLite timestamps in every form SQLite's date functions accept.
pub(crate) mod timestamp {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};
    use sqlx::sqlite::SqliteRow;
    use sqlx::{Column as _, Row as _, TypeInfo as _, ValueRef as _};

    /// Decode the column at `index`: TEXT in any accepted form, INTEGER unix seconds or REAL
    /// julian day number.
    pub(crate) fn decode(row: &SqliteRow, index: usize) -> Result<DateTime<Utc>, sqlx::Error> {
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

super::pool_accessor!(
    /// The SQLite pool, for hand-written sqlx beside the repositories.
    sqlite_pool,
    Sqlite,
    sqlx::SqlitePool
);

/// `column IN (SELECT value FROM json_each(?))`: a long list as one JSON parameter holding the
/// values as SQLite stores them (blobs as hex, read back with `unhex`).
pub(crate) fn in_list(
    column: &'static str,
    typed_null: &Value,
    values: &[Value],
) -> sea_query::Expr {
    use serde_json::Value as Json;
    let json = Json::Array(
        values
            .iter()
            .map(|v| crate::bind::list_json(v, sqlite_timestamp, crate::field_types::sqlite_time))
            .collect(),
    )
    .to_string();
    let template = if matches!(typed_null, Value::Bytes(_) | Value::Uuid(_)) {
        "$1 IN (SELECT unhex(value) FROM json_each($2))"
    } else {
        "$1 IN (SELECT value FROM json_each($2))"
    };
    crate::filter::custom(
        super::Backend::Sqlite,
        template,
        [sea_query::Expr::col(column), sea_query::Expr::val(json)],
    )
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, NaiveDateTime};

    /// The text as chrono's format writes it, which the hand-written form must equal.
    fn formatted(at: &NaiveDateTime) -> String {
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

    #[test]
    fn timestamp_text_is_chronos() {
        let dates = [
            (1, 1, 1),
            (999, 12, 31),
            (2024, 2, 29),
            (9999, 12, 31),
            (0, 6, 15),
        ];
        let times = [
            (0, 0, 0, 0),
            (23, 59, 59, 999_999_999),
            (12, 30, 5, 120_000_000),
            (1, 2, 3, 100),
            (4, 5, 6, 1_000),
            (7, 8, 9, 10_000),
            (10, 11, 12, 123_456_000),
            (23, 59, 59, 1_500_000_000),
        ];
        for (y, m, d) in dates {
            for (h, mi, s, nano) in times {
                let at = NaiveDate::from_ymd_opt(y, m, d)
                    .and_then(|date| date.and_hms_nano_opt(h, mi, s, nano))
                    .expect("a valid instant");
                assert_eq!(super::sqlite_timestamp(&at), formatted(&at), "{at:?}");
            }
        }
        for year in [-1, 10_000] {
            let at = NaiveDate::from_ymd_opt(year, 1, 2)
                .and_then(|date| date.and_hms_micro_opt(3, 4, 5, 60))
                .expect("a valid instant");
            assert_eq!(super::sqlite_timestamp(&at), formatted(&at));
        }
    }
}
