//! Checking a live table against its entity declaration, for services to run at start-up:
//! [`Db::verify`] reads the connected database's catalog and reports every difference that
//! would make the entity's statements fail or misread rows, as one [`Error::Schema`].

use sea_query::Value;

use crate::backend::catalog::CatalogTable;
use crate::db::Db;
use crate::entity::Entity;
use crate::error::{Error, Result};
use crate::schema::Shape;
pub use crate::schema_difference::{SchemaDifference, TypeClass};

/// What [`Db::verify_all`] checks of one entity: its declaration without the Rust type, so
/// entities of different types fit in one slice.
#[derive(Debug, Clone, Copy)]
pub struct Declaration {
    pub(crate) entity: &'static str,
    pub(crate) shape: Shape,
    conflict_key: Option<&'static [&'static str]>,
    /// Whether the entity's writes need the audit log's table.
    pub(crate) audited: bool,
    pub(crate) read_only: bool,
}

impl Declaration {
    /// The declaration of `E`.
    #[must_use]
    pub fn of<E: Entity>() -> Self {
        Self {
            entity: E::NAME,
            shape: Shape::of::<E>(),
            // Only a declared unique key needs a constraint of its own; the primary key is one.
            conflict_key: E::UNIQUE_KEYS.first().copied(),
            audited: E::AUDIT != crate::entity::Audit::Off,
            read_only: E::READ_ONLY,
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

    /// Every table and view of `schema` (else the connection's: PostgreSQL's current schema,
    /// MariaDB's database, SQLite's `main`), sorted by name, described as an entity
    /// declaration needs it: columns with the field type that reads each, keys, indexes,
    /// enum labels. `only`, when given, keeps the tables named there. What `repo generate`
    /// writes entities from.
    pub async fn describe_tables(
        &self,
        schema: Option<&str>,
        only: Option<&[String]>,
    ) -> Result<Vec<crate::TableDescription>> {
        Ok(self.pool.describe_tables(schema, only).await?)
    }

    async fn verify_declaration(&self, declaration: &Declaration) -> Result<()> {
        let catalog = self
            .pool
            .catalog(declaration.shape.schema, declaration.shape.table)
            .await?;
        let differences = differences(declaration, catalog);
        if differences.is_empty() {
            Ok(())
        } else {
            Err(Error::Schema {
                entity: declaration.entity,
                table: declaration.shape.table,
                differences,
            })
        }
    }
}

fn differences(declaration: &Declaration, catalog: Option<CatalogTable>) -> Vec<SchemaDifference> {
    let (declaration, conflict_key) = (&declaration.shape, declaration.conflict_key);
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
    if let Some(key) = conflict_key {
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
pub(crate) fn declared_class(value: &Value) -> TypeClass {
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
