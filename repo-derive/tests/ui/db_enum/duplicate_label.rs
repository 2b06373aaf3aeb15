use repo_core::prelude::*;

#[derive(DbEnum)]
enum Status {
    Active,
    #[repo(rename = "active")]
    Live,
}

fn main() {}
