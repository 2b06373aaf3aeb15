//! Checking a live table against its entity declaration, for services to run at start-up:
//! [`Db::verify`] reads the connected database's catalog and reports every difference that
//! would make the entity's statements fail or misread rows, as one [`Error::Schema`].

use sea_query::Value;

use crate::backend::catalog::CatalogTable;
pub use crate::backend::catalog::TypeClass;
use crate::db::Db;
use crate::entity::{ColumnDef, Entity};
use crate::error::{Error, Result};

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

/// What [`Db::verify_all`] checks of one entity: its declaration without the Rust type, so
/// entities of different types fit in one slice.
#[derive(Debug, Clone, Copy)]
pub struct Declaration {
    entity: &'static str,
    schema: Option<&'static str>,
    table: &'static str,
    columns: &'static [ColumnDef],
    primary_key: &'static [&'static str],
    unique_keys: &'static [&'static [&'static str]],
    conflict_key: Option<&'static [&'static str]>,
}

impl Declaration {
    /// The declaration of `E`.
    #[must_use]
    pub fn of<E: Entity>() -> Self {
        Self {
            entity: E::NAME,
            schema: E::SCHEMA,
            table: E::TABLE,
            columns: E::COLUMNS,
            primary_key: E::PRIMARY_KEY,
            unique_keys: E::UNIQUE_KEYS,
            // Only a declared unique key needs a constraint of its own; the primary key is one.
            conflict_key: E::UNIQUE_KEYS.first().copied(),
        }
    }
}

impl Db {
    /// Compare `E` with its table in the connected database: [`Error::Schema`] listing every
    /// [`SchemaDifference`], or `Ok` when the entity's statements fit the table.
    pub async fn verify<E: Entity>(&self) -> Result<()> {
        self.verify_declaration(&Declaration::of::<E>()).await
    }

    /// [`verify`](Db::verify) each entity (`&[Declaration::of::<A>(), Declaration::of::<B>()]`);
    /// [`Error::Schemas`] with the error of every entity that does not fit.
    pub async fn verify_all(&self, entities: &[Declaration]) -> Result<()> {
        let mut errors = Vec::new();
        for declaration in entities {
            if let Err(error) = self.verify_declaration(declaration).await {
                errors.push(error);
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Schemas { errors })
        }
    }

    async fn verify_declaration(&self, declaration: &Declaration) -> Result<()> {
        let catalog = self
            .pool
            .catalog(declaration.schema, declaration.table)
            .await?;
        let differences = differences(declaration, catalog);
        if differences.is_empty() {
            Ok(())
        } else {
            Err(Error::Schema {
                entity: declaration.entity,
                table: declaration.table,
                differences,
            })
        }
    }
}

fn differences(declaration: &Declaration, catalog: Option<CatalogTable>) -> Vec<SchemaDifference> {
    let Some(table) = catalog else {
        return vec![SchemaDifference::TableMissing];
    };
    let mut differences = Vec::new();
    for column in declaration.columns {
        let Some(found) = table.columns.iter().find(|c| c.name == column.name) else {
            differences.push(SchemaDifference::ColumnMissing {
                column: column.name.to_owned(),
            });
            continue;
        };
        let declared = declared_class(&(column.null_value)());
        if !found.holds(declared) {
            differences.push(SchemaDifference::Type {
                column: column.name.to_owned(),
                declared,
                found: found.type_name.clone(),
            });
        }
        let nullable = (column.nullable)() && !declaration.primary_key.contains(&column.name);
        if found.nullable != nullable {
            differences.push(SchemaDifference::Nullability {
                column: column.name.to_owned(),
                declared_nullable: nullable,
            });
        }
        let in_key = declaration.primary_key.contains(&column.name)
            || declaration
                .unique_keys
                .iter()
                .any(|key| key.contains(&column.name));
        if let Some(collation) = found.inexact_collation.as_ref().filter(|_| in_key) {
            differences.push(SchemaDifference::Collation {
                column: column.name.to_owned(),
                collation: collation.clone(),
            });
        }
    }
    for found in &table.columns {
        let declared = declaration.columns.iter().any(|c| c.name == found.name);
        if !declared && !found.nullable && !found.has_default {
            differences.push(SchemaDifference::UndeclaredRequiredColumn {
                column: found.name.clone(),
            });
        }
    }
    // The same columns, in any order: every statement names them all.
    let declared = declaration.primary_key;
    if table.primary_key.len() != declared.len()
        || !declared
            .iter()
            .all(|c| table.primary_key.iter().any(|found| found == c))
    {
        differences.push(SchemaDifference::PrimaryKey {
            declared: declared.iter().map(|c| (*c).to_owned()).collect(),
            found: table.primary_key.clone(),
        });
    }
    if let Some(key) = declaration.conflict_key {
        let same = |columns: &Vec<String>| {
            columns.len() == key.len() && key.iter().all(|k| columns.iter().any(|c| c == k))
        };
        if !table.unique_keys.iter().any(same) {
            differences.push(SchemaDifference::ConflictKeyNotUnique {
                columns: key.iter().map(|&c| c.to_owned()).collect(),
            });
        }
    }
    differences
}

/// The class of a declared field, from the kind of value it binds: the field's own type, not
/// the column type one backend stores it in (a `Decimal` is text on SQLite, a `DateTime<Utc>`
/// a `DATETIME(6)` on MariaDB), so a report names it in the entity's terms on every backend.
fn declared_class(value: &Value) -> TypeClass {
    match value {
        Value::TinyInt(_)
        | Value::SmallInt(_)
        | Value::Int(_)
        | Value::BigInt(_)
        | Value::TinyUnsigned(_)
        | Value::SmallUnsigned(_)
        | Value::Unsigned(_)
        | Value::BigUnsigned(_) => TypeClass::Integer,
        Value::Float(_) | Value::Double(_) => TypeClass::Float,
        #[cfg(feature = "decimal")]
        Value::Decimal(_) => TypeClass::Decimal,
        Value::String(_) | Value::Char(_) => TypeClass::Text,
        Value::Bool(_) => TypeClass::Bool,
        Value::ChronoDate(_) => TypeClass::Date,
        Value::ChronoTime(_) => TypeClass::Time,
        Value::ChronoDateTime(_) => TypeClass::DateTime,
        Value::ChronoDateTimeUtc(_)
        | Value::ChronoDateTimeLocal(_)
        | Value::ChronoDateTimeWithTimeZone(_) => TypeClass::Timestamp,
        Value::Json(_) => TypeClass::Json,
        Value::Uuid(_) => TypeClass::Uuid,
        Value::Bytes(_) => TypeClass::Blob,
        Value::Array(..) => TypeClass::Array,
        Value::Enum(_) => TypeClass::Enum,
        Value::IpNetwork(_) => TypeClass::Inet,
        // Variants of sea-query features another crate may turn on (other time crates).
        #[allow(unreachable_patterns)]
        _ => TypeClass::Other,
    }
}
