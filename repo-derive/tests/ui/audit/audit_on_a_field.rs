use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "payments")]
struct Payment {
    #[repo(primary_key, auto)]
    id: i64,
    #[repo(audit)]
    cents: i64,
}

fn main() {}
