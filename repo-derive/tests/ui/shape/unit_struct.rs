use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "widgets")]
struct Widget;

fn main() {}
