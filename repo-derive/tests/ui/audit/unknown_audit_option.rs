use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "payments", audit(require_user))]
struct Payment {
    #[repo(primary_key, auto)]
    id: i64,
    cents: i64,
}

fn main() {}
