use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "documents")]
struct Document {
    #[repo(primary_key, auto)]
    id: i64,
    #[repo(version)]
    version: i64,
    #[repo(version)]
    revision: i64,
}

fn main() {}
