use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "tallies")]
struct Tally {
    #[repo(primary_key)]
    id: i64,
    #[repo(on_conflict = add)]
    hits: i64,
}

fn main() {}
