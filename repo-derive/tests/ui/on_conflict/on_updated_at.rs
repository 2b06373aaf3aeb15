use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "tallies")]
struct Tally {
    #[repo(primary_key)]
    id: i64,
    #[repo(updated_at, on_conflict = "keep")]
    updated_at: DateTime<Utc>,
}

fn main() {}
