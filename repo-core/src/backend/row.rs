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

/// An embedding stored as a BLOB of little-endian `f32`s, where arrays are not a column type.
#[allow(dead_code)]
fn floats_from_blob(bytes: &[u8], index: usize) -> Result<Vec<f32>, sqlx::Error> {
    crate::field::decode_f32_blob(bytes).map_err(|source| sqlx::Error::ColumnDecode {
        index: index.to_string(),
        source: source.into(),
    })
}
