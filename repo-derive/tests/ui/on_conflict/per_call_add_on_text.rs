use repo_core::prelude::*;

#[derive(Debug, Clone, Repository)]
#[repo(table = "tallies")]
pub struct Tally {
    #[repo(primary_key)]
    pub id: i64,
    pub note: String,
}

pub fn check() -> Conflict<Tally> {
    Conflict::new().add(Tally::NOTE)
}

fn main() {}
