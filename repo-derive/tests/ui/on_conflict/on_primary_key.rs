use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "tallies")]
struct Tally {
    #[repo(primary_key, on_conflict = "keep")]
    id: i64,
    hits: i64,
}

fn main() {}
