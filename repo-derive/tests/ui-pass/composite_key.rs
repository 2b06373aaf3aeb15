use repo_core::prelude::*;

/// A link keyed by two columns: `get`, `delete` and `find_by_id` take the pair.
#[derive(Debug, Clone, Repository)]
#[repo(table = "links")]
struct Link {
    #[repo(primary_key)]
    playlist_id: i64,
    #[repo(primary_key)]
    track_id: String,
    slot: i32,
}

fn main() {
    let link = Link {
        playlist_id: 1,
        track_id: "t".into(),
        slot: 0,
    };
    let key: (i64, String) = link.id();
    assert_eq!(key, (1, "t".to_owned()));
    assert_eq!(<Link as Entity>::PRIMARY_KEY, ["playlist_id", "track_id"]);
    let _ = link.slot;
    let _ = |repo: LinkRepository<'static>| async move {
        let _ = repo.get((1_i64, "t".to_owned())).await;
        let _ = repo.delete((1_i64, "t".to_owned())).await;
    };
}
