use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "documents")]
struct Document {
    #[repo(primary_key, version)]
    id: i64,
    title: String,
}

fn main() {}
