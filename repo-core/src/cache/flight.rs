//! Single flight: of the reads that miss one entry at once, one reads the database; the others
//! wait for it and then find what it kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::digest::Digest;
use crate::read_cache::TableId;

type Key = (TableId, u8, Digest);

#[derive(Default)]
pub(super) struct Flights {
    under_way: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>,
}

/// The turn of one read of an entry: held while it reads the database and fills.
pub(super) struct Turn {
    flights: Arc<Flights>,
    key: Key,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Flights {
    /// Wait for the turn to read the entry `kind`/`digest` of `table`.
    pub(super) async fn turn(self: &Arc<Self>, table: TableId, kind: u8, digest: Digest) -> Turn {
        let key = (table, kind, digest);
        let lock = Arc::clone(
            self.lock()
                .entry(key.clone())
                .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(()))),
        );
        let guard = lock.lock_owned().await;
        Turn {
            flights: Arc::clone(self),
            key,
            guard: Some(guard),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<tokio::sync::Mutex<()>>>> {
        self.under_way
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.guard.take();
        let mut under_way = self.flights.lock();
        // Nobody waits once the map holds the last reference (waiters clone it under this
        // lock), so the entry can go.
        if under_way
            .get(&self.key)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            under_way.remove(&self.key);
        }
    }
}
