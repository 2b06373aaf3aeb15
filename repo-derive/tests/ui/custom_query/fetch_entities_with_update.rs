use repo_core::prelude::*;

#[derive(Debug, Clone, Repository)]
#[repo(table = "jobs")]
pub struct Job {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub attempts: i32,
}

// An update that returns rows runs with `fetch_updated`, not `fetch_entities`.
pub async fn retry_all(repo: &JobRepository<'_>) -> repo_core::Result<Vec<Job>> {
    let mut update = repo.update_returning();
    update.value(Job::ATTEMPTS.name(), Job::ATTEMPTS.expr().add(1));
    repo.fetch_entities(&update).await
}

fn main() {}
