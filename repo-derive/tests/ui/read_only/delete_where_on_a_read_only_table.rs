use repo_core::prelude::*;

#[derive(Debug, Clone, Repository)]
#[repo(table = "rates", read_only)]
struct Rate {
    #[repo(primary_key)]
    code: String,
    value: f64,
}

async fn purge(db: &Db) -> repo_core::Result<u64> {
    BaseRepository::delete_where(&RateRepository::new(db), Rate::VALUE.lt(0.0)).await
}

fn main() {
    let _ = purge;
}
