use repo_core::prelude::*;

#[derive(DbEnum)]
struct Status {
    active: bool,
}

fn main() {}
