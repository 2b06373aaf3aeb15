use repo_core::prelude::*;

#[derive(Debug, Clone, Repository)]
#[repo(table = "plans", cache(capacity = 10, capacity = 20))]
pub struct Plan {
    #[repo(primary_key)]
    pub id: i64,
    pub cents: i64,
}

fn main() {}
