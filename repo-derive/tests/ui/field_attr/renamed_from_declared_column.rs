use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "widgets")]
struct Widget {
    #[repo(primary_key, auto)]
    id: i64,
    title: String,
    #[repo(renamed_from = "title")]
    name: String,
}

fn main() {}
