use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "widgets")]
struct Widget {
    #[repo(primary_key)]
    sku: String,
    #[repo(auto)]
    serial: i64,
}

fn main() {}
