//! A write under way, for the read cache: it tells the cache what the write changed.

use std::sync::Arc;

use crate::read_cache::{ReadCache, Rows, TableId, Written};

use super::Conn;

/// How long after a cancelled write the cache forgets its tables a second time.
const CANCELLED_WRITE_SETTLES: std::time::Duration = std::time::Duration::from_secs(1);

/// A write under way, for the read cache. It tells the cache what the write changed when it
/// ends, even when it failed (a statement whose outcome the caller never learnt may have
/// committed), and every table it may have written when it is dropped before (a cancelled
/// call).
pub(crate) struct WriteGuard<'a> {
    conn: Conn<'a>,
    /// The table the write is for, when one is (a repository's), and its schema.
    table: Option<(Option<&'static str>, &'static str)>,
    /// Whether that table's rows are cached by key (else the keys do not matter).
    cached: bool,
    /// The cached tables the statement's text names, for a statement the framework did not
    /// build.
    named: Vec<TableId>,
    /// `None` once told, or when the `Db` has no cache.
    cache: Option<Arc<dyn ReadCache>>,
}

impl<'a> WriteGuard<'a> {
    /// A write on `conn` to `table` (whose rows are cached by key when `cached`), by a
    /// statement whose text is `sql` when the framework did not build it.
    pub(crate) fn new(
        conn: Conn<'a>,
        table: Option<(Option<&'static str>, &'static str)>,
        cached: bool,
        sql: Option<&str>,
    ) -> Self {
        let cache = conn.settings().cache.clone();
        let mut named = match (&cache, sql) {
            (Some(cache), Some(sql)) => cache.tables_named_in(sql),
            _ => Vec::new(),
        };
        if let Some((_, name)) = table {
            named.retain(|t| &**t != name);
        }
        Self {
            conn,
            table,
            cached,
            named,
            cache,
        }
    }

    /// Whether the cache wants to know which rows the write changed.
    pub(crate) fn wants_keys(&self) -> bool {
        self.cache.is_some() && self.cached
    }

    /// The write ended: it changed `rows` of the table (`None`: any row).
    pub(crate) async fn done(mut self, rows: Option<Rows>) {
        let Some(cache) = self.cache.take() else {
            return;
        };
        let rows = match rows {
            Some(rows) if self.cached => rows,
            _ => Rows::All,
        };
        let written = self.written(rows);
        match self.conn {
            Conn::Db(_) => cache.invalidate(&written).await,
            Conn::Session(session) => session.record_written(written),
        }
    }

    fn written(&mut self, rows: Rows) -> Written {
        let mut written = Written::default();
        if let Some((schema, name)) = self.table {
            written.add(Arc::from(name), schema, rows);
        }
        for table in self.named.drain(..) {
            written.add(table, None, Rows::All);
        }
        written
    }
}

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        let Some(cache) = self.cache.take() else {
            return;
        };
        let written = self.written(Rows::All);
        match self.conn {
            Conn::Session(session) => session.record_written(written),
            // Cancelled while its statement may have committed: the cache forgets the tables
            // from a task of its own, the caller's being gone; and once more a little later,
            // since the server may finish the statement after the caller stopped waiting.
            Conn::Db(_) => {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    runtime.spawn(async move {
                        cache.invalidate(&written).await;
                        tokio::time::sleep(CANCELLED_WRITE_SETTLES).await;
                        cache.invalidate(&written).await;
                    });
                }
            }
        }
    }
}
