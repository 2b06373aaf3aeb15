use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "tallies")]
struct Tally {
    #[repo(primary_key)]
    id: i64,
    #[repo(created_at, on_conflict = "keep")]
    created_at: DateTime<Utc>,
}

fn main() {}
