use repo_core::prelude::*;

struct Dimensions {
    width: f64,
    height: f64,
}

#[derive(Repository)]
#[repo(table = "widgets")]
struct Widget {
    #[repo(primary_key, auto)]
    id: i64,
    size: Dimensions,
}

fn main() {}
