//! The `actor_info` view.

use repo_core::prelude::*;

/// A row of `actor_info`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "actor_info")]
#[repo(read_only)]
pub struct ActorInfo {
    pub actor_id: Option<i32>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub film_info: Option<String>,
}
