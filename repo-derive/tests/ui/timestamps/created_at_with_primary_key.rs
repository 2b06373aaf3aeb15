use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "widgets")]
struct Widget {
    #[repo(primary_key, created_at)]
    created_at: DateTime<Utc>,
    name: String,
}

fn main() {}
