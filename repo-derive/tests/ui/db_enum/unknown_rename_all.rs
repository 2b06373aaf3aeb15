use repo_core::prelude::*;

#[derive(DbEnum)]
#[repo(rename_all = "snake-case")]
enum Status {
    Active,
    Retired,
}

fn main() {}
