use repo_core::prelude::*;
use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, DbEnum)]
pub enum Status {
    Active,
    Retired,
}

#[derive(Debug, Deserialize)]
pub struct Meta {
    pub source: String,
}

#[derive(Debug, FromRow)]
pub struct Stats<K: repo_core::DbField + Unpin> {
    pub key: K,
    pub status: Option<Status>,
    #[repo(column = "n")]
    pub count: i64,
    #[repo(json)]
    pub meta: Option<Meta>,
    pub r#type: String,
}

fn main() {
    fn rows<R: FromDbRow>() {}
    rows::<Stats<String>>();
    rows::<(Status, i64)>();
}
