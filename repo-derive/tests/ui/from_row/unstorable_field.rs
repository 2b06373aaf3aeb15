use repo_core::prelude::*;

#[derive(FromRow)]
pub struct Stats {
    pub count: u64,
}

fn main() {}
