use repo_core::prelude::*;

#[derive(FromRow)]
pub struct Stats {
    pub count: i64,
    #[repo(column = "count")]
    pub total: i64,
}

fn main() {}
