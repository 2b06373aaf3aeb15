use repo_core::prelude::*;

#[derive(Debug, Clone, Repository)]
#[repo(table = "plans")]
pub struct Plan {
    #[repo(primary_key, cache)]
    pub id: i64,
    pub cents: i64,
}

fn main() {}
