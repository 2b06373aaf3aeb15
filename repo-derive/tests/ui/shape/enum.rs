use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "widgets")]
enum Widget {
    Bolt,
    Nut,
}

fn main() {}
