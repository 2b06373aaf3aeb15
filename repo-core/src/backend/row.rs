//! Decoding columns: which Rust types each backend's driver decodes, and the values each
//! backend stores in a form of its own (timestamps, embeddings).

use super::Row;
#[cfg(feature = "sqlite")]
use super::sqlite;

#[cfg(feature = "mysql")]
use sqlx::mysql::MySql;
#[cfg(feature = "postgres")]
use sqlx::postgres::Postgres;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::Sqlite;

macro_rules! backend_trait {
    ($(#[$m:meta])* $name:ident, $feature:literal, $($bound:tt)+) => {
        $(#[$m])*
        #[cfg(feature = $feature)]
        pub trait $name: $($bound)+ {}
        #[cfg(feature = $feature)]
        impl<T: $($bound)+> $name for T {}
        $(#[$m])*
        #[cfg(not(feature = $feature))]
        pub trait $name {}
        #[cfg(not(feature = $feature))]
        impl<T: ?Sized> $name for T {}
    };
}

backend_trait!(
    /// A type sqlx can decode from a PostgreSQL column (every type when the backend is off).
    PgDecode, "postgres", for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>
);
backend_trait!(
    /// A type sqlx can decode from a SQLite column (every type when the backend is off).
    SqliteDecode, "sqlite", for<'r> sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>
);
backend_trait!(
    /// A type sqlx can decode from a MySQL column (every type when the backend is off).
    MySqlDecode, "mysql", for<'r> sqlx::Decode<'r, MySql> + sqlx::Type<MySql>
);
/// A type sqlx decodes from a single column on every enabled backend.
pub trait Decodable: PgDecode + SqliteDecode + MySqlDecode {}
impl<T: PgDecode + SqliteDecode + MySqlDecode> Decodable for T {}

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
            Self::Sqlite(row) => sqlite::timestamp::decode(row, index),
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
            Self::Sqlite(row) => sqlite::timestamp::decode(row, index).map(|t| t.naive_utc()),
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
        u64::try_from(stored).map_err(|_| crate::field_types::out_of_range(index, stored, "u64"))
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

/// An embedding stored as a BLOB of little-endian `f32`s, where arrays are not a column type.
#[allow(dead_code)]
fn floats_from_blob(bytes: &[u8], index: usize) -> Result<Vec<f32>, sqlx::Error> {
    crate::field::decode_f32_blob(bytes).map_err(|source| sqlx::Error::ColumnDecode {
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
