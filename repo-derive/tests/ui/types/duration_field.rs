use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "widgets")]
struct Widget {
    #[repo(primary_key, auto)]
    id: i64,
    lifetime: std::time::Duration,
}

fn main() {}
