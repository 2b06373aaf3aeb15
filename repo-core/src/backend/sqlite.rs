//! SQLite: connecting and per-connection settings, binding with its storage choices, and
//! reading what other writers store.

use chrono::NaiveDateTime;
use sea_query::{ArrayType, Value};
use sqlx::error::BoxDynError;

use super::ConnectOptions;
use super::{Driver, Row};
use crate::storage::sqlite::{time_text, timestamp_text};
use crate::storage::{aware, date, floats, naive, unsigned, unsupported};

mod catalog;
mod tables;

pub(crate) async fn connect(
    url: &str,
    options: &ConnectOptions,
) -> Result<sqlx::SqlitePool, sqlx::Error> {
    use std::str::FromStr as _;
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let settings = options.on_connect.clone();
    let mut connect = super::without_slow_log(sqlx::sqlite::SqliteConnectOptions::from_str(url)?)
        .create_if_missing(true)
        .foreign_keys(true)
        // LIKE is case-sensitive on every backend (PostgreSQL's LIKE always is).
        .pragma("case_sensitive_like", "ON")
        .busy_timeout(options.busy_timeout)
        .synchronous(match options.synchronous {
            super::Synchronous::Off => sqlx::sqlite::SqliteSynchronous::Off,
            super::Synchronous::Normal => sqlx::sqlite::SqliteSynchronous::Normal,
            super::Synchronous::Full => sqlx::sqlite::SqliteSynchronous::Full,
            super::Synchronous::Extra => sqlx::sqlite::SqliteSynchronous::Extra,
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

    fn raw(
        connection: &mut Self::Connection,
        sql: sqlx::SqlStr,
    ) -> futures_core::future::BoxFuture<'_, Result<(), sqlx::Error>> {
        Box::pin(async move { sqlx::raw_sql(sql).execute(connection).await.map(drop) })
    }

    fn text(
        connection: &mut Self::Connection,
        sql: sqlx::SqlStr,
    ) -> futures_core::future::BoxFuture<'_, Result<Option<String>, sqlx::Error>> {
        Box::pin(async move {
            use sqlx::Row as _;
            let row = sqlx::raw_sql(sql).fetch_optional(connection).await?;
            Ok(row
                .map(|row| row.try_get::<Option<String>, _>(0))
                .transpose()?
                .flatten())
        })
    }

    const CLOSE_CUT_OFF: bool = false;
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
            Value::ChronoTime(v) => args.add(v.map(time_text)),
            Value::IpNetwork(v) => args.add(v.map(|ip| ip.ip().to_string())),
            #[cfg(feature = "decimal")]
            Value::Decimal(v) => args.add(v.map(|d| d.to_string())),
            other @ Value::Array(..) => Err(unsupported(other)),
        }
    }

    /// Bind a timestamp (UTC) as [`timestamp_text`] text.
    fn timestamp(&mut self, at: Option<NaiveDateTime>) -> Result<(), BoxDynError> {
        use sqlx::Arguments as _;
        let Some(at) = at else {
            return self.args.add(None::<String>);
        };
        let text = match &self.last_timestamp {
            Some((last, text)) if *last == at => std::sync::Arc::clone(text),
            _ => {
                let text: std::sync::Arc<str> = timestamp_text(&at).into();
                self.last_timestamp = Some((at, std::sync::Arc::clone(&text)));
                text
            }
        };
        self.args.add(text)
    }
}
