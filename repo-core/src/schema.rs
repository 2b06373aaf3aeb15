//! DDL from entity declarations: `CREATE TYPE` (PostgreSQL enums), `CREATE TABLE` and indexes,
//! for tests and prototypes. Production schemas belong in versioned migrations.

use sea_query::{
    ColumnDef as SeaColumn, ColumnType, ConditionalStatement as _, ExprTrait as _, Index, Table,
};

use crate::dialect::Backend;
use crate::entity::{ColumnDef, ColumnRole, Entity};

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

/// What the DDL of one entity's table is made from: its declaration without the Rust type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub(crate) schema: Option<&'static str>,
    pub(crate) table: &'static str,
    pub(crate) columns: &'static [ColumnDef],
    pub(crate) primary_key: &'static [&'static str],
    pub(crate) unique_keys: &'static [&'static [&'static str]],
    pub(crate) indexes: &'static [&'static [&'static str]],
}

impl Shape {
    pub(crate) fn of<E: Entity>() -> Self {
        Self {
            schema: E::SCHEMA,
            table: E::TABLE,
            columns: E::COLUMNS,
            primary_key: E::PRIMARY_KEY,
            unique_keys: E::UNIQUE_KEYS,
            indexes: E::INDEXES,
        }
    }

    /// The table, qualified by its schema when it has one; `name` in place of its own.
    pub(crate) fn table_named(&self, name: &str) -> sea_query::TableName {
        match self.schema {
            Some(schema) => (schema.to_owned(), name.to_owned()).into(),
            None => name.to_owned().into(),
        }
    }

    /// Whether `column` is part of the primary key, a unique key or an index.
    pub(crate) fn indexed(&self, column: &str) -> bool {
        self.primary_key.contains(&column)
            || self
                .unique_keys
                .iter()
                .chain(self.indexes)
                .any(|key| key.contains(&column))
    }

    /// `column`'s type on `backend`, as the generated schema writes it.
    pub(crate) fn column_type(&self, backend: Backend, column: &ColumnDef) -> ColumnType {
        backend.column_type((column.column_type)(backend), self.indexed(column.name))
    }

    /// `column`'s definition without the key clause, as `ALTER TABLE` adds or changes it in a
    /// table that has its key.
    pub(crate) fn column_def_in_place(&self, backend: Backend, column: &ColumnDef) -> SeaColumn {
        let mut def = SeaColumn::new_with_type(column.name, self.column_type(backend, column));
        if column.role == ColumnRole::PrimaryKey || !(column.nullable)() {
            def.not_null();
        } else {
            def.null();
        }
        if column.auto && backend == Backend::MySql {
            def.auto_increment();
        }
        def
    }

    /// `column`'s definition as the generated schema writes it: type, nullability, key.
    pub(crate) fn column_def(&self, backend: Backend, column: &ColumnDef) -> SeaColumn {
        let mut def = SeaColumn::new_with_type(column.name, self.column_type(backend, column));
        if column.role == ColumnRole::PrimaryKey {
            def.not_null();
            // A composite key is a table constraint.
            if self.primary_key.len() == 1 {
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
        def
    }

    /// The idempotent statements creating the PostgreSQL enum types of `columns`.
    pub(crate) fn enum_types(backend: Backend, columns: &[&ColumnDef]) -> Vec<String> {
        if !backend.capabilities().native_enums {
            return Vec::new();
        }
        let mut seen = Vec::new();
        let mut statements = Vec::new();
        for column in columns {
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
        statements
    }

    /// `CREATE TABLE` with the keys, created as `name` (the table's own name but for a table
    /// rebuilt under another); `if_not_exists` makes it idempotent. Constraints are named
    /// after the table's own name.
    pub(crate) fn create_table(&self, backend: Backend, name: &str, if_not_exists: bool) -> String {
        let mut table = Table::create();
        table.table(self.table_named(name));
        if if_not_exists {
            table.if_not_exists();
        }
        backend.table_options(&mut table);
        for column in self.columns {
            table.col(self.column_def(backend, column));
        }
        if self.primary_key.len() > 1 {
            let mut key = Index::create();
            key.name(primary_key_name(self.table));
            for column in self.primary_key {
                key.col(*column);
            }
            table.primary_key(&mut key);
        }
        for key in self.unique_keys {
            let mut index = Index::create();
            index.name(unique_key_name(self.table, key)).unique();
            for column in *key {
                index.col(*column);
            }
            table.index(&mut index);
        }
        backend.render_schema(&table)
    }

    /// The `#[repo(soft_delete)]` column, if the entity has one.
    pub(crate) fn soft_delete(&self) -> Option<&'static str> {
        self.columns
            .iter()
            .find(|c| c.role == ColumnRole::SoftDelete)
            .map(|c| c.name)
    }

    /// The columns the declared index on `columns` is built on. Reads of a soft-deleting
    /// entity ask for live rows (`deleted_at IS NULL`): where the backend has no partial
    /// indexes (MariaDB) the soft-delete column ends the index, so a count or a filter is
    /// answered from the index without reading each row for it. (Leading the index with it
    /// measured worse: MariaDB then reads every live entry for a page filtered by a range on
    /// the first declared column, where it seeks that range otherwise.)
    pub(crate) fn index_columns(
        &self,
        backend: Backend,
        columns: &[&'static str],
    ) -> Vec<&'static str> {
        let mut all = columns.to_vec();
        if let Some(deleted_at) = self.soft_delete()
            && !backend.capabilities().partial_indexes
            && !all.contains(&deleted_at)
        {
            all.push(deleted_at);
        }
        all
    }

    /// `CREATE INDEX` for the declared index on `columns`. On a soft-deleting entity it holds
    /// the live rows only (`WHERE deleted_at IS NULL`) where the backend has partial indexes:
    /// smaller, and it answers the live rows' reads without looking at deleted ones.
    pub(crate) fn create_index(&self, backend: Backend, columns: &[&'static str]) -> String {
        let mut index = Index::create();
        index
            .if_not_exists()
            .name(index_name(self.table, columns))
            .table(self.table_named(self.table));
        for column in self.index_columns(backend, columns) {
            index.col(column);
        }
        if let Some(deleted_at) = self.soft_delete()
            && backend.capabilities().partial_indexes
        {
            index.and_where(sea_query::Expr::col(deleted_at).is_null());
        }
        backend.render_schema(&index)
    }

    /// The statements that create the schema, enum types, table and indexes; each is
    /// idempotent.
    pub(crate) fn create_statements(&self, backend: Backend) -> Vec<String> {
        let mut statements: Vec<String> = self
            .schema
            .and_then(|schema| backend.create_namespace(schema))
            .into_iter()
            .collect();
        statements.extend(Self::enum_types(
            backend,
            &self.columns.iter().collect::<Vec<_>>(),
        ));
        statements.push(self.create_table(backend, self.table, true));
        for columns in self.indexes {
            statements.push(self.create_index(backend, columns));
        }
        statements
    }
}

/// The statements that create `E`'s enum types (PostgreSQL), table and indexes; each is
/// idempotent, so running them on an existing schema changes nothing.
#[must_use]
pub fn create_statements<E: Entity>(backend: Backend) -> Vec<String> {
    Shape::of::<E>().create_statements(backend)
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
