use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "tallies")]
struct Tally {
    #[repo(primary_key)]
    id: i64,
    #[repo(on_conflict = "greatest")]
    flag: bool,
}

fn main() {}
