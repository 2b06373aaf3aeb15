use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "links")]
struct Link {
    #[repo(primary_key)]
    playlist_id: i64,
    #[repo(primary_key)]
    track_id: Option<i64>,
}

fn main() {}
