use repo_core::prelude::*;

#[derive(Debug, Clone, Repository)]
#[repo(table = "film_list", read_only, audit, cache)]
struct FilmList {
    #[repo(primary_key, auto)]
    fid: i64,
    #[repo(updated_at)]
    updated_at: DateTime<Utc>,
    #[repo(version)]
    version: i64,
}

fn main() {}
