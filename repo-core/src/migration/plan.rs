//! One table's steps: its declaration against what the catalog says of it.

use std::fmt::Write as _;

use super::sql;
use super::{Change, ChangeClass, DiffOptions, MigrationStep, Precheck, TableMigration};
use crate::backend::catalog::{CatalogColumn, CatalogTable};
use crate::dialect::Backend;
use crate::entity::{ColumnDef, ColumnRole};
use crate::schema::Shape;
use crate::schema_description::{FieldType, TableDescription};
use crate::schema_difference::TypeClass;
use crate::verify::declared_class;

/// The collation MariaDB key text needs: byte by byte, trailing spaces counting.
const EXACT_COLLATION: &str = crate::dialect::mysql::COLLATION;

/// Why SQLite's statements copy the table, written above them.
pub(super) const REBUILD_NOTE: &str = "SQLite changes a column's type or nullability, adds a NOT NULL \
     column or drops an indexed one only by copying the table: it is created anew from the \
     declaration (indexes, defaults and constraints the declaration does not have are not \
     kept), the rows are copied, the old table is dropped and the copy takes its name";

/// The steps and statements that make `shape`'s table (`found`, or missing) what it declares.
pub(super) fn table(
    backend: Backend,
    shape: &Shape,
    found: Option<&(CatalogTable, TableDescription)>,
    options: &DiffOptions,
) -> TableMigration {
    let mut out = TableMigration {
        schema: shape.schema.map(str::to_owned),
        table: shape.table.to_owned(),
        steps: Vec::new(),
        statements: Vec::new(),
        note: None,
    };
    let Some((catalog, description)) = found else {
        out.steps
            .push(step(Change::CreateTable, ChangeClass::Safe, None));
        out.statements = shape.create_statements(backend);
        return out;
    };
    let mut planner = Planner {
        backend,
        shape,
        catalog,
        description,
        options,
        out,
        renames: Vec::new(),
        rebuild: false,
        added: Vec::new(),
        kept: Vec::new(),
    };
    planner.columns();
    planner.keys();
    planner.enum_labels();
    planner.finish()
}

/// Dropping the undeclared table `name`.
pub(super) fn drop_table(
    backend: Backend,
    schema: Option<&str>,
    name: &str,
    options: &DiffOptions,
) -> TableMigration {
    let mut drop = step(Change::DropTable, ChangeClass::Destructive, None);
    if !options.allow_destructive {
        drop.refusal = Some(
            "no entity declares it, and dropping it loses its rows: allow destructive \
             changes to drop it, or keep it (`DiffOptions::keep_table`)"
                .to_owned(),
        );
    }
    TableMigration {
        schema: schema.map(str::to_owned),
        table: name.to_owned(),
        steps: vec![drop],
        statements: vec![sql::drop_table(backend, schema, name)],
        note: None,
    }
}

/// Whether SQLite makes `change` by copying the table (when the table is copied at all).
pub(super) fn rebuilds(change: &Change) -> bool {
    matches!(
        change,
        Change::AddColumn { .. }
            | Change::DropColumn { .. }
            | Change::AlterType { .. }
            | Change::SetNotNull { .. }
            | Change::DropNotNull { .. }
    )
}

fn step(change: Change, class: ChangeClass, precheck: Option<(String, String)>) -> MigrationStep {
    MigrationStep {
        change,
        class,
        precheck: precheck.map(|(sql, counts)| Precheck {
            sql,
            counts,
            failing_rows: 0,
        }),
        refusal: None,
    }
}

struct Planner<'a> {
    backend: Backend,
    shape: &'a Shape,
    catalog: &'a CatalogTable,
    description: &'a TableDescription,
    options: &'a DiffOptions,
    out: TableMigration,
    /// `RENAME COLUMN` statements: they go first, on every backend.
    renames: Vec<String>,
    /// Whether SQLite copies the table (its other column statements are then left out).
    rebuild: bool,
    /// Declared columns the table does not have.
    added: Vec<&'static str>,
    /// Undeclared columns kept by the options.
    kept: Vec<String>,
}

impl Planner<'_> {
    fn found(&self, name: &str) -> Option<&CatalogColumn> {
        self.catalog.columns.iter().find(|c| c.name == name)
    }

    fn declared(&self, name: &str) -> bool {
        self.shape.columns.iter().any(|c| c.name == name)
    }

    fn quoted(&self, column: &str) -> String {
        self.backend.identifier(column)
    }

    fn push(&mut self, step: MigrationStep, statements: Vec<String>) {
        self.out.steps.push(step);
        self.out.statements.extend(statements);
    }

    fn columns(&mut self) {
        let mut matched: Vec<String> = Vec::new();
        for column in self.shape.columns {
            let mut found = self.found(column.name).cloned();
            if found.is_none()
                && let Some(old) = column.renamed_from
                && !self.declared(old)
                && let Some(old_column) = self.found(old).cloned()
            {
                let statement = sql::rename_column(self.backend, self.shape, old, column.name);
                self.renames.push(statement);
                self.out.steps.push(step(
                    Change::RenameColumn {
                        from: old.to_owned(),
                        to: column.name.to_owned(),
                    },
                    ChangeClass::Safe,
                    None,
                ));
                found = Some(old_column);
            }
            match found {
                Some(found) => {
                    self.compare(column, &found);
                    matched.push(found.name);
                }
                None => self.add_column(column),
            }
        }
        let undeclared: Vec<String> = self
            .catalog
            .columns
            .iter()
            .filter(|c| !matched.contains(&c.name))
            .map(|c| c.name.clone())
            .collect();
        for column in undeclared {
            if self.options.keeps_column(self.shape.table, &column) {
                self.kept.push(column);
            } else {
                self.drop_column(&column);
            }
        }
    }

    fn add_column(&mut self, column: &'static ColumnDef) {
        self.added.push(column.name);
        let change = Change::AddColumn {
            column: column.name.to_owned(),
        };
        let nullable = (column.nullable)() && column.role != ColumnRole::PrimaryKey;
        let statements =
            self.with_enum_type(column, sql::add_column(self.backend, self.shape, column));
        if nullable {
            self.push(step(change, ChangeClass::Safe, None), statements);
            return;
        }
        let precheck = (
            sql::count(self.backend, self.shape, None),
            format!("rows that would have no value for `{}`", column.name),
        );
        let step = step(change, ChangeClass::DataDependent, Some(precheck));
        if self.backend == Backend::Sqlite {
            // SQLite adds no NOT NULL column without a default.
            self.rebuild = true;
            self.push(step, Vec::new());
        } else {
            self.push(step, statements);
        }
    }

    /// `statement` after the (PostgreSQL) enum type of `column`, created if missing.
    fn with_enum_type(&self, column: &ColumnDef, statement: String) -> Vec<String> {
        let mut statements = Shape::enum_types(self.backend, &[column]);
        statements.push(statement);
        statements
    }

    fn drop_column(&mut self, column: &str) {
        let mut drop = step(
            Change::DropColumn {
                column: column.to_owned(),
            },
            ChangeClass::Destructive,
            None,
        );
        if !self.options.allow_destructive {
            let mut why = format!(
                "no field declares column `{column}`, and dropping it loses its data: allow \
                 destructive changes to drop it, or keep it (`DiffOptions::keep_column`)"
            );
            if !self.added.is_empty() {
                let added = self
                    .added
                    .iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(" or ");
                let _ = write!(
                    why,
                    "; if {added} is `{column}` renamed, say so on its field: \
                     #[repo(renamed_from = \"{column}\")]"
                );
            }
            drop.refusal = Some(why);
        }
        let indexed = self
            .description
            .indexes
            .iter()
            .chain(&self.description.unique_keys)
            .chain(std::iter::once(&self.description.primary_key))
            .any(|key| key.iter().any(|c| c == column));
        if self.backend == Backend::Sqlite && indexed {
            self.rebuild = true;
            self.push(drop, Vec::new());
        } else {
            let statement = sql::drop_column(self.backend, self.shape, column);
            self.push(drop, vec![statement]);
        }
    }

    /// The type, nullability and collation of a declared column the table has.
    fn compare(&mut self, column: &'static ColumnDef, found: &CatalogColumn) {
        let declared_type = self.shape.column_type(self.backend, column);
        let type_name = sql::type_name(self.backend, &declared_type);
        let mut steps: Vec<MigrationStep> = self
            .type_change(column, found, &declared_type)
            .map(|(sql, counts)| {
                step(
                    Change::AlterType {
                        column: column.name.to_owned(),
                        found: found.type_name.clone(),
                        declared: type_name.clone(),
                    },
                    ChangeClass::DataDependent,
                    Some((sql, counts)),
                )
            })
            .into_iter()
            .collect();
        let altered = !steps.is_empty();
        steps.extend(self.null_and_collation_changes(column, found));
        if steps.is_empty() {
            return;
        }
        let statements = match self.backend {
            Backend::Sqlite => {
                self.rebuild = true;
                Vec::new()
            }
            Backend::MySql => vec![self.modify(column, found, altered.then_some(&type_name))],
            Backend::Postgres => self.alter_column(column, &steps),
        };
        self.out.steps.extend(steps);
        self.out.statements.extend(statements);
    }

    /// When the column's type is not the declared one in a way that matters, the pre-check
    /// of the change: another class (every value converts), a wider integer (values outside
    /// the declared range), MariaDB key text longer than its declared `varchar`.
    fn type_change(
        &self,
        column: &ColumnDef,
        found: &CatalogColumn,
        declared_type: &sea_query::ColumnType,
    ) -> Option<(String, String)> {
        let (name, quoted) = (column.name, self.quoted(column.name));
        let count = |condition: String| sql::count(self.backend, self.shape, Some(&condition));
        if !found.holds(declared_class(&(column.null_value)())) {
            return Some((
                count(format!("{quoted} IS NOT NULL")),
                format!("rows with a value in `{name}` to convert, which is not planned"),
            ));
        }
        if let (Some((min, max)), Some((found_min, found_max))) = (
            sql::declared_range(declared_type),
            sql::found_range(&found.type_name),
        ) && (found_min < min || found_max > max)
        {
            return Some((
                count(format!("{quoted} < {min} OR {quoted} > {max}")),
                format!("rows with a value of `{name}` outside {min}..={max}"),
            ));
        }
        let length = sql::declared_length(declared_type)?;
        let longer = found.class == TypeClass::Text
            && sql::found_length(self.backend, &found.type_name).is_none_or(|n| n > length);
        longer.then(|| {
            (
                count(format!("CHAR_LENGTH({quoted}) > {length}")),
                format!("rows with a value of `{name}` longer than {length} characters"),
            )
        })
    }

    /// A NOT NULL to set or drop, and (MariaDB) a key column's collation to make exact.
    fn null_and_collation_changes(
        &self,
        column: &ColumnDef,
        found: &CatalogColumn,
    ) -> Vec<MigrationStep> {
        let (name, quoted) = (column.name, self.quoted(column.name));
        let nullable = self.nullable(column);
        let mut steps = Vec::new();
        if found.nullable && !nullable {
            steps.push(step(
                Change::SetNotNull {
                    column: name.to_owned(),
                },
                ChangeClass::DataDependent,
                Some((
                    sql::count(self.backend, self.shape, Some(&format!("{quoted} IS NULL"))),
                    format!("rows where `{name}` is NULL"),
                )),
            ));
        } else if !found.nullable && nullable {
            let change = Change::DropNotNull {
                column: name.to_owned(),
            };
            steps.push(step(change, ChangeClass::Safe, None));
        }
        // Keys compare text byte by byte, as on the other backends (what `verify` asks).
        if let Some(collation) = found
            .inexact_collation
            .as_ref()
            .filter(|_| self.in_key(name))
        {
            let change = Change::Collation {
                column: name.to_owned(),
                found: collation.clone(),
                declared: EXACT_COLLATION.to_owned(),
            };
            steps.push(step(change, ChangeClass::Safe, None));
        }
        steps
    }

    fn nullable(&self, column: &ColumnDef) -> bool {
        (column.nullable)() && !self.shape.primary_key.contains(&column.name)
    }

    fn in_key(&self, column: &str) -> bool {
        self.shape.primary_key.contains(&column)
            || self
                .shape
                .unique_keys
                .iter()
                .any(|key| key.contains(&column))
    }

    /// MariaDB's one `MODIFY` for every change of a column: the declared type when it
    /// changes, else the type it has (a declared `Decimal` would lose a scale it does not
    /// say), with the declared nullability and an exact collation for key text.
    fn modify(
        &self,
        column: &ColumnDef,
        found: &CatalogColumn,
        declared: Option<&String>,
    ) -> String {
        let table = sql::table(self.backend, self.shape.schema, self.shape.table);
        let column_type = declared.unwrap_or(&found.type_name);
        let null = if self.nullable(column) {
            "NULL"
        } else {
            "NOT NULL"
        };
        let mut definition = format!("{} {column_type} {null}", self.quoted(column.name));
        if found.class == TypeClass::Text || found.inexact_collation.is_some() {
            let collation = match &found.inexact_collation {
                Some(found) if !self.in_key(column.name) => found,
                _ => EXACT_COLLATION,
            };
            definition.push_str(" COLLATE ");
            definition.push_str(collation);
        }
        if column.auto {
            definition.push_str(" AUTO_INCREMENT");
        }
        format!("ALTER TABLE {table} MODIFY COLUMN {definition}")
    }

    /// PostgreSQL's `ALTER COLUMN` for each step of a column.
    fn alter_column(&self, column: &ColumnDef, steps: &[MigrationStep]) -> Vec<String> {
        let table = sql::table(self.backend, self.shape.schema, self.shape.table);
        let quoted = self.quoted(column.name);
        let alter = |action: &str| format!("ALTER TABLE {table} ALTER COLUMN {quoted} {action}");
        steps
            .iter()
            .flat_map(|step| match &step.change {
                Change::AlterType { declared, .. } => self.with_enum_type(
                    column,
                    alter(&format!("TYPE {declared} USING {quoted}::{declared}")),
                ),
                Change::SetNotNull { .. } => vec![alter("SET NOT NULL")],
                Change::DropNotNull { .. } => vec![alter("DROP NOT NULL")],
                _ => Vec::new(),
            })
            .collect()
    }

    /// The primary key, declared unique keys and indexes.
    fn keys(&mut self) {
        let same_set = |a: &[String], b: &[&str]| {
            a.len() == b.len() && b.iter().all(|c| a.iter().any(|f| f == c))
        };
        if !same_set(&self.catalog.primary_key, self.shape.primary_key) {
            let mut change = step(
                Change::PrimaryKey {
                    found: self.catalog.primary_key.clone(),
                    declared: self
                        .shape
                        .primary_key
                        .iter()
                        .map(|&c| c.to_owned())
                        .collect(),
                },
                ChangeClass::DataDependent,
                None,
            );
            change.refusal = Some(
                "a primary key change is not planned: write that migration by hand".to_owned(),
            );
            self.push(change, Vec::new());
        }
        for key in self.shape.unique_keys {
            if self
                .catalog
                .unique_keys
                .iter()
                .any(|found| same_set(found, key))
            {
                continue;
            }
            let precheck = (
                sql::duplicates(self.backend, self.shape, key),
                format!("rows whose ({}) another row has too", key.join(", ")),
            );
            let statement = sql::add_unique_key(self.backend, self.shape, key);
            let columns = key.iter().map(|&c| c.to_owned()).collect();
            self.push(
                step(
                    Change::AddUniqueKey { columns },
                    ChangeClass::DataDependent,
                    Some(precheck),
                ),
                vec![statement],
            );
        }
        let description = self.description;
        for index in self.shape.indexes {
            // As declared, or as the schema builds it (a soft-deleting entity's index ends
            // with the soft-delete column on MariaDB).
            let built = self.shape.index_columns(self.backend, index);
            let same = |found: &Vec<String>| {
                found.iter().map(String::as_str).eq(index.iter().copied())
                    || found.iter().map(String::as_str).eq(built.iter().copied())
            };
            let exists = description.indexes.iter().any(same)
                || description.unique_keys.iter().any(same)
                || same(&description.primary_key);
            if exists {
                continue;
            }
            let statement = self.shape.create_index(self.backend, index);
            let columns = index.iter().map(|&c| c.to_owned()).collect();
            self.push(
                step(Change::AddIndex { columns }, ChangeClass::Safe, None),
                vec![statement],
            );
        }
    }

    /// Labels of a declared PostgreSQL enum its type lacks.
    fn enum_labels(&mut self) {
        let mut seen = Vec::new();
        for column in self.shape.columns {
            let Some((type_name, labels)) = (column.enum_type)() else {
                continue;
            };
            let live = self
                .description
                .columns
                .iter()
                .find_map(|c| match &c.field {
                    Some(FieldType::Enum(e)) if e.type_name.as_deref() == Some(type_name) => {
                        Some(e.labels.clone())
                    }
                    _ => None,
                });
            let Some(live) = live else { continue };
            if seen.contains(&type_name) {
                continue;
            }
            seen.push(type_name);
            let missing: Vec<String> = labels
                .iter()
                .filter(|l| !live.iter().any(|found| found == *l))
                .map(|&l| l.to_owned())
                .collect();
            if missing.is_empty() {
                continue;
            }
            let statements = missing
                .iter()
                .map(|label| {
                    format!(
                        "ALTER TYPE {} ADD VALUE IF NOT EXISTS {}",
                        self.quoted(type_name),
                        self.backend.string_literal(label)
                    )
                })
                .collect();
            self.push(
                step(
                    Change::AddEnumLabels {
                        type_name: type_name.to_owned(),
                        labels: missing,
                    },
                    ChangeClass::Safe,
                    None,
                ),
                statements,
            );
        }
    }

    /// The statements in order: renames first; on SQLite, a copy of the table when a step
    /// needs one, in place of the column statements.
    fn finish(mut self) -> TableMigration {
        let mut statements = std::mem::take(&mut self.renames);
        if self.rebuild {
            statements.extend(self.rebuild_statements());
            self.out.note = Some(REBUILD_NOTE.to_owned());
            if !self.kept.is_empty() {
                let why = format!(
                    "SQLite makes this change by copying the table from its declaration, and \
                     the copy would lose the kept column(s) {}",
                    self.kept.join(", ")
                );
                for step in self.out.steps.iter_mut().filter(|s| rebuilds(&s.change)) {
                    step.refusal.get_or_insert_with(|| why.clone());
                }
            }
        } else {
            statements.append(&mut self.out.statements);
        }
        self.out.statements = statements;
        self.out
    }

    fn rebuild_statements(&self) -> Vec<String> {
        let (backend, shape) = (self.backend, self.shape);
        let copy = format!("{}__rebuilt", shape.table);
        let columns = shape
            .columns
            .iter()
            .filter(|c| !self.added.contains(&c.name))
            .map(|c| self.quoted(c.name))
            .collect::<Vec<_>>()
            .join(", ");
        let mut statements = vec![
            shape.create_table(backend, &copy, false),
            format!(
                "INSERT INTO {} ({columns}) SELECT {columns} FROM {}",
                sql::table(backend, shape.schema, &copy),
                sql::table(backend, shape.schema, shape.table)
            ),
            sql::drop_table(backend, shape.schema, shape.table),
            format!(
                "ALTER TABLE {} RENAME TO {}",
                sql::table(backend, shape.schema, &copy),
                self.quoted(shape.table)
            ),
        ];
        statements.extend(
            shape
                .indexes
                .iter()
                .map(|index| shape.create_index(backend, index)),
        );
        statements
    }
}
