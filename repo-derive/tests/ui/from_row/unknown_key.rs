use repo_core::prelude::*;

#[derive(FromRow)]
pub struct Stats {
    #[repo(colum = "n")]
    pub count: i64,
    #[repo(primary_key)]
    pub total: i64,
}

fn main() {}
