//! `repo`: entity declarations generated from a live database.
//!
//! ```sh
//! cargo run -p repo-cli -- generate --url postgres://postgres@127.0.0.1:5432/app --out src/entities
//! cargo run -p repo-cli -- generate --url sqlite://app.db --out src/entities --tables film,actor
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use repo_cli::generate::{Request, generate};
use repo_core::Db;

/// Entity declarations from a live database.
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
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let Command::Generate {
        url,
        out,
        tables,
        schema,
    } = Args::parse().command;
    let db = match Db::connect(&url).await {
        Ok(db) => db,
        Err(error) => {
            eprintln!("repo: cannot connect to the database: {error}");
            return ExitCode::FAILURE;
        }
    };
    let request = Request { schema, tables };
    let generated = match generate(&db, &request).await {
        Ok(generated) => generated,
        Err(error) => {
            eprintln!("repo: {error}");
            return ExitCode::FAILURE;
        }
    };
    db.close().await;
    for warning in &generated.warnings {
        eprintln!("warning: {warning}");
    }
    if let Err(error) = generated.write(&out) {
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
