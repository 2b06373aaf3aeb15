use repo_core::prelude::*;

#[derive(Debug, Clone, Repository)]
#[repo(table = "widgets")]
pub struct Widget {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub name: String,
}

fn only_widgets(_: Filter<Widget>) {}

fn check() {
    only_widgets(Widget::NAME.eq(5));
}

fn main() {}
