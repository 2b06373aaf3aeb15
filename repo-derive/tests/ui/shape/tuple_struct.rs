use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "widgets")]
struct Widget(i64, String);

fn main() {}
