use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "widgets", unique(sku, name, sku))]
struct Widget {
    #[repo(primary_key, auto)]
    id: i64,
    sku: String,
    name: String,
}

fn main() {}
