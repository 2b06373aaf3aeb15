//! Where a `Db`'s read cache keeps entries, and how it reaches Redis.

use std::sync::Arc;
use std::time::Duration;

use crate::db::DbOptions;

/// Where a `Db`'s read cache keeps entries: set with [`DbOptions::cache`].
#[derive(Debug, Clone)]
pub struct CacheOptions {
    pub(super) tier: Tier,
    pub(super) namespace: String,
    pub(super) redis_timeout: Duration,
}

#[derive(Debug, Clone)]
pub(super) enum Tier {
    InProcess,
    Redis(String),
    InProcessAndRedis(String),
}

impl CacheOptions {
    /// Entries in this process only (moka). Every `Db` of the process connected to one
    /// database shares them. Right for a service that runs as one instance: another process
    /// writing the database is not seen (see the README).
    #[must_use]
    pub fn in_process() -> Self {
        Self::with(Tier::InProcess)
    }

    /// Entries in the Redis at `url` (`redis://127.0.0.1:6379`), shared by every instance of
    /// the service: a read that misses in one instance is served to the others, and a write
    /// in any is seen by all before it returns. Each read costs a Redis round trip.
    #[must_use]
    pub fn redis(url: impl Into<String>) -> Self {
        Self::with(Tier::Redis(url.into()))
    }

    /// Entries in this process in front of the Redis at `url`: hits in the process cost no
    /// round trip; writes in other instances reach this one through a Redis channel (see the
    /// README for the bound), and while the channel is down the process keeps nothing.
    #[must_use]
    pub fn in_process_and_redis(url: impl Into<String>) -> Self {
        Self::with(Tier::InProcessAndRedis(url.into()))
    }

    fn with(tier: Tier) -> Self {
        Self {
            tier,
            namespace: String::new(),
            redis_timeout: Duration::from_millis(250),
        }
    }

    /// A prefix of the Redis keys and channel, to keep services that share a Redis and a
    /// database apart (they share entries otherwise: the keys carry the database's identity).
    #[must_use]
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// How long a Redis call may take (default 250 ms): a slower or failed one sends reads to
    /// the database until Redis answers again.
    #[must_use]
    pub fn redis_timeout(mut self, timeout: Duration) -> Self {
        self.redis_timeout = timeout;
        self
    }
}

impl DbOptions {
    /// Serve reads of `#[repo(cache)]` entities from a cache (see [`crate::cache`]).
    #[must_use]
    pub fn cache(mut self, options: CacheOptions) -> Self {
        self.cache = Some(Arc::new(options));
        self
    }
}
