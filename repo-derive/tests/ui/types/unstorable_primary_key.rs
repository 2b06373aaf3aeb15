use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "widgets")]
struct Widget {
    #[repo(primary_key)]
    id: u16,
    name: String,
}

fn main() {}
