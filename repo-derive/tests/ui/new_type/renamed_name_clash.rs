use repo_core::prelude::*;

struct CreateWidget;

#[derive(Repository)]
#[repo(table = "widgets", new = "CreateWidget")]
struct Widget {
    #[repo(primary_key, auto)]
    id: i64,
    name: String,
}

fn main() {}
