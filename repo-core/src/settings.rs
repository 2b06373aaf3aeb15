//! What a `Db` and every session and repository on it share besides the pool: the key
//! cursors are sealed with, how units of work are retried, what was learnt about tables.

use std::sync::Arc;

use crate::cursor::CursorKey;
use crate::error::{Error, Result};
use crate::read_cache::ReadCache;
use crate::retry::RetryPolicy;

/// What every repository of one [`Db`](crate::Db) shares besides the pool.
pub(crate) struct Settings {
    /// The key keyset cursors are sealed with.
    pub(crate) cursor_key: CursorKey,
    /// How `Db::transaction` retries.
    pub(crate) retry: RetryPolicy,
    /// What was learnt about each entity's table on this database, kept for the `Db`'s life.
    pub(crate) tables: TableFacts,
    /// The read cache, when the `Db` has one.
    pub(crate) cache: Option<Arc<dyn ReadCache>>,
    /// What statements tell tracing and metrics.
    pub(crate) telemetry: crate::telemetry::Telemetry,
}

/// Facts about entities' tables on one database, each found once (by a catalog read) and kept,
/// by the entity's type and the kind of fact.
#[derive(Default)]
pub(crate) struct TableFacts {
    facts: std::sync::RwLock<
        std::collections::HashMap<
            (std::any::TypeId, std::any::TypeId),
            Arc<dyn std::any::Any + Send + Sync>,
        >,
    >,
}

impl TableFacts {
    /// The fact of type `F` about entity `E`'s table, if it was found already.
    pub(crate) fn get<E: 'static, F: Send + Sync + 'static>(&self) -> Option<Arc<F>> {
        let facts = self
            .facts
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let fact = facts.get(&(std::any::TypeId::of::<E>(), std::any::TypeId::of::<F>()))?;
        Arc::clone(fact).downcast::<F>().ok()
    }

    /// Forget every fact about entity `E`'s table (it was created or dropped).
    pub(crate) fn forget<E: 'static>(&self) {
        self.facts
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|(entity, _), _| *entity != std::any::TypeId::of::<E>());
    }

    /// Keep `fact` about entity `E`'s table.
    pub(crate) fn insert<E: 'static, F: Send + Sync + 'static>(&self, fact: Arc<F>) {
        self.facts
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                (std::any::TypeId::of::<E>(), std::any::TypeId::of::<F>()),
                fact,
            );
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings").finish_non_exhaustive()
    }
}

/// Shortest cursor key accepted: the sealing key derived from it has no more secret than it.
const MIN_CURSOR_KEY: usize = 16;

impl Settings {
    /// The settings of a new `Db`: cursors sealed with a key derived from `cursor_key` (a
    /// random one when `None`), units of work retried as `retry` says.
    pub(crate) fn new(
        cursor_key: Option<&[u8]>,
        retry: RetryPolicy,
        cache: Option<Arc<dyn ReadCache>>,
        telemetry: crate::telemetry::Telemetry,
    ) -> Result<Self> {
        let cursor_key = match cursor_key {
            Some(key) if key.len() < MIN_CURSOR_KEY => {
                return Err(Error::validation(
                    "cursor_key",
                    format!(
                        "a cursor key needs at least {MIN_CURSOR_KEY} bytes, got {}",
                        key.len()
                    ),
                ));
            }
            Some(key) => CursorKey::derive(key),
            None => {
                let mut key = [0; 32];
                getrandom::fill(&mut key).map_err(|e| {
                    Error::validation("cursor_key", format!("no random key available: {e}"))
                })?;
                CursorKey::derive(&key)
            }
        };
        Ok(Self {
            cursor_key,
            retry,
            tables: TableFacts::default(),
            cache,
            telemetry,
        })
    }
}
