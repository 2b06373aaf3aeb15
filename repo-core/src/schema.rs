//! DDL from entity declarations: `CREATE TYPE` (PostgreSQL enums), `CREATE TABLE` and indexes,
//! for tests and prototypes. Production schemas belong in versioned migrations.

use sea_query::{ColumnDef as SeaColumn, Index, Table};

use crate::dialect::Backend;
use crate::entity::{ColumnRole, Entity};

/// Name of the primary key constraint of `table` (PostgreSQL's own default).
#[must_use]
pub fn primary_key_name(table: &str) -> String {
    format!("{table}_pkey")
}

/// Name of the unique constraint on `columns` of `table` (PostgreSQL's own default).
#[must_use]
pub fn unique_key_name(table: &str, columns: &[&str]) -> String {
    format!("{table}_{}_key", columns.join("_"))
}

/// Name of the index on `columns` of `table` (PostgreSQL's own default).
#[must_use]
pub fn index_name(table: &str, columns: &[&str]) -> String {
    format!("{table}_{}_idx", columns.join("_"))
}

/// The constraint a SQLite unique violation names, from its message
/// (`UNIQUE constraint failed: t.a, t.b`), as the generated schema names it.
pub(crate) fn constraint_from_message<E: Entity>(message: &str) -> String {
    let columns = unique_columns(message);
    let columns: Vec<&str> = columns.iter().map(String::as_str).collect();
    if E::is_primary_key(&columns) {
        primary_key_name(E::TABLE)
    } else {
        unique_key_name(E::TABLE, &columns)
    }
}

/// The statements that create `E`'s enum types (PostgreSQL), table and indexes; each is
/// idempotent, so running them on an existing schema changes nothing.
#[must_use]
pub fn create_statements<E: Entity>(backend: Backend) -> Vec<String> {
    let mut statements: Vec<String> = E::SCHEMA
        .and_then(|schema| backend.create_namespace(schema))
        .into_iter()
        .collect();
    if backend.capabilities().native_enums {
        let mut seen = Vec::new();
        for column in E::COLUMNS {
            if let Some((name, labels)) = (column.enum_type)() {
                if seen.contains(&name) {
                    continue;
                }
                seen.push(name);
                let labels = labels
                    .iter()
                    .map(|l| format!("'{}'", l.replace('\'', "''")))
                    .collect::<Vec<_>>()
                    .join(", ");
                statements.push(format!(
                    "DO $$ BEGIN CREATE TYPE \"{name}\" AS ENUM ({labels}); \
                     EXCEPTION WHEN duplicate_object THEN NULL; END $$"
                ));
            }
        }
    }

    let mut table = Table::create();
    table.table(E::table()).if_not_exists();
    backend.table_options(&mut table);
    for column in E::COLUMNS {
        let indexed = column.role == ColumnRole::PrimaryKey
            || E::UNIQUE_KEYS
                .iter()
                .chain(E::INDEXES)
                .any(|key| key.contains(&column.name));
        let column_type = backend.column_type((column.column_type)(backend), indexed);
        let mut def = SeaColumn::new_with_type(column.name, column_type);
        if column.role == ColumnRole::PrimaryKey {
            def.not_null();
            // A composite key is a table constraint, below.
            if E::PRIMARY_KEY.len() == 1 {
                def.primary_key();
            }
            if column.auto {
                def.auto_increment();
            }
        } else if (column.nullable)() {
            def.null();
        } else {
            def.not_null();
        }
        table.col(def);
    }
    if E::PRIMARY_KEY.len() > 1 {
        let mut key = Index::create();
        key.name(primary_key_name(E::TABLE));
        for column in E::PRIMARY_KEY {
            key.col(*column);
        }
        table.primary_key(&mut key);
    }
    for key in E::UNIQUE_KEYS {
        let mut index = Index::create();
        index.name(unique_key_name(E::TABLE, key)).unique();
        for column in *key {
            index.col(*column);
        }
        table.index(&mut index);
    }
    statements.push(backend.render_schema(&table));

    for columns in E::INDEXES {
        let mut index = Index::create();
        index
            .if_not_exists()
            .name(index_name(E::TABLE, columns))
            .table(E::table());
        for column in *columns {
            index.col(*column);
        }
        statements.push(backend.render_schema(&index));
    }
    statements
}

/// `DROP TABLE IF EXISTS` for `E` (its PostgreSQL enum types stay: other tables may use them).
#[must_use]
pub fn drop_statements<E: Entity>(backend: Backend) -> Vec<String> {
    let drop = Table::drop().table(E::table()).if_exists().to_owned();
    vec![backend.render_schema(&drop)]
}

/// The columns a SQLite unique violation lists (`UNIQUE constraint failed: t.a, t.b`).
pub(crate) fn unique_columns(message: &str) -> Vec<String> {
    message
        .rsplit(": ")
        .next()
        .unwrap_or(message)
        .trim()
        .split(", ")
        .map(|c| c.rsplit('.').next().unwrap_or(c).trim().to_owned())
        .collect()
}
