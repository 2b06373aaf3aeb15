use repo_core::prelude::*;

#[derive(DbEnum)]
enum Status {
    #[repo(label = "on")]
    Active,
    Retired,
}

fn main() {}
