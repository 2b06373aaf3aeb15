use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "film_list", read_only)]
struct FilmListing {
    #[repo(renamed_from = "name")]
    title: String,
}

fn main() {}
