use repo_core::prelude::*;

#[derive(Repository)]
#[repo(table = "cells")]
struct Cell {
    #[repo(primary_key)]
    a: i64,
    #[repo(primary_key)]
    b: i64,
    #[repo(primary_key)]
    c: i64,
    #[repo(primary_key)]
    d: i64,
    #[repo(primary_key)]
    e: i64,
}

fn main() {}
