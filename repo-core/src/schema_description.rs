//! What a connected database's catalog says about its tables and views, in the terms an entity
//! declaration uses: read by the backend files, returned by
//! [`Db::describe_tables`](crate::Db::describe_tables), turned into entity declarations by the
//! `repo generate` command.

/// One table or view.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableDescription {
    /// Its name, as the catalog spells it.
    pub name: String,
    /// Whether it is a view (rows to read, not to write).
    pub view: bool,
    /// Its columns, in the catalog's order.
    pub columns: Vec<ColumnDescription>,
    /// The primary key's columns in key order; empty for a view or a table without one.
    pub primary_key: Vec<String>,
    /// The columns of each unique constraint or whole-table unique index on plain columns,
    /// other than the primary key, in the order the catalog lists them.
    pub unique_keys: Vec<Vec<String>>,
    /// The columns of each other index on plain columns (not unique; not partial, but for an
    /// index of the live rows, `WHERE column IS NULL`, as a soft-deleting entity's are made).
    pub indexes: Vec<Vec<String>>,
}

/// Whether a partial index's condition, as the catalog writes it, keeps only the rows where
/// one column is NULL (`deleted_at IS NULL`, `("deleted at" IS NULL)`): the index of a
/// soft-deleting entity's live rows, which describes as the index on its columns.
pub(crate) fn is_live_rows_condition(condition: &str) -> bool {
    let mut condition = condition.trim().trim_end_matches(';').trim();
    while let Some(inner) = condition
        .strip_prefix('(')
        .and_then(|c| c.strip_suffix(')'))
    {
        condition = inner.trim();
    }
    let Some(split) = condition.len().checked_sub(" IS NULL".len()) else {
        return false;
    };
    if !condition.is_char_boundary(split) || !condition[split..].eq_ignore_ascii_case(" is null") {
        return false;
    }
    let column = condition[..split].trim();
    match column.strip_prefix('"').and_then(|c| c.strip_suffix('"')) {
        Some(quoted) => !quoted.is_empty() && !quoted.contains('"'),
        None => !column.is_empty() && column.chars().all(|c| c.is_alphanumeric() || c == '_'),
    }
}

impl TableDescription {
    /// The column named `name`.
    #[must_use]
    pub fn column(&self, name: &str) -> Option<&ColumnDescription> {
        self.columns.iter().find(|column| column.name == name)
    }
}

/// One column of a [`TableDescription`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ColumnDescription {
    /// Its name, as the catalog spells it.
    pub name: String,
    /// Its type as the database names it (`character varying(255)`, `tinyint(3) unsigned`,
    /// an enum type's name, the declared type on SQLite).
    pub type_name: String,
    /// Whether it holds NULL.
    pub nullable: bool,
    /// Whether the database fills it when an insert leaves it out (a default, an identity, a
    /// generated column).
    pub has_default: bool,
    /// Whether the database numbers it (an identity or `serial` column, `AUTO_INCREMENT`,
    /// SQLite's `INTEGER PRIMARY KEY`): a `#[repo(primary_key, auto)]` key.
    pub generated_key: bool,
    /// The Rust type a field reads it as; `None` when no field type of the framework reads
    /// this column type (a `tsvector`, a text array, a MariaDB `SET` or `GEOMETRY`).
    pub field: Option<FieldType>,
}

/// The field types a described column maps to (the types a `#[derive(Repository)]` field
/// may have, without `Option`: a nullable column is an `Option` of one).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldType {
    /// `bool`.
    Bool,
    /// `i16`.
    I16,
    /// `i32`.
    I32,
    /// `i64`.
    I64,
    /// `u32`.
    U32,
    /// `u64`.
    U64,
    /// `f32`.
    F32,
    /// `f64`.
    F64,
    /// `rust_decimal::Decimal`.
    Decimal,
    /// `String`.
    Text,
    /// `Vec<u8>`.
    Bytes,
    /// `chrono::DateTime<Utc>`: a point in time.
    Timestamp,
    /// `chrono::NaiveDateTime`: a date and time without a zone.
    DateTime,
    /// `chrono::NaiveDate`.
    Date,
    /// `chrono::NaiveTime`.
    Time,
    /// `uuid::Uuid`.
    Uuid,
    /// `std::net::IpAddr`.
    IpAddr,
    /// `serde_json::Value`.
    Json,
    /// `Vec<f32>` (a PostgreSQL `real[]`).
    Embedding,
    /// A `#[derive(DbEnum)]` enum.
    Enum(EnumDescription),
}

/// An enum column's labels: a PostgreSQL enum type, or a MariaDB `ENUM(...)` column.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnumDescription {
    /// The PostgreSQL type's name; `None` for a MariaDB `ENUM` column, whose labels belong to
    /// the column.
    pub type_name: Option<String>,
    /// The labels, in the type's order.
    pub labels: Vec<String>,
}

impl EnumDescription {
    /// An enum of `labels`, named `type_name` (PostgreSQL) or the column's own (`None`).
    #[must_use]
    pub fn new(type_name: Option<String>, labels: Vec<String>) -> Self {
        Self { type_name, labels }
    }
}

#[cfg(test)]
mod tests {
    use super::is_live_rows_condition;

    #[test]
    fn a_live_rows_condition_is_one_column_is_null() {
        for condition in [
            "(deleted_at IS NULL)",
            "\"deleted_at\" IS NULL",
            "((\"deleted at\" IS NULL))",
            "deleted_at is null;",
        ] {
            assert!(is_live_rows_condition(condition), "{condition}");
        }
        for condition in [
            "(deleted_at IS NOT NULL)",
            "(status = 'pending')",
            "(a IS NULL AND b IS NULL)",
            "(a IS NULL) OR (b IS NULL)",
            "lower(a) IS NULL",
            " IS NULL",
            "\"a\"\"b\" IS NULL",
            "",
        ] {
            assert!(!is_live_rows_condition(condition), "{condition}");
        }
    }
}
