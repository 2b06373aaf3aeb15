use repo_core::prelude::*;

#[derive(DbEnum)]
enum Status {
    Active,
    Retired { since: i64 },
}

fn main() {}
