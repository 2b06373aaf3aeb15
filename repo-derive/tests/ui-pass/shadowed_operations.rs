//! Custom queries named like generic operations shadow them; the generic ones stay reachable
//! in the ways the generated repository's documentation and the README name.
use repo_core::prelude::*;

#[derive(Debug, Clone, Repository)]
#[repo(table = "jobs")]
pub struct Job {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub attempts: i32,
}

impl JobRepository<'_> {
    /// Shadows `Repository::claim`: claims `limit` jobs, counting an attempt.
    pub async fn claim(&self, limit: u64) -> repo_core::Result<Vec<Job>> {
        let mut update = self.update_returning();
        update.set(Job::ATTEMPTS.set(1));
        self.repository().claim(update, limit).await
    }

    /// Shadows `BaseRepository::update`.
    pub async fn update(&self, id: i64, attempts: i32) -> repo_core::Result<Job> {
        BaseRepository::update(self, &Job { id, attempts }).await
    }
}

pub async fn generic_ones(repo: &JobRepository<'_>) -> repo_core::Result<()> {
    let mine: Vec<Job> = repo.claim(5).await?;
    let update = repo.update_returning();
    let generic: Vec<Job> = (**repo).claim(update, 5).await?;
    let _: Job = repo.update(1, 2).await?;
    let _: Job = BaseRepository::update(repo, &Job { id: 1, attempts: 3 }).await?;
    let _: Job = repo.repository().update(&Job { id: 1, attempts: 4 }).await?;
    let _ = (mine, generic);
    Ok(())
}

fn main() {}
