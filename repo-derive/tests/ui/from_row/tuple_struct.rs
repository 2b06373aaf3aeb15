use repo_core::prelude::*;

#[derive(FromRow)]
pub struct Stats(i64, i64);

fn main() {}
