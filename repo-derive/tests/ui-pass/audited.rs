use repo_core::prelude::*;

#[derive(Debug, Clone, Repository)]
#[repo(table = "payments", audit)]
struct Payment {
    #[repo(primary_key, auto)]
    id: i64,
    cents: i64,
}

#[derive(Debug, Clone, Repository)]
#[repo(table = "refunds", audit(require_actor))]
struct Refund {
    #[repo(primary_key, auto)]
    id: i64,
    cents: i64,
}

fn main() {
    assert_eq!(Payment::AUDIT, repo_core::Audit::On);
    assert_eq!(Refund::AUDIT, repo_core::Audit::RequireActor);
}
