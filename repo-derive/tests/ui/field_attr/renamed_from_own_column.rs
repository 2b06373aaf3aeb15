use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "widgets")]
struct Widget {
    #[repo(primary_key, auto)]
    id: i64,
    #[repo(column = "title", renamed_from = "title")]
    name: String,
}

fn main() {}
