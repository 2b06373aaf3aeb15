use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "widgets")]
struct Widget {
    id: i64,
    name: String,
}

fn main() {}
