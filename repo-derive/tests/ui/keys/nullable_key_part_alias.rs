use repo_core::prelude::*;

// The derive cannot see through an alias: the key's trait bounds report it.
type MaybeTrack = Option<i64>;

#[derive(Repository)]
#[repo(table = "links")]
struct Link {
    #[repo(primary_key)]
    playlist_id: i64,
    #[repo(primary_key)]
    track_id: MaybeTrack,
}

fn main() {}
