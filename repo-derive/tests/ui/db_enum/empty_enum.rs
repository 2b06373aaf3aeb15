use repo_core::prelude::*;

#[derive(DbEnum)]
enum Status {}

fn main() {}
