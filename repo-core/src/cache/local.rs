//! The in-process tier: a moka cache per table, and the table's two stamps. The generation
//! changes with every write to the table; the epoch with every write whose rows are not known
//! by key. A cached query is keyed by the generation it was read at, a cached row by the
//! epoch, so one bump makes every older entry unreachable; a row written by key is removed
//! by key. A read keeps what it found only while the generation is the one it saw before it
//! asked, so a read that raced a write never puts the older rows back.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use moka::ops::compute::Op;

use super::digest::Digest;
use crate::read_cache::{CachedTable, Entry, TableId};

/// What an entry of a table is: a row in a view (0 live, 1 all, 2 deleted), or a query.
pub(super) const QUERY: u8 = 3;

/// The key of an entry in a table's moka cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct LocalKey {
    pub(super) kind: u8,
    /// The epoch of a row, the generation of a query.
    pub(super) stamp: u64,
    pub(super) digest: Digest,
}

/// One table's entries and stamps.
pub(super) struct LocalTable {
    generation: AtomicU64,
    epoch: AtomicU64,
    entries: moka::future::Cache<LocalKey, Arc<Entry>>,
}

impl LocalTable {
    fn new(table: &CachedTable) -> Self {
        let start = start_stamp();
        Self {
            generation: AtomicU64::new(start),
            epoch: AtomicU64::new(start),
            entries: moka::future::Cache::builder()
                .max_capacity(table.policy.capacity)
                // Weighed in rows, as the capacity counts them (a count weighs one).
                .weigher(|_, entry: &Arc<Entry>| match &**entry {
                    Entry::Rows(rows) => u32::try_from(rows.len().max(1)).unwrap_or(u32::MAX),
                    Entry::Count(_) => 1,
                    Entry::Json(text) => u32::try_from(text.len() / 256 + 1).unwrap_or(u32::MAX),
                })
                .time_to_live(Duration::from_secs(table.policy.ttl_secs))
                .build(),
        }
    }

    /// The key of the entry `kind`/`digest` names, at the current stamps; and the generation
    /// a fill must still find.
    pub(super) fn key(&self, kind: u8, digest: Digest) -> (LocalKey, u64) {
        let generation = self.generation.load(Ordering::SeqCst);
        let stamp = if kind == QUERY {
            generation
        } else {
            self.epoch.load(Ordering::SeqCst)
        };
        (
            LocalKey {
                kind,
                stamp,
                digest,
            },
            generation,
        )
    }

    pub(super) async fn get(&self, key: &LocalKey) -> Option<Arc<Entry>> {
        self.entries.get(key).await
    }

    /// Keep `entry` under `key` if no write came since the generation `seen` was read; under
    /// the key's lock, which a removal by key takes too. A write looks for the key without
    /// that lock ([`invalidate`](LocalTable::invalidate)) and may miss an entry put at that
    /// moment: then this sees the write's generation once the entry is in (both sides order
    /// their store before their load with a fence), and takes the entry out again.
    pub(super) async fn fill(&self, key: LocalKey, entry: Arc<Entry>, seen: u64) {
        self.entries
            .entry(key)
            .and_compute_with(|_| async {
                if self.generation.load(Ordering::SeqCst) == seen {
                    Op::Put(entry)
                } else {
                    Op::Nop
                }
            })
            .await;
        fence(Ordering::SeqCst);
        if self.generation.load(Ordering::SeqCst) != seen {
            self.remove(key).await;
        }
    }

    async fn remove(&self, key: LocalKey) {
        self.entries
            .entry(key)
            .and_compute_with(|_| async { Op::<Arc<Entry>>::Remove })
            .await;
    }

    /// Forget what a write of `rows` changed.
    async fn invalidate(&self, rows: &[Digest], all: bool) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if all {
            self.epoch.fetch_add(1, Ordering::SeqCst);
            return;
        }
        // See `fill`: the generation is bumped before any key is looked for.
        fence(Ordering::SeqCst);
        let epoch = self.epoch.load(Ordering::SeqCst);
        for &digest in rows {
            for kind in 0..QUERY {
                let key = LocalKey {
                    kind,
                    stamp: epoch,
                    digest,
                };
                // Most written rows are not cached: a look costs far less than a removal
                // under the key's lock.
                if self.entries.contains_key(&key) {
                    self.remove(key).await;
                }
            }
        }
    }

    /// Forget everything.
    fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.entries.invalidate_all();
    }

    /// Rows held, as weighed.
    pub(super) fn weight(&self) -> u64 {
        self.entries.weighted_size()
    }
}

/// A stamp nothing cached before started from: a fill from an earlier life of a table (by
/// another `Db` sharing the tier) never matches.
fn start_stamp() -> u64 {
    let mut bytes = [0u8; 8];
    let _ = getrandom::fill(&mut bytes);
    u64::from_le_bytes(bytes) >> 1
}

/// The in-process tier of one database.
#[derive(Default)]
pub(super) struct Local {
    tables: RwLock<HashMap<TableId, Arc<LocalTable>>>,
    /// Off while the tier cannot hear other instances' writes (Redis's channel is down).
    off: AtomicBool,
}

impl Local {
    /// A tier that is off until [`turn_on`](Local::turn_on).
    pub(super) fn off() -> Self {
        Self {
            tables: RwLock::default(),
            off: AtomicBool::new(true),
        }
    }

    pub(super) fn is_on(&self) -> bool {
        !self.off.load(Ordering::SeqCst)
    }

    /// Forget everything, then serve again.
    pub(super) fn turn_on(&self) {
        self.clear();
        self.off.store(false, Ordering::SeqCst);
    }

    /// Stop serving and forget everything.
    pub(super) fn turn_off(&self) {
        self.off.store(true, Ordering::SeqCst);
        self.clear();
    }

    /// `table`'s entries, made on first use.
    pub(super) fn table(&self, table: &CachedTable) -> Arc<LocalTable> {
        if let Some(found) = self.read().get(table.name) {
            return Arc::clone(found);
        }
        let mut tables = self
            .tables
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(
            tables
                .entry(table.id())
                .or_insert_with(|| Arc::new(LocalTable::new(table))),
        )
    }

    /// Forget what a write to `table` changed: any row when `all`, else the rows `digests`
    /// name.
    pub(super) async fn invalidate(&self, table: &str, all: bool, digests: &[Digest]) {
        let Some(found) = self.read().get(table).cloned() else {
            return;
        };
        found.invalidate(digests, all).await;
    }

    /// Forget everything.
    pub(super) fn clear(&self) {
        for table in self.read().values() {
            table.clear();
        }
    }

    /// Apply what moka left pending (evictions, weights), so the weight is current.
    pub(super) async fn settle(&self) {
        let tables: Vec<Arc<LocalTable>> = self.read().values().cloned().collect();
        for table in tables {
            table.entries.run_pending_tasks().await;
        }
    }

    /// Rows held in all, as weighed.
    pub(super) fn weight(&self) -> u64 {
        self.read().values().map(|t| t.weight()).sum()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<TableId, Arc<LocalTable>>> {
        self.tables
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
