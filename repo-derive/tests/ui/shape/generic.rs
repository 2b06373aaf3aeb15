use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "widgets")]
struct Widget<T> {
    #[repo(primary_key, auto)]
    id: i64,
    value: T,
}

fn main() {}
