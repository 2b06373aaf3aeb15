//! Decoding columns: the forms each backend keeps a value in (SQLite timestamp text, an
//! embedding's BLOB), and the other column types a field reads (an integer of any width, a
//! PostgreSQL enum as text).

use super::Row;
#[cfg(feature = "sqlite")]
use chrono::{DateTime, Utc};

impl Row {
    /// Decode a UTC timestamp, as this backend stores it.
    pub(crate) fn timestamp(
        &self,
        index: usize,
    ) -> Result<chrono::DateTime<chrono::Utc>, sqlx::Error> {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(row) => sqlx::Row::try_get(row, index),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(row) => sqlite_timestamp(row, index),
            #[cfg(feature = "mysql")]
            Self::MySql(row) => sqlx::Row::try_get(row, index),
        }
    }

    /// Decode a timestamp without a zone, as this backend stores it (SQLite: every text form
    /// the UTC timestamp reader accepts; an offset is applied, giving the UTC wall time).
    pub(crate) fn naive_timestamp(
        &self,
        index: usize,
    ) -> Result<chrono::NaiveDateTime, sqlx::Error> {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(row) => sqlx::Row::try_get(row, index),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(row) => sqlite_timestamp(row, index).map(|t| t.naive_utc()),
            #[cfg(feature = "mysql")]
            Self::MySql(row) => sqlx::Row::try_get(row, index),
        }
    }

    /// Decode a `u64`: a signed 64-bit integer that is not negative, or on MariaDB also
    /// `BIGINT UNSIGNED`.
    pub(crate) fn unsigned(&self, index: usize) -> Result<u64, sqlx::Error> {
        #[cfg(feature = "mysql")]
        if let Self::MySql(row) = self
            && let Ok(value) = sqlx::Row::try_get::<u64, _>(row, index)
        {
            return Ok(value);
        }
        let stored: i64 = self.try_get(index)?;
        u64::try_from(stored).map_err(|_| out_of_range(index, stored, "u64"))
    }

    /// Decode an IP address: PostgreSQL `inet` (a host address), text elsewhere.
    pub(crate) fn ip(&self, index: usize) -> Result<std::net::IpAddr, sqlx::Error> {
        #[cfg(feature = "postgres")]
        if let Self::Postgres(row) = self {
            return sqlx::Row::try_get(row, index);
        }
        let text: String = self.try_get(index)?;
        text.trim().parse().map_err(|e| sqlx::Error::ColumnDecode {
            index: index.to_string(),
            source: format!("`{text}` is not an IP address: {e}").into(),
        })
    }

    /// Decode an exact decimal: `numeric`/`DECIMAL` natively; on SQLite text (exact), or an
    /// INTEGER, or a REAL (as the shortest decimal that reads back as the same float).
    #[cfg(feature = "decimal")]
    pub(crate) fn decimal(&self, index: usize) -> Result<rust_decimal::Decimal, sqlx::Error> {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(row) => sqlx::Row::try_get(row, index),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(row) => sqlite_decimal(row, index),
            #[cfg(feature = "mysql")]
            Self::MySql(row) => sqlx::Row::try_get(row, index),
        }
    }

    /// Decode text: a text column, and on PostgreSQL also a native enum type's label, which
    /// sqlx's type check refuses for `String` (MariaDB's `ENUM` and SQLite's text labels pass
    /// it). Any other type stays a decode error.
    pub(crate) fn text(&self, index: usize) -> Result<String, sqlx::Error> {
        let result = self.try_get(index);
        #[cfg(feature = "postgres")]
        if result.is_err()
            && let Self::Postgres(row) = self
            && postgres_enum(row, index)
        {
            // The wire form of an enum value is its label's text.
            return sqlx::Row::try_get_unchecked(row, index).map_err(|e| self.name_column(e));
        }
        result
    }

    /// Decode an `i64`: an integer column of any width, or an exact number without digits
    /// after the point (a plain `SUM` of integers: `numeric` on PostgreSQL, `DECIMAL` on
    /// MariaDB). A float, an exact number with a fraction (a plain `AVG`) or one outside the
    /// range of `i64` is a decode error that names the typed aggregates.
    pub(crate) fn integer(&self, index: usize) -> Result<i64, sqlx::Error> {
        let mismatch = match self.try_get(index) {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let Some((number, ty)) = self.number(index) else {
            return Err(mismatch);
        };
        let column = || index.to_string();
        let number = number.map_err(|e| {
            aggregate_error(
                column(),
                &format!("cannot read the stored {ty} value as an `i64` ({e})"),
            )
        })?;
        match number {
            Number::Integer(value) => {
                i64::try_from(value).map_err(|_| out_of_range(index, value, "i64"))
            }
            Number::Float(value) => Err(aggregate_error(
                column(),
                &format!("stored {ty} value {value} is a float, not an `i64`"),
            )),
            #[cfg(feature = "decimal")]
            Number::Exact(value) => {
                if value.scale() != 0 {
                    return Err(aggregate_error(
                        column(),
                        &format!(
                            "stored {ty} value {value} has digits after the point, so it is not an `i64`"
                        ),
                    ));
                }
                i64::try_from(value).map_err(|_| {
                    aggregate_error(
                        column(),
                        &format!("stored {ty} value {value} does not fit `i64`"),
                    )
                })
            }
        }
    }

    /// Decode an `f64`: a float column of any width, an integer, or an exact number (a plain
    /// `SUM` or `AVG`: `numeric` on PostgreSQL, `DECIMAL` on MariaDB), as the nearest `f64`.
    pub(crate) fn float(&self, index: usize) -> Result<f64, sqlx::Error> {
        let mismatch = match self.try_get(index) {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let Some((number, _)) = self.number(index) else {
            return Err(mismatch);
        };
        Ok(match number? {
            Number::Integer(value) => value as f64,
            Number::Float(value) => value,
            // The decimal text parsed as a float: the nearest `f64`, rounded once.
            #[cfg(feature = "decimal")]
            Number::Exact(value) => value
                .to_string()
                .parse()
                .expect("a decimal's text is a float's"),
        })
    }

    /// The number in the column at `index` (an error if it cannot be read, an exact number
    /// without the `decimal` feature among them) and its SQL type's name, or `None` when the
    /// column holds NULL or something other than a number.
    fn number(&self, index: usize) -> Option<(Result<Number, sqlx::Error>, String)> {
        use sqlx::{TypeInfo as _, ValueRef as _};
        let ty = crate::dialect::dispatch!(Row, self, |row, D| {
            let value = sqlx::Row::try_get_raw(row, index).ok()?;
            if value.is_null() {
                return None;
            }
            value.type_info().name().to_owned()
        });
        let number = match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(row) => postgres_number(row, index, &ty)?,
            #[cfg(feature = "sqlite")]
            Self::Sqlite(row) => sqlite_number(row, index, &ty)?,
            #[cfg(feature = "mysql")]
            Self::MySql(row) => mysql_number(row, index, &ty)?,
        };
        Some((number.map_err(|e| self.name_column(e)), ty))
    }

    /// Decode an embedding, as this backend stores it.
    pub(crate) fn floats(&self, index: usize) -> Result<Vec<f32>, sqlx::Error> {
        match self {
            #[cfg(feature = "postgres")]
            Self::Postgres(row) => sqlx::Row::try_get(row, index),
            #[cfg(feature = "sqlite")]
            Self::Sqlite(row) => floats_from_blob(sqlx::Row::try_get(row, index)?, index),
            #[cfg(feature = "mysql")]
            Self::MySql(row) => floats_from_blob(sqlx::Row::try_get(row, index)?, index),
        }
    }
}

/// A number in a column whose type sqlx does not decode as the field's own.
enum Number {
    /// An integer of any width, signed or not.
    Integer(i128),
    /// A float of any width.
    Float(f64),
    /// An exact number: `numeric` on PostgreSQL, `DECIMAL` on MariaDB.
    #[cfg(feature = "decimal")]
    Exact(rust_decimal::Decimal),
}

/// Where aggregates written the sea-query way lead a user: the typed ones.
const AGGREGATE_HINT: &str = "a plain `SUM` or `AVG` (`Expr::col(..).sum()`, `.avg()`) is \
    numeric on PostgreSQL, DECIMAL on MariaDB and INTEGER or REAL on SQLite; the typed \
    `Column::sum()` and `Column::avg()` decode as `i64` and `f64` on every backend";

/// A decode error for a number an `i64` field cannot hold, pointing at the typed aggregates.
fn aggregate_error(column: String, what: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column,
        source: format!("{what}; {AGGREGATE_HINT}").into(),
    }
}

/// An exact number (SQL type `ty`) read without the `decimal` feature, which decodes them.
#[cfg(not(feature = "decimal"))]
#[allow(dead_code)]
fn exact_needs_decimal(index: usize, ty: &str) -> Result<Number, sqlx::Error> {
    Err(aggregate_error(
        index.to_string(),
        &format!("a {ty} value is read as `i64` or `f64` only with repo-core's `decimal` feature"),
    ))
}

/// Whether the PostgreSQL column at `index` holds a native enum. A type the connection has not
/// looked up (rows of the simple query protocol show it as `?`) has no kind to ask, and is
/// not taken for one.
#[cfg(feature = "postgres")]
fn postgres_enum(row: &sqlx::postgres::PgRow, index: usize) -> bool {
    use sqlx::postgres::PgTypeKind;
    use sqlx::{TypeInfo as _, ValueRef as _};
    let Ok(value) = sqlx::Row::try_get_raw(row, index) else {
        return false;
    };
    let ty = value.type_info();
    ty.oid().is_some() && ty.name() != "?" && matches!(ty.kind(), PgTypeKind::Enum(_))
}

#[cfg(feature = "postgres")]
fn postgres_number(
    row: &sqlx::postgres::PgRow,
    index: usize,
    ty: &str,
) -> Option<Result<Number, sqlx::Error>> {
    use sqlx::Row as _;
    Some(match ty {
        "INT2" => row
            .try_get::<i16, _>(index)
            .map(|v| Number::Integer(v.into())),
        "INT4" => row
            .try_get::<i32, _>(index)
            .map(|v| Number::Integer(v.into())),
        "INT8" => row
            .try_get::<i64, _>(index)
            .map(|v| Number::Integer(v.into())),
        "FLOAT4" => row
            .try_get::<f32, _>(index)
            .map(|v| Number::Float(v.into())),
        "FLOAT8" => row.try_get::<f64, _>(index).map(Number::Float),
        #[cfg(feature = "decimal")]
        "NUMERIC" => row.try_get(index).map(Number::Exact),
        #[cfg(not(feature = "decimal"))]
        "NUMERIC" => exact_needs_decimal(index, ty),
        _ => return None,
    })
}

#[cfg(feature = "sqlite")]
fn sqlite_number(
    row: &sqlx::sqlite::SqliteRow,
    index: usize,
    ty: &str,
) -> Option<Result<Number, sqlx::Error>> {
    use sqlx::Row as _;
    // The stored value's own class, whatever the column declares: a plain `SUM` of integers
    // is an INTEGER, an `AVG` a REAL.
    Some(match ty {
        "INTEGER" => row
            .try_get_unchecked::<i64, _>(index)
            .map(|v| Number::Integer(v.into())),
        "REAL" => row.try_get_unchecked::<f64, _>(index).map(Number::Float),
        _ => return None,
    })
}

#[cfg(feature = "mysql")]
fn mysql_number(
    row: &sqlx::mysql::MySqlRow,
    index: usize,
    ty: &str,
) -> Option<Result<Number, sqlx::Error>> {
    use sqlx::Row as _;
    let unsigned = ty.ends_with(" UNSIGNED");
    Some(match ty.trim_end_matches(" UNSIGNED") {
        "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" if unsigned => row
            .try_get::<u64, _>(index)
            .map(|v| Number::Integer(v.into())),
        "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" => row
            .try_get::<i64, _>(index)
            .map(|v| Number::Integer(v.into())),
        "FLOAT" => row
            .try_get::<f32, _>(index)
            .map(|v| Number::Float(v.into())),
        "DOUBLE" => row.try_get::<f64, _>(index).map(Number::Float),
        #[cfg(feature = "decimal")]
        "DECIMAL" => row.try_get(index).map(Number::Exact),
        #[cfg(not(feature = "decimal"))]
        "DECIMAL" => exact_needs_decimal(index, ty),
        _ => return None,
    })
}

/// An embedding stored as a BLOB of little-endian `f32`s, where arrays are not a column type.
#[allow(dead_code)]
fn floats_from_blob(bytes: &[u8], index: usize) -> Result<Vec<f32>, sqlx::Error> {
    crate::storage::decode_f32_blob(bytes).map_err(|source| sqlx::Error::ColumnDecode {
        index: index.to_string(),
        source: source.into(),
    })
}

/// A decimal as SQLite holds it: exact text, an INTEGER, or a REAL.
#[cfg(all(feature = "decimal", feature = "sqlite"))]
fn sqlite_decimal(
    row: &sqlx::sqlite::SqliteRow,
    index: usize,
) -> Result<rust_decimal::Decimal, sqlx::Error> {
    use rust_decimal::Decimal;
    use sqlx::{Row as _, TypeInfo as _, ValueRef as _};
    let kind = row.try_get_raw(index)?.type_info().name().to_owned();
    let parsed = match kind.as_str() {
        "TEXT" => {
            let text: &str = row.try_get_unchecked(index)?;
            let text = text.trim();
            text.parse::<Decimal>()
                .or_else(|_| Decimal::from_scientific(text))
                .map_err(|e| format!("`{text}` is not a decimal: {e}"))
        }
        "INTEGER" => Ok(Decimal::from(row.try_get_unchecked::<i64, _>(index)?)),
        "REAL" => {
            let real: f64 = row.try_get_unchecked(index)?;
            real.to_string()
                .parse::<Decimal>()
                .map_err(|e| format!("{real} is not a decimal: {e}"))
        }
        other => Err(format!("a {other} value is not a decimal")),
    };
    parsed.map_err(|reason| sqlx::Error::ColumnDecode {
        index: index.to_string(),
        source: reason.into(),
    })
}

/// Decode the SQLite timestamp at `index`: TEXT in any accepted form, INTEGER unix seconds or REAL
/// julian day number.
#[cfg(feature = "sqlite")]
fn sqlite_timestamp(
    row: &sqlx::sqlite::SqliteRow,
    index: usize,
) -> Result<DateTime<Utc>, sqlx::Error> {
    use sqlx::{Column as _, Row as _, TypeInfo as _, ValueRef as _};
    let raw = row.try_get_raw(index)?;
    let kind = raw.type_info().name().to_owned();
    let parsed = match kind.as_str() {
        "TEXT" => {
            let text: &str = row.try_get_unchecked(index)?;
            crate::storage::sqlite::parse_timestamp(text).ok_or_else(|| {
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
            crate::storage::sqlite::from_julian_day(day)
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

/// A decode error for a stored integer outside the field type's range.
pub(crate) fn out_of_range(index: usize, stored: impl std::fmt::Display, ty: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: index.to_string(),
        source: format!("stored value {stored} does not fit `{ty}`").into(),
    }
}
