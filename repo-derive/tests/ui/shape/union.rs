use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "widgets")]
union Widget {
    id: i64,
    weight: f64,
}

fn main() {}
