//! How a table differs from its entity declaration: what [`Db::verify`](crate::Db::verify)
//! reports, each difference in the database's own terms.

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

/// One way a table differs from its entity declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SchemaDifference {
    /// The table does not exist.
    TableMissing,
    /// A declared column is not in the table.
    ColumnMissing {
        /// The column's declared name.
        column: String,
    },
    /// The table has a NOT NULL column without a default that the entity does not declare, so
    /// every insert fails.
    UndeclaredRequiredColumn {
        /// The column's name in the table.
        column: String,
    },
    /// The column's type cannot hold the declared field.
    Type {
        /// The column.
        column: String,
        /// What the entity declares: the class of the field's Rust type (a `Decimal` field is
        /// [`TypeClass::Decimal`] on every backend, whatever column type stores it there).
        declared: TypeClass,
        /// The column's type as the database names it: PostgreSQL's `format_type`
        /// (`timestamp without time zone`, `character varying(255)`), MariaDB's `COLUMN_TYPE`
        /// (`datetime(6)`, `varchar(255)`), the declared type on SQLite (`DECIMAL(10,2)`,
        /// empty when the column declares none).
        found: String,
    },
    /// The column admits NULL where the field does not (`declared_nullable` false: reads of a
    /// NULL fail), or is NOT NULL where the field is an `Option` (writes of `None` fail).
    Nullability {
        /// The column.
        column: String,
        /// Whether the entity declares the field optional.
        declared_nullable: bool,
    },
    /// The table's primary key is not on the declared primary key column.
    PrimaryKey {
        /// The declared primary key columns.
        declared: Vec<String>,
        /// The table's primary key columns (empty when it has none).
        found: Vec<String>,
    },
    /// No unique constraint or index is on exactly the columns upserts resolve conflicts on.
    ConflictKeyNotUnique {
        /// The conflict key's columns.
        columns: Vec<String>,
    },
    /// A text column of the primary key or a declared unique key compares text other than
    /// byte by byte (MariaDB: a PAD SPACE collation such as `utf8mb4_bin`, where `'k0' = 'k0 '`,
    /// or one that ignores case), so keys equal on other backends only by those rules clash
    /// here and filters on them match other rows. Convert the table to `utf8mb4_nopad_bin`.
    Collation {
        /// The column.
        column: String,
        /// The column's collation.
        collation: String,
    },
}

impl std::fmt::Display for SchemaDifference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TableMissing => write!(f, "the table does not exist"),
            Self::ColumnMissing { column } => write!(f, "column `{column}` is missing"),
            Self::UndeclaredRequiredColumn { column } => write!(
                f,
                "column `{column}` is NOT NULL without a default but not declared: inserts fail"
            ),
            Self::Type {
                column,
                declared,
                found,
            } if found.is_empty() => write!(
                f,
                "column `{column}` has no declared type, declared {declared}"
            ),
            Self::Type {
                column,
                declared,
                found,
            } => write!(f, "column `{column}` is `{found}`, declared {declared}"),
            Self::Nullability {
                column,
                declared_nullable: true,
            } => write!(f, "column `{column}` is NOT NULL, declared optional"),
            Self::Nullability { column, .. } => {
                write!(f, "column `{column}` admits NULL, declared not optional")
            }
            Self::PrimaryKey { declared, found } => write!(
                f,
                "primary key is ({}), declared ({})",
                found.join(", "),
                declared.join(", ")
            ),
            Self::ConflictKeyNotUnique { columns } => write!(
                f,
                "no unique constraint on ({}), the upsert conflict key",
                columns.join(", ")
            ),
            Self::Collation { column, collation } => write!(
                f,
                "key column `{column}` compares text with collation {collation}, not byte by \
                 byte with trailing spaces counting"
            ),
        }
    }
}
