use repo_core::prelude::*;

// Rename the generated type with #[repo(new = "...")] to keep this one.
struct NewWidget;

#[derive(Repository)]
#[repo(table = "widgets")]
struct Widget {
    #[repo(primary_key, auto)]
    id: i64,
    name: String,
}

fn main() {}
