use repo_core::prelude::*;

#[derive(Debug, Clone, Repository)]
#[repo(table = "tallies")]
pub struct Tally {
    #[repo(primary_key)]
    pub id: i64,
    pub hits: i64,
}

#[derive(Debug, Clone, Repository)]
#[repo(table = "visits")]
pub struct Visit {
    #[repo(primary_key)]
    pub id: i64,
    pub hits: i64,
}

pub async fn check(repo: &TallyRepository<'_>, rows: &[Tally]) -> repo_core::Result<u64> {
    repo.bulk_upsert_with(rows, Conflict::new().add(Visit::HITS)).await
}

fn main() {}
