use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "widgets", unique())]
struct Widget {
    #[repo(primary_key, auto)]
    id: i64,
    sku: String,
}

fn main() {}
