use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "tallies", unique(name))]
struct Tally {
    #[repo(primary_key, auto)]
    id: i64,
    name: String,
    #[repo(on_conflict = "greatst")]
    hits: i64,
}

fn main() {}
