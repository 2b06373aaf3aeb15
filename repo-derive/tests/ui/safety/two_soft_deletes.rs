use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "documents")]
struct Document {
    #[repo(primary_key, auto)]
    id: i64,
    #[repo(soft_delete)]
    deleted_at: Option<DateTime<Utc>>,
    #[repo(soft_delete)]
    archived_at: Option<DateTime<Utc>>,
}

fn main() {}
