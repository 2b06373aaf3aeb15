use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "tallies")]
struct Tally {
    #[repo(primary_key)]
    id: i64,
    #[repo(soft_delete, on_conflict = "keep")]
    deleted_at: Option<DateTime<Utc>>,
}

fn main() {}
