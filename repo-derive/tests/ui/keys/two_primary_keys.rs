use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "widgets")]
struct Widget {
    #[repo(primary_key)]
    id: i64,
    #[repo(primary_key)]
    sku: String,
}

fn main() {}
