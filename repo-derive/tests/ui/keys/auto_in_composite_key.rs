use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "links")]
struct Link {
    #[repo(primary_key, auto)]
    id: i64,
    #[repo(primary_key)]
    sku: String,
}

fn main() {}
