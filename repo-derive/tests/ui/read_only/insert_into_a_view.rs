use repo_core::prelude::*;

#[derive(Debug, Clone, Repository)]
#[repo(table = "film_list", read_only)]
struct FilmList {
    title: Option<String>,
    category: Option<String>,
}

async fn insert(db: &Db, row: &FilmList) -> repo_core::Result<FilmList> {
    FilmListRepository::new(db).insert(row).await
}

fn main() {
    let _ = insert;
}
