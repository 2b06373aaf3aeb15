use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "widgets")]
struct Widget {
    #[repo(primary_key, auto)]
    id: String,
    name: String,
}

fn main() {}
