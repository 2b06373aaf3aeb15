//! Migration diffs: [`Db::diff`] compares entity declarations with the live schema, as
//! [`Db::verify`](crate::Db::verify) does, and plans the statements that make the schema what
//! the declarations say, each step classified by what it risks. [`Migration::write`] writes
//! them as an sqlx migration file for the connected backend.
//!
//! Nothing is guessed and nothing is lost silently: a step that drops data is refused unless
//! destructive changes are allowed ([`DiffOptions::allow_destructive`]); a step that depends
//! on the rows (a NOT NULL, a narrower type, a new unique key) counts the rows it would fail
//! on first and is refused while there are any; a column is renamed only when its field says
//! `#[repo(renamed_from = "old")]`. A refused migration is not written.

use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};

use crate::db::Db;
use crate::dialect::Backend;
use crate::error::{Error, Result};
use crate::exec::Conn;
use crate::statements::Statement;
use crate::verify::Declaration;

mod plan;
mod sql;

/// What [`Db::diff`] may plan beyond what keeps every row.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    allow_destructive: bool,
    keep_tables: Vec<String>,
    keep_columns: Vec<(String, String)>,
}

impl DiffOptions {
    /// Nothing destructive, nothing kept beyond the declarations.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Write destructive steps (dropping a table or a column no declaration has, and its data)
    /// instead of refusing them.
    #[must_use]
    pub fn allow_destructive(mut self) -> Self {
        self.allow_destructive = true;
        self
    }

    /// Leave the undeclared table `table` alone (another application's, or one written by
    /// hand) instead of dropping it.
    #[must_use]
    pub fn keep_table(mut self, table: impl Into<String>) -> Self {
        self.keep_tables.push(table.into());
        self
    }

    /// Leave the undeclared column `column` of `table` alone instead of dropping it (a column
    /// the database fills, of a type no field reads).
    #[must_use]
    pub fn keep_column(mut self, table: impl Into<String>, column: impl Into<String>) -> Self {
        self.keep_columns.push((table.into(), column.into()));
        self
    }

    fn keeps_table(&self, table: &str) -> bool {
        self.keep_tables.iter().any(|t| t == table)
    }

    fn keeps_column(&self, table: &str, column: &str) -> bool {
        self.keep_columns
            .iter()
            .any(|(t, c)| t == table && c == column)
    }
}

/// What a step risks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChangeClass {
    /// Keeps every row as it is: a new table, a nullable column, an index, a wider type, a
    /// dropped NOT NULL, a rename.
    Safe,
    /// Succeeds or fails by the rows there are: a NOT NULL, a new column without a value
    /// for existing rows, a narrower or other type, a new unique key. Its pre-check counts
    /// the rows it would fail on.
    DataDependent,
    /// Loses data: a dropped table or column. Refused unless allowed.
    Destructive,
}

impl fmt::Display for ChangeClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Safe => "safe",
            Self::DataDependent => "data-dependent",
            Self::Destructive => "destructive",
        })
    }
}

/// One change a migration makes to a table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// Create the declared table, its indexes and (PostgreSQL) enum types.
    CreateTable,
    /// Drop a table no declaration names.
    DropTable,
    /// Add a declared column.
    AddColumn {
        /// The column.
        column: String,
    },
    /// Drop a column no field declares.
    DropColumn {
        /// The column.
        column: String,
    },
    /// Rename a column, as `#[repo(renamed_from = "...")]` says.
    RenameColumn {
        /// The column's name in the table.
        from: String,
        /// The declared name.
        to: String,
    },
    /// Change a column's type to the declared one.
    AlterType {
        /// The column.
        column: String,
        /// The type in the table, as the database names it.
        found: String,
        /// The declared type, as the migration writes it.
        declared: String,
    },
    /// Make a column NOT NULL, as its field is not an `Option`.
    SetNotNull {
        /// The column.
        column: String,
    },
    /// Let a column hold NULL, as its field is an `Option`.
    DropNotNull {
        /// The column.
        column: String,
    },
    /// Make a MariaDB key column compare text byte by byte, trailing spaces counting, as keys
    /// do on the other backends (what [`SchemaDifference::Collation`](crate::SchemaDifference::Collation) reports).
    Collation {
        /// The column.
        column: String,
        /// Its collation.
        found: String,
        /// The collation it gets.
        declared: String,
    },
    /// Add a declared unique key.
    AddUniqueKey {
        /// Its columns.
        columns: Vec<String>,
    },
    /// Add a declared index.
    AddIndex {
        /// Its columns.
        columns: Vec<String>,
    },
    /// Add labels of a declared enum to its PostgreSQL type.
    AddEnumLabels {
        /// The enum type.
        type_name: String,
        /// The labels added.
        labels: Vec<String>,
    },
    /// The primary key differs: never planned, always refused.
    PrimaryKey {
        /// The table's primary key columns.
        found: Vec<String>,
        /// The declared ones.
        declared: Vec<String>,
    },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CreateTable => write!(f, "create the table"),
            Self::DropTable => write!(f, "drop the table"),
            Self::AddColumn { column } => write!(f, "add column `{column}`"),
            Self::DropColumn { column } => write!(f, "drop column `{column}`"),
            Self::RenameColumn { from, to } => write!(f, "rename column `{from}` to `{to}`"),
            Self::AlterType {
                column,
                found,
                declared,
            } => write!(f, "change column `{column}` from `{found}` to `{declared}`"),
            Self::SetNotNull { column } => write!(f, "make column `{column}` NOT NULL"),
            Self::DropNotNull { column } => write!(f, "let column `{column}` hold NULL"),
            Self::Collation {
                column,
                found,
                declared,
            } => write!(
                f,
                "change column `{column}`'s collation from {found} to {declared}"
            ),
            Self::AddUniqueKey { columns } => write!(f, "add unique key ({})", columns.join(", ")),
            Self::AddIndex { columns } => write!(f, "add index ({})", columns.join(", ")),
            Self::AddEnumLabels { type_name, labels } => {
                write!(f, "add labels {} to enum `{type_name}`", labels.join(", "))
            }
            Self::PrimaryKey { found, declared } => write!(
                f,
                "change the primary key from ({}) to ({})",
                found.join(", "),
                declared.join(", ")
            ),
        }
    }
}

/// The query that counts the rows a data-dependent step would fail on, and what it counted
/// when the diff ran.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Precheck {
    /// `SELECT COUNT(*) …`.
    pub sql: String,
    /// What the counted rows are ("rows where `c` is NULL").
    pub counts: String,
    /// The count when the diff ran.
    pub failing_rows: u64,
}

/// One classified change of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MigrationStep {
    /// The change.
    pub change: Change,
    /// What it risks.
    pub class: ChangeClass,
    /// For a data-dependent step, the rows it would fail on.
    pub precheck: Option<Precheck>,
    /// Why the step is not written, when it is not (then the migration is not written).
    pub refusal: Option<String>,
}

/// The steps of one table and the statements that make them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TableMigration {
    /// The table's schema, when the declaration names one.
    pub schema: Option<String>,
    /// The table.
    pub table: String,
    /// Its steps, in the order the statements make them.
    pub steps: Vec<MigrationStep>,
    /// The statements, in this backend's SQL.
    pub statements: Vec<String>,
    /// Why the statements are as they are, when that is not plain from the steps (SQLite
    /// copying a table to change a column).
    pub note: Option<String>,
}

impl TableMigration {
    /// Whether the statements copy the table (SQLite), as the note above them says.
    fn copies_table(&self) -> bool {
        self.note.as_deref() == Some(plan::REBUILD_NOTE)
    }

    fn name(&self) -> String {
        match &self.schema {
            Some(schema) => format!("{schema}.{}", self.table),
            None => self.table.clone(),
        }
    }
}

/// What [`Db::diff`] found: every table that differs from its declaration, with its steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    backend: Backend,
    tables: Vec<TableMigration>,
}

impl Migration {
    /// The backend the statements are written for.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the schema is what the declarations say (nothing to do).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// The tables that differ, each with its steps and statements.
    #[must_use]
    pub fn tables(&self) -> &[TableMigration] {
        &self.tables
    }

    /// Every step, with its table's name (`schema.table` when it has a schema).
    pub fn steps(&self) -> impl Iterator<Item = (String, &MigrationStep)> {
        self.tables
            .iter()
            .flat_map(|t| t.steps.iter().map(move |step| (t.name(), step)))
    }

    /// Every refused step, said as "table `t`: the change: why"; empty when the migration
    /// can be written.
    #[must_use]
    pub fn refusals(&self) -> Vec<String> {
        self.steps()
            .filter_map(|(table, step)| {
                let why = step.refusal.as_ref()?;
                Some(format!("table `{table}`: {}: {why}", step.change))
            })
            .collect()
    }

    /// The migration as one SQL script: each table's steps as comments (class, change,
    /// pre-check), then its statements. [`Error::MigrationRefused`] when a step is refused.
    pub fn sql(&self) -> Result<String> {
        let refusals = self.refusals();
        if !refusals.is_empty() {
            return Err(Error::MigrationRefused { refusals });
        }
        let mut out = String::new();
        for table in &self.tables {
            let _ = writeln!(out, "-- {}", table.name());
            for step in &table.steps {
                let _ = writeln!(out, "--   {}: {}", step.class, step.change);
                if let Some(check) = &step.precheck {
                    let _ = writeln!(
                        out,
                        "--     pre-check, {} {} when diffed: {}",
                        check.failing_rows, check.counts, check.sql
                    );
                }
            }
            if let Some(note) = &table.note {
                let _ = writeln!(out, "--   {note}");
            }
            for statement in &table.statements {
                out.push_str(statement);
                out.push_str(";\n");
            }
            out.push('\n');
        }
        Ok(out)
    }

    /// Write the migration into `dir` as an sqlx migration (`<version>_<description>.sql`,
    /// the version the current UTC time as `YYYYMMDDhhmmss`, or one past the newest in `dir`
    /// if that is later); its path, or `None` when there is nothing to do.
    /// [`Error::MigrationRefused`] when a step is refused (nothing is written);
    /// [`Error::Validation`] (`dir`) when the directory cannot be written.
    pub fn write(&self, dir: &Path, description: &str) -> Result<Option<PathBuf>> {
        if self.is_empty() {
            return Ok(None);
        }
        let text = self.sql()?;
        let unwritable =
            |e: std::io::Error| Error::validation("dir", format!("{}: {e}", dir.display()));
        std::fs::create_dir_all(dir).map_err(unwritable)?;
        let now: u64 = chrono::Utc::now()
            .format("%Y%m%d%H%M%S")
            .to_string()
            .parse()
            .unwrap_or_default();
        let newest = std::fs::read_dir(dir)
            .map_err(unwritable)?
            .filter_map(|entry| {
                let name = entry.ok()?.file_name().into_string().ok()?;
                name.split('_').next()?.parse::<u64>().ok()
            })
            .max()
            .unwrap_or_default();
        let version = now.max(newest + 1);
        let description: String = description
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let description = if description.is_empty() {
            "schema".to_owned()
        } else {
            description
        };
        let path = dir.join(format!("{version}_{description}.sql"));
        std::fs::write(&path, text).map_err(unwritable)?;
        Ok(Some(path))
    }
}

/// The sqlx migrations table, which no declaration names and no diff drops.
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

impl Db {
    /// Compare `entities` (`&[Declaration::of::<A>(), …]`) with the connected database and
    /// plan the migration that makes its schema what they declare: missing tables, columns,
    /// unique keys and indexes added; types, nullability and (PostgreSQL) enum labels
    /// changed; renames from `#[repo(renamed_from)]`; undeclared columns, and undeclared
    /// tables of the schemas the entities live in, dropped. Read-only entities are left
    /// alone; an audited entity brings the audit log's table.
    ///
    /// The returned [`Migration`] holds every step, refused ones included; see
    /// [`Migration::refusals`] and [`Migration::write`]. Pre-checks run here, and nothing is
    /// written to the database.
    ///
    /// What it does not do: change a primary key (refused: write it by hand), drop indexes,
    /// unique keys or enum labels no declaration has (they are left), compare defaults,
    /// check constraints, foreign keys, text lengths (but MariaDB key columns), decimal
    /// precision or timestamp precision.
    pub async fn diff(&self, entities: &[Declaration], options: &DiffOptions) -> Result<Migration> {
        let backend = self.backend();
        let mut declarations: Vec<Declaration> = entities.to_vec();
        let audit = Declaration::of::<crate::AuditEntry>();
        if declarations.iter().any(|d| d.audited)
            && !declarations.iter().any(|d| same_table(d, &audit))
        {
            declarations.push(audit);
        }
        let mut tables = Vec::new();
        for declaration in declarations.iter().filter(|d| !d.read_only) {
            let shape = &declaration.shape;
            let catalog = self.pool.catalog(shape.schema, shape.table).await?;
            let found = match catalog {
                Some(catalog) => {
                    let only = [shape.table.to_owned()];
                    let description = self
                        .pool
                        .describe_tables(shape.schema, Some(&only))
                        .await?
                        .into_iter()
                        .next();
                    description.map(|d| (catalog, d))
                }
                None => None,
            };
            let mut table = plan::table(backend, shape, found.as_ref(), options);
            if !table.steps.is_empty() {
                self.run_prechecks(&mut table).await?;
                if table.copies_table() {
                    self.refuse_referenced_rebuild(&mut table).await?;
                }
                tables.push(table);
            }
        }
        let mut schemas: Vec<Option<&str>> = declarations.iter().map(|d| d.shape.schema).collect();
        schemas.sort_unstable();
        schemas.dedup();
        for schema in schemas {
            for (name, view) in self.pool.relations(schema).await? {
                let declared = declarations
                    .iter()
                    .any(|d| d.shape.schema == schema && d.shape.table == name);
                if view || declared || name == MIGRATIONS_TABLE || options.keeps_table(&name) {
                    continue;
                }
                tables.push(plan::drop_table(backend, schema, &name, options));
            }
        }
        Ok(Migration { backend, tables })
    }

    /// Count each step's failing rows (on the primary: a replica may lag); a step with any
    /// is refused.
    async fn run_prechecks(&self, table: &mut TableMigration) -> Result<()> {
        let primary = self.on_primary();
        for step in &mut table.steps {
            let Some(check) = &mut step.precheck else {
                continue;
            };
            let row = Conn::Db(&primary)
                .fetch_optional(Statement::new(check.sql.clone(), Vec::new()))
                .await?;
            let count = match row {
                Some(row) => row.try_get::<i64>(0).map_err(Error::Database)?,
                None => 0,
            };
            check.failing_rows = u64::try_from(count).unwrap_or_default();
            if check.failing_rows > 0 && step.refusal.is_none() {
                step.refusal = Some(format!(
                    "{} {}: change or remove them first (counted by `{}`)",
                    check.failing_rows, check.counts, check.sql
                ));
            }
        }
        Ok(())
    }

    /// SQLite changes a column by copying the table, and dropping the old copy would delete
    /// (or cascade to) the rows of tables whose foreign keys reference it: refused then.
    async fn refuse_referenced_rebuild(&self, table: &mut TableMigration) -> Result<()> {
        let schema = table.schema.as_deref().unwrap_or("main");
        let sql = format!(
            "SELECT DISTINCT m.name FROM {quoted}.sqlite_master m, \
             pragma_foreign_key_list(m.name, {literal}) f \
             WHERE m.type = 'table' AND f.\"table\" = {name} AND m.name <> {name}",
            quoted = Backend::Sqlite.identifier(schema),
            literal = Backend::Sqlite.string_literal(schema),
            name = Backend::Sqlite.string_literal(&table.table),
        );
        let rows = Conn::Db(&self.on_primary())
            .fetch_all(Statement::new(sql, Vec::new()))
            .await?;
        let referencing: Vec<String> = rows
            .iter()
            .filter_map(|row| row.try_get::<String>(0).ok())
            .collect();
        if referencing.is_empty() {
            return Ok(());
        }
        let why = format!(
            "SQLite makes this change by copying the table, and dropping the old copy would \
             delete the rows of {} that reference it; write this migration by hand",
            referencing.join(", ")
        );
        for step in table.steps.iter_mut().filter(|s| plan::rebuilds(&s.change)) {
            step.refusal.get_or_insert_with(|| why.clone());
        }
        Ok(())
    }
}

fn same_table(a: &Declaration, b: &Declaration) -> bool {
    a.shape.schema == b.shape.schema && a.shape.table == b.shape.table
}
