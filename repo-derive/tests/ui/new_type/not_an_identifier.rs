use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "widgets", new = "New Widget")]
struct Widget {
    #[repo(primary_key, auto)]
    id: i64,
    name: String,
}

fn main() {}
