//! The `actor_info` view.

use repo_core::prelude::*;

/// A row of `actor_info`.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "actor_info")]
#[repo(read_only)]
pub struct ActorInfo {
    pub actor_id: u32,
    pub first_name: String,
    pub last_name: String,
    pub film_info: Option<String>,
}
