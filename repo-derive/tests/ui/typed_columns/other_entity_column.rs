use repo_core::prelude::*;

#[derive(Debug, Clone, Repository)]
#[repo(table = "widgets")]
pub struct Widget {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Repository)]
#[repo(table = "gadgets")]
pub struct Gadget {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub name: String,
}

pub fn check() -> Filter<Widget> {
    let f: Filter<Widget> = Gadget::NAME.eq("x");
    f
}

fn main() {}
