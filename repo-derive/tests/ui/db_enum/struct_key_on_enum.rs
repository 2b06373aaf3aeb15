use repo_core::prelude::*;

#[derive(DbEnum)]
#[repo(table = "statuses")]
enum Status {
    Active,
    Retired,
}

fn main() {}
