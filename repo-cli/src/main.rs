//! `repo`: entity declarations generated from a live database.
//!
//! ```sh
//! cargo run -p repo-cli -- generate --url postgres://postgres@127.0.0.1:5432/app --out src/entities
//! cargo run -p repo-cli -- generate --url sqlite://app.db --out src/entities --tables film,actor
//! ```
//!
//! `repo diff` needs the entities: a project runs it from a binary that registers them
//! (`repo_cli::run(&[Declaration::of::<User>()])`, see the `migrations` example).

use std::process::ExitCode;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    repo_cli::run(&[]).await
}
