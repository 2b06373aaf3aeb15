use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "widgets")]
struct Widget {
    #[repo(primary_key, auto)]
    id: i64,
    #[repo(updated_at)]
    updated_at: i64,
}

fn main() {}
