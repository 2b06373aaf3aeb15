use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "tallies", unique(name))]
struct Tally {
    #[repo(primary_key, auto)]
    id: i64,
    #[repo(on_conflict = "keep")]
    name: String,
    hits: i64,
}

fn main() {}
