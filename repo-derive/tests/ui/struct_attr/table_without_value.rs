use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table)]
struct Widget {
    #[repo(primary_key, auto)]
    id: i64,
}

fn main() {}
