//! A read cache that knows the framework's writes: entities declared `#[repo(cache)]` have
//! their rows by key and the results of their reads kept in the process (moka), in Redis
//! shared by every instance of a service, or in both; every write through the framework
//! makes what it changed unservable before it returns. See the README section "A read cache"
//! for the consistency rules and their bounds.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> repo_core::Result<()> {
//! use repo_core::prelude::*;
//! use repo_core::cache::CacheOptions;
//!
//! #[derive(Debug, Clone, PartialEq, Repository)]
//! #[repo(table = "countries", cache(capacity = 1_000, ttl_secs = 600))]
//! pub struct Country {
//!     #[repo(primary_key)]
//!     pub code: String,
//!     pub name: String,
//! }
//!
//! let db = Db::connect_with("sqlite::memory:", DbOptions::new().cache(CacheOptions::in_process()))
//!     .await?;
//! db.create_schema::<Country>().await?;
//! let countries = CountryRepository::new(&db);
//! countries.insert(&Country { code: "FR".into(), name: "France".into() }).await?;
//! countries.get("FR".to_owned()).await?; // read from the database, kept
//! countries.get("FR".to_owned()).await?; // served from the cache
//! assert_eq!(db.cache().stats().await.local_hits, 1);
//! countries.update(&Country { code: "FR".into(), name: "République française".into() }).await?;
//! assert_eq!(countries.get("FR".to_owned()).await?.name, "République française");
//! # Ok(()) }
//! ```

mod channel;
mod digest;
mod flight;
mod local;
mod options;
mod shared;
mod tables;

use std::any::Any;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use self::digest::Digest;
use self::flight::{Flights, Turn};
use self::local::{Local, LocalKey, LocalTable, QUERY};
pub use self::options::CacheOptions;
use self::options::Tier;
use self::shared::{Found, Shared};
use self::tables::Tables;
use crate::db::{CacheSetup, Db};
use crate::entity::Entity;
use crate::error::{Error, Result};
use crate::read_cache::{
    BoxFuture, CachedTable, Entry, Filler, Lookup, ReadCache, ReadKey, Rows, TableId, Written,
};

impl CacheSetup for CacheOptions {
    fn build(&self, identity: String) -> BoxFuture<'_, Result<Arc<dyn ReadCache>>> {
        Box::pin(async move {
            let cache: Arc<dyn ReadCache> = match self.tier {
                Tier::InProcess => in_process(self, &identity)?,
                _ => Arc::new(Tiered::new(self, &identity)?),
            };
            Ok(cache)
        })
    }
}

/// In-process caches by database identity: every `Db` of the process on one database shares
/// one, so each sees the others' writes.
static IN_PROCESS: Mutex<Option<HashMap<String, Weak<Tiered>>>> = Mutex::new(None);

/// The in-process cache of the database `identity` names, made on first use.
fn in_process(options: &CacheOptions, identity: &str) -> Result<Arc<Tiered>> {
    let mut caches = IN_PROCESS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let caches = caches.get_or_insert_with(HashMap::new);
    caches.retain(|_, cache| cache.strong_count() > 0);
    if let Some(cache) = caches.get(identity).and_then(Weak::upgrade) {
        return Ok(cache);
    }
    let cache = Arc::new(Tiered::new(options, identity)?);
    caches.insert(identity.to_owned(), Arc::downgrade(&cache));
    Ok(cache)
}

/// What a cache did, counted since the `Db` connected ([`CacheControl::stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// Reads served from the process.
    pub local_hits: u64,
    /// Reads served from Redis.
    pub redis_hits: u64,
    /// Reads that found no entry and read the database.
    pub misses: u64,
    /// Reads sent to the database without looking, while Redis was down.
    pub bypassed: u64,
    /// Writes (or units of work) that told the cache what they changed.
    pub invalidations: u64,
    /// Rows kept in the process now (rows by key and rows of results; a count is one).
    pub local_rows: u64,
}

#[derive(Default)]
struct Counters {
    local_hits: AtomicU64,
    redis_hits: AtomicU64,
    misses: AtomicU64,
    bypassed: AtomicU64,
    invalidations: AtomicU64,
}

fn count(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// The cache of one database: either tier or both.
struct Tiered {
    local: Option<Arc<Local>>,
    shared: Option<Arc<Shared>>,
    tables: Tables,
    flights: Arc<Flights>,
    counters: Counters,
    /// Listens to the channel of writes, for the in-process tier in front of Redis.
    listener: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for Tiered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("in_process", &self.local.is_some())
            .field("redis", &self.shared.is_some())
            .finish_non_exhaustive()
    }
}

impl Drop for Tiered {
    fn drop(&mut self) {
        if let Some(listener) = &self.listener {
            listener.abort();
        }
    }
}

impl Tiered {
    fn new(options: &CacheOptions, identity: &str) -> Result<Self> {
        let namespace = {
            use sha2::Digest as _;
            let id = sha2::Sha256::digest(identity.as_bytes());
            let id = id[..8].iter().fold(String::new(), |mut out, b| {
                use std::fmt::Write as _;
                let _ = write!(out, "{b:02x}");
                out
            });
            format!("repo:1:{}:{id}", options.namespace)
        };
        let shared = |url: &str| {
            Shared::new(url, namespace.clone(), options.redis_timeout)
                .map(Arc::new)
                .map_err(|e| Error::validation("cache", format!("bad Redis URL `{url}`: {e}")))
        };
        let (local, shared) = match &options.tier {
            Tier::InProcess => (Some(Arc::new(Local::default())), None),
            Tier::Redis(url) => (None, Some(shared(url)?)),
            Tier::InProcessAndRedis(url) => (Some(Arc::new(Local::off())), Some(shared(url)?)),
        };
        let listener = match (&local, &shared) {
            (Some(local), Some(shared)) => {
                let (local, shared) = (Arc::clone(local), Arc::clone(shared));
                Some(tokio::spawn(channel::listen(shared, local)))
            }
            _ => None,
        };
        Ok(Self {
            local,
            shared,
            tables: Tables::default(),
            flights: Arc::default(),
            counters: Counters::default(),
            listener,
        })
    }

    fn stats(&self) -> CacheStats {
        let c = &self.counters;
        CacheStats {
            local_hits: c.local_hits.load(Ordering::Relaxed),
            redis_hits: c.redis_hits.load(Ordering::Relaxed),
            misses: c.misses.load(Ordering::Relaxed),
            bypassed: c.bypassed.load(Ordering::Relaxed),
            invalidations: c.invalidations.load(Ordering::Relaxed),
            local_rows: self.local.as_ref().map_or(0, |l| l.weight()),
        }
    }

    /// The in-process table of `table` when that tier serves now, with the key of the read
    /// and the generation seen.
    fn local_key(&self, table: &CachedTable, kind: u8, digest: Digest) -> Option<LocalRead> {
        let local = self.local.as_ref().filter(|l| l.is_on())?;
        let table = local.table(table);
        let (key, seen) = table.key(kind, digest);
        Some(LocalRead { table, key, seen })
    }

    async fn lookup_entry(&self, table: &CachedTable, key: ReadKey<'_>) -> Lookup {
        let qualified = table.qualified();
        let (kind, digest) = match key {
            ReadKey::Row { view, key } => (view, digest::row(&qualified, key)),
            ReadKey::Query { sql, values } => (QUERY, digest::query(&qualified, sql, values)),
        };
        if let Some(found) = self.local_key(table, kind, digest)
            && let Some(entry) = found.table.get(&found.key).await
        {
            count(&self.counters.local_hits);
            return Lookup::Hit(entry);
        }
        if self.shared.as_ref().is_some_and(|s| !s.is_up()) {
            count(&self.counters.bypassed);
            return Lookup::Bypass;
        }
        let turn = self.flights.turn(table.id(), kind, digest).await;
        // Stamps are read before anything is asked, so a write after this read is seen.
        let local = self.local_key(table, kind, digest);
        if let Some(found) = &local
            && let Some(entry) = found.table.get(&found.key).await
        {
            count(&self.counters.local_hits);
            return Lookup::Hit(entry);
        }
        let mut fill = Fill {
            turn,
            local,
            shared: None,
            ttl: Duration::from_secs(table.policy.ttl_secs),
        };
        if let Some(shared) = &self.shared {
            let redis_kind = if kind == QUERY {
                "q".to_owned()
            } else {
                kind.to_string()
            };
            match shared.read(table.name, &redis_kind, digest).await {
                Ok(Found::Hit(entry)) => {
                    count(&self.counters.redis_hits);
                    let entry = Arc::new(entry);
                    if let Some(local) = fill.local.take() {
                        local
                            .table
                            .fill(local.key, Arc::clone(&entry), local.seen)
                            .await;
                    }
                    return Lookup::Hit(entry);
                }
                Ok(Found::Miss { generation, key }) => {
                    fill.shared = Some(SharedFill {
                        shared: Arc::clone(shared),
                        table: table.name,
                        generation,
                        key,
                    });
                }
                Err(shared::Down) => {
                    shared.went_down(None);
                    count(&self.counters.bypassed);
                    return Lookup::Bypass;
                }
            }
        }
        count(&self.counters.misses);
        Lookup::Miss(Box::new(fill))
    }

    async fn invalidate_written(&self, written: &Written, new_era: bool) {
        count(&self.counters.invalidations);
        let written = self.tables.with_cascades(written);
        let digests: Vec<Vec<Digest>> = written
            .tables
            .iter()
            .map(|write| match &write.rows {
                Rows::Keys(keys) => {
                    let qualified = crate::read_cache::qualified(write.schema, &write.table);
                    keys.iter()
                        .map(|key| digest::row(&qualified, key))
                        .collect()
                }
                Rows::All => Vec::new(),
            })
            .collect();
        // Redis first: a read in this process that misses after the local bump must not find
        // the old entry in Redis.
        if let Some(shared) = &self.shared {
            let told =
                shared.is_up() && shared.invalidate(&written, &digests, new_era).await.is_ok();
            if !told {
                shared.went_down(Some(&written));
            }
        }
        if let Some(local) = &self.local {
            for (write, digests) in written.tables.iter().zip(&digests) {
                local
                    .invalidate(&write.table, matches!(write.rows, Rows::All), digests)
                    .await;
            }
            if new_era {
                local.clear();
            }
        }
    }
}

/// A read's place in the in-process tier.
struct LocalRead {
    table: Arc<LocalTable>,
    key: LocalKey,
    seen: u64,
}

/// A read's place in Redis.
struct SharedFill {
    shared: Arc<Shared>,
    table: &'static str,
    generation: String,
    key: String,
}

/// What fills the entry a read missed, in each tier, once the database answered.
struct Fill {
    /// The read's turn: other reads of the entry wait until this is dropped.
    turn: Turn,
    local: Option<LocalRead>,
    shared: Option<SharedFill>,
    ttl: Duration,
}

impl Filler for Fill {
    fn fill(self: Box<Self>, entry: Entry) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let Fill {
                turn,
                local,
                shared,
                ttl,
            } = *self;
            if let Some(target) = shared
                && target
                    .shared
                    .fill(target.table, &target.generation, &target.key, &entry, ttl)
                    .await
                    .is_err()
            {
                target.shared.went_down(None);
            }
            if let Some(local) = local {
                local
                    .table
                    .fill(local.key, Arc::new(entry), local.seen)
                    .await;
            }
            drop(turn);
        })
    }
}

impl ReadCache for Tiered {
    fn knows(&self, table: &CachedTable) -> bool {
        self.tables.knows(table)
    }

    fn register(&self, table: CachedTable, parents: Vec<TableId>) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            if let Some(shared) = &self.shared
                && shared.register(table.name, &parents).await.is_err()
            {
                // Unknown until Redis knows its cascades too: reads of it go to the database.
                return;
            }
            self.tables.learn(table, &parents);
        })
    }

    fn lookup<'a>(&'a self, table: &'a CachedTable, key: ReadKey<'a>) -> BoxFuture<'a, Lookup> {
        Box::pin(self.lookup_entry(table, key))
    }

    fn invalidate<'a>(&'a self, written: &'a Written) -> BoxFuture<'a, ()> {
        Box::pin(self.invalidate_written(written, false))
    }

    fn tables_named_in(&self, sql: &str) -> Vec<TableId> {
        self.tables.named_in(sql)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// A `Db`'s read cache, to tell it of writes made outside the framework and to see what it
/// does: from [`Db::cache`].
#[derive(Debug, Clone, Copy)]
pub struct CacheControl<'a> {
    cache: Option<&'a Tiered>,
}

impl Db {
    /// This `Db`'s read cache (one that does nothing when the `Db` has none).
    #[must_use]
    pub fn cache(&self) -> CacheControl<'_> {
        CacheControl {
            cache: self
                .settings
                .cache
                .as_deref()
                .and_then(|cache| cache.as_any().downcast_ref::<Tiered>()),
        }
    }
}

impl CacheControl<'_> {
    /// Whether the `Db` has a cache.
    #[must_use]
    pub fn is_on(&self) -> bool {
        self.cache.is_some()
    }

    /// Forget every cached read of `E`'s table, here and in every instance sharing the cache:
    /// after writing it outside the framework (plain SQL, another service).
    pub async fn invalidate<E: Entity>(&self) {
        self.invalidate_table(E::TABLE).await;
    }

    /// Forget every cached read of the table named `table`, and of the tables a cascade from
    /// it may change.
    pub async fn invalidate_table(&self, table: &str) {
        if let Some(cache) = self.cache {
            let mut written = Written::default();
            written.add(Arc::from(table), None, Rows::All);
            cache.invalidate_written(&written, false).await;
        }
    }

    /// Forget every cached read of the database, here and in every instance sharing it.
    pub async fn invalidate_all(&self) {
        if let Some(cache) = self.cache {
            cache.invalidate_written(&Written::default(), true).await;
        }
    }

    /// What the cache did since the `Db` connected, and what it holds now.
    pub async fn stats(&self) -> CacheStats {
        match self.cache {
            Some(cache) => {
                if let Some(local) = &cache.local {
                    local.settle().await;
                }
                cache.stats()
            }
            None => CacheStats::default(),
        }
    }
}
