use repo_core::prelude::*;

// A crate's own input type, older than the entity's derive: one error, naming the fixes.
#[derive(Debug, Clone, PartialEq)]
pub struct NewApiError {
    pub message: String,
}

#[derive(Debug, Clone, Repository)]
#[repo(table = "api_errors")]
pub struct ApiError {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub message: String,
    pub status: i32,
}

pub fn report(error: NewApiError) -> String {
    error.message
}

fn main() {}
