use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "widgets")]
struct Widget {
    #[repo(primary_key, json)]
    id: i64,
    name: String,
}

fn main() {}
