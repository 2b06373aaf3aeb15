//! The `repo` command line: `generate` from any binary, `diff` from one that registers its
//! entities ([`run`] with their declarations).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use repo_core::verify::Declaration;
use repo_core::{ChangeClass, Db, DiffOptions, Migration};

use crate::generate::{Request, generate};

/// Entity declarations from a live database, and migrations from entity declarations.
#[derive(Debug, Parser)]
#[command(name = "repo", version)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write one module per table (a `#[derive(Repository)]` struct), an `enums` module and
    /// a `mod.rs` into `--out`; print a warning for each column, key, view or table that is
    /// not generated as the catalog describes it.
    Generate {
        /// The database: `postgres://…`, `mysql://…`, `sqlite://…`.
        #[arg(long, env = "DATABASE_URL")]
        url: String,
        /// The directory to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Only these tables (comma-separated).
        #[arg(long, value_delimiter = ',')]
        tables: Option<Vec<String>>,
        /// The schema (PostgreSQL), database (MariaDB) or attached database (SQLite) to read;
        /// the connection's own by default.
        #[arg(long)]
        schema: Option<String>,
    },
    /// Compare the registered entities with the database and write the migration that makes
    /// its schema what they declare, as an sqlx migration in `--out`; print every step with
    /// its class. Refused steps are printed and nothing is written (exit status 1).
    Diff {
        /// The database: `postgres://…`, `mysql://…`, `sqlite://…`.
        #[arg(long, env = "DATABASE_URL")]
        url: String,
        /// The migrations directory of this database's backend (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// The migration's description, in its file name.
        #[arg(long, default_value = "schema")]
        name: String,
        /// Write steps that drop tables or columns (and their data) instead of refusing them.
        #[arg(long)]
        allow_destructive: bool,
        /// Leave this undeclared table alone (repeatable).
        #[arg(long = "keep-table")]
        keep_tables: Vec<String>,
        /// Leave this undeclared column alone, as `table.column` (repeatable).
        #[arg(long = "keep-column")]
        keep_columns: Vec<String>,
        /// Write nothing; exit with status 1 when the schema differs from the declarations.
        #[arg(long)]
        check: bool,
    },
}

/// Run the `repo` command line with the process's arguments. `entities` are the
/// declarations `diff` compares (`&[Declaration::of::<User>(), …]`); the `repo` binary has
/// none, so a project runs `diff` from a binary of its own that calls this with them.
pub async fn run(entities: &[Declaration]) -> ExitCode {
    run_with(std::env::args_os(), entities).await
}

/// [`run`] with these arguments (the first is the command's name) in place of the process's.
pub async fn run_with<I, T>(args: I, entities: &[Declaration]) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    match Args::parse_from(args).command {
        Command::Generate {
            url,
            out,
            tables,
            schema,
        } => run_generate(&url, &out, Request { schema, tables }).await,
        Command::Diff {
            url,
            out,
            name,
            allow_destructive,
            keep_tables,
            keep_columns,
            check,
        } => {
            if entities.is_empty() {
                eprintln!(
                    "repo: `diff` compares the entities a binary registers: run it from a \
                     binary of your project that calls `repo_cli::run(&[Declaration::of::<A>(), …])`"
                );
                return ExitCode::FAILURE;
            }
            let mut options = DiffOptions::new();
            if allow_destructive {
                options = options.allow_destructive();
            }
            for table in keep_tables {
                options = options.keep_table(table);
            }
            for column in keep_columns {
                let Some((table, column)) = column.split_once('.') else {
                    eprintln!("repo: --keep-column takes `table.column`, not `{column}`");
                    return ExitCode::FAILURE;
                };
                options = options.keep_column(table, column);
            }
            run_diff(&url, entities, &options, &out, &name, check).await
        }
    }
}

async fn connect(url: &str) -> Option<Db> {
    match Db::connect(url).await {
        Ok(db) => Some(db),
        Err(error) => {
            eprintln!("repo: cannot connect to the database: {error}");
            None
        }
    }
}

async fn run_generate(url: &str, out: &Path, request: Request) -> ExitCode {
    let Some(db) = connect(url).await else {
        return ExitCode::FAILURE;
    };
    let generated = generate(&db, &request).await;
    db.close().await;
    let generated = match generated {
        Ok(generated) => generated,
        Err(error) => {
            eprintln!("repo: {error}");
            return ExitCode::FAILURE;
        }
    };
    for warning in &generated.warnings {
        eprintln!("warning: {warning}");
    }
    if let Err(error) = generated.write(out) {
        eprintln!("repo: cannot write into {}: {error}", out.display());
        return ExitCode::FAILURE;
    }
    println!(
        "wrote {} files into {} ({} warnings)",
        generated.files.len(),
        out.display(),
        generated.warnings.len()
    );
    ExitCode::SUCCESS
}

async fn run_diff(
    url: &str,
    entities: &[Declaration],
    options: &DiffOptions,
    out: &Path,
    name: &str,
    check: bool,
) -> ExitCode {
    let Some(db) = connect(url).await else {
        return ExitCode::FAILURE;
    };
    let migration = db.diff(entities, options).await;
    db.close().await;
    let migration = match migration {
        Ok(migration) => migration,
        Err(error) => {
            eprintln!("repo: {error}");
            return ExitCode::FAILURE;
        }
    };
    print!("{}", summary(&migration));
    if migration.is_empty() {
        println!("the schema is what the entities declare: nothing to write");
        return ExitCode::SUCCESS;
    }
    let refusals = migration.refusals();
    if !refusals.is_empty() {
        for refusal in &refusals {
            eprintln!("refused: {refusal}");
        }
        eprintln!("repo: nothing written");
        return ExitCode::FAILURE;
    }
    if check {
        return ExitCode::FAILURE;
    }
    match migration.write(out, name) {
        Ok(Some(path)) => {
            println!("wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Ok(None) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("repo: {error}");
            ExitCode::FAILURE
        }
    }
}

/// One line per step: `table: class: change`, with a data-dependent step's count.
#[must_use]
pub fn summary(migration: &Migration) -> String {
    let mut out = String::new();
    for (table, step) in migration.steps() {
        let counted = match (&step.precheck, step.class) {
            (Some(check), ChangeClass::DataDependent) => {
                format!(" ({} {})", check.failing_rows, check.counts)
            }
            _ => String::new(),
        };
        let _ = writeln!(out, "{table}: {}: {}{counted}", step.class, step.change);
    }
    out
}
