use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "orders", schema = "")]
struct Order {
    #[repo(primary_key)]
    id: i64,
}

fn main() {}
