use repo_core::prelude::*;

#[derive(FromRow)]
pub struct Stats {
    pub count: u16,
}

fn main() {}
