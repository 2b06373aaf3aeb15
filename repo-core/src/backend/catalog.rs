//! What a backend's catalog says about one table, in terms every backend shares: read by the
//! backend files, compared with an entity declaration by [`crate::verify`].

use super::{Pool, dispatch};

/// The kind of value a column holds, as far as the framework reads and writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TypeClass {
    /// Whole numbers of any width.
    Integer,
    /// Binary floating point.
    Float,
    /// Exact decimal numbers.
    Decimal,
    /// Character strings.
    Text,
    /// Booleans.
    Bool,
    /// Calendar dates.
    Date,
    /// Times of day.
    Time,
    /// Date and time without a time zone.
    DateTime,
    /// A point in time (UTC).
    Timestamp,
    /// JSON documents.
    Json,
    /// UUIDs.
    Uuid,
    /// Byte strings.
    Blob,
    /// Arrays.
    Array,
    /// A database enum type.
    Enum,
    /// Network addresses.
    Inet,
    /// A type the framework does not classify: a field declared with such a type is not
    /// compared, a column found with one holds no declared class.
    Other,
}

/// The class in the words a mismatch report uses for what an entity declares: `integer`,
/// `decimal`, `timestamp with time zone` (a `DateTime<Utc>` field), `timestamp without time
/// zone` (a `NaiveDateTime` field), ...
impl std::fmt::Display for TypeClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            Self::Integer => "integer",
            Self::Float => "floating point",
            Self::Decimal => "decimal",
            Self::Text => "text",
            Self::Bool => "boolean",
            Self::Date => "date",
            Self::Time => "time of day",
            Self::DateTime => "timestamp without time zone",
            Self::Timestamp => "timestamp with time zone",
            Self::Json => "JSON",
            Self::Uuid => "UUID",
            Self::Blob => "bytes",
            Self::Array => "array",
            Self::Enum => "enum",
            Self::Inet => "IP address",
            Self::Other => "other",
        };
        f.write_str(name)
    }
}

/// One column as the catalog describes it.
#[derive(Debug, Clone)]
pub(crate) struct CatalogColumn {
    pub(crate) name: String,
    /// The column's type as the database names it (`character varying(255)`, `datetime(6)`,
    /// the declared type on SQLite).
    pub(crate) type_name: String,
    pub(crate) nullable: bool,
    /// The database fills the column when an insert leaves it out (a default, an identity or
    /// auto-increment, a generated column).
    pub(crate) has_default: bool,
    pub(crate) class: TypeClass,
    /// Other classes the framework stores in this column type on this backend (text for enums
    /// on SQLite, a BLOB for an embedding, ...).
    pub(crate) serves: &'static [TypeClass],
    /// The collation of a text column that does not compare text byte by byte with trailing
    /// spaces counting (MariaDB's PAD SPACE collations such as `utf8mb4_bin`, and those that
    /// ignore case); `None` for one that does, for other columns, and where the backend's
    /// catalog is not read for it (PostgreSQL, SQLite).
    pub(crate) inexact_collation: Option<String>,
}

impl CatalogColumn {
    /// Whether a field of class `declared` can live in this column.
    pub(crate) fn holds(&self, declared: TypeClass) -> bool {
        declared == TypeClass::Other || self.class == declared || self.serves.contains(&declared)
    }
}

/// One table as the catalog describes it.
#[derive(Debug, Clone, Default)]
pub(crate) struct CatalogTable {
    pub(crate) columns: Vec<CatalogColumn>,
    /// The primary key's columns, in key order (empty when there is none).
    pub(crate) primary_key: Vec<String>,
    /// The columns of every unique constraint or full unique index, the primary key included.
    pub(crate) unique_keys: Vec<Vec<String>>,
}

impl Pool {
    /// The catalog's description of `table` in `schema` (else the connection's); `None` when
    /// there is no such table.
    pub(crate) async fn catalog(
        &self,
        schema: Option<&str>,
        table: &str,
    ) -> Result<Option<CatalogTable>, sqlx::Error> {
        dispatch!(Pool, self, |pool, D| <D as Catalog>::catalog(
            pool, schema, table
        )
        .await)
    }
}

/// Reading a table's description from a backend's catalog.
pub(crate) trait Catalog: sqlx::Database {
    async fn catalog(
        pool: &sqlx::Pool<Self>,
        schema: Option<&str>,
        table: &str,
    ) -> Result<Option<CatalogTable>, sqlx::Error>;
}
