use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "tallies")]
struct Tally {
    #[repo(primary_key)]
    id: i64,
    #[repo(version, on_conflict = "add")]
    version: i64,
}

fn main() {}
