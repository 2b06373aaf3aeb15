//! The repository's side of the read cache: reads of a `#[repo(cache)]` entity looked up
//! before the database is asked, and every write telling the cache which rows it changed, once
//! they are committed (or may be).
//!

use std::future::Future;
use std::sync::Arc;

use super::Repository;
use crate::entity::Entity;
use crate::error::Result;
use crate::exec::WriteGuard;
use crate::exec::{Conn, RunnableStatement};
use crate::from_row::FromDbRow;
use crate::read_cache::{CachedTable, Entry, Lookup, ReadCache, ReadKey};

/// An entity whose rows the cache cannot hold: a field does not read back from its value
/// ([`DbField::from_value`](crate::DbField::from_value)). Kept per `Db` once found.
struct Uncacheable;

impl<'a, E: Entity> Repository<'a, E> {
    /// The cache reads of `E` go through here, if any: `E` is declared `#[repo(cache)]`, the
    /// `Db` has a cache, and here reads see what the cache holds (not inside a write's own
    /// unit, nor in a session that wrote the table or reads a snapshot).
    async fn read_cache(&self) -> Option<(&'a dyn ReadCache, CachedTable)> {
        let table = CachedTable::of::<E>()?;
        let settings = self.conn.settings();
        let cache = settings.cache.as_deref()?;
        if self.undone_whole || settings.tables.get::<E, Uncacheable>().is_some() {
            return None;
        }
        if let Conn::Session(session) = self.conn
            && !session.reads_cache(table.name)
        {
            return None;
        }
        if !cache.knows(&table) {
            // Learnt on the pool: a session may hold the only connection of an in-memory
            // database, and reads through the cache only once a pool read did so.
            let Conn::Db(db) = self.conn else {
                return None;
            };
            match db.pool.cascading_parents(E::SCHEMA, E::TABLE).await {
                Ok(parents) => {
                    let parents = parents.into_iter().map(Arc::from).collect();
                    cache.register(table, parents).await;
                }
                Err(error) => {
                    tracing::debug!(entity = E::NAME, %error, "foreign keys not read: not cached");
                    return None;
                }
            }
        }
        Some((cache, table))
    }

    /// `load`'s answer to the read `key`, from the cache when it holds one; `load` fills it.
    pub(crate) async fn read_through<T, F>(
        &self,
        key: ReadKey<'_>,
        load: impl FnOnce() -> F,
        entry_of: impl FnOnce(&T) -> Option<Entry>,
        from_entry: impl FnOnce(&Entry) -> Option<T>,
    ) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        let Some((cache, table)) = self.read_cache().await else {
            return load().await;
        };
        let lookup = cache.lookup(&table, key).await;
        self.record_lookup(match &lookup {
            Lookup::Hit(_) => "hit",
            Lookup::Bypass => "bypass",
            Lookup::Miss(_) => "miss",
        });
        match lookup {
            Lookup::Hit(entry) => {
                if let Some(value) = from_entry(&entry) {
                    return Ok(value);
                }
                self.not_cacheable();
                load().await
            }
            Lookup::Bypass => load().await,
            Lookup::Miss(filler) => {
                // From the primary: a replica may not have replayed the writes that emptied
                // the entry.
                let value = crate::db::on_primary_only(load()).await?;
                if let Some(entry) = entry_of(&value) {
                    if Self::reads_back(&entry) {
                        filler.fill(entry).await;
                    } else {
                        self.not_cacheable();
                    }
                }
                Ok(value)
            }
        }
    }

    /// Say how the cache answered: on the call's span (`repo.cache`) and, with metrics, in
    /// the counter `repo.cache.lookups` by table and `repo.cache.result`.
    fn record_lookup(&self, result: &'static str) {
        tracing::Span::current().record(crate::telemetry::names::REPO_CACHE, result);
        if self.conn.settings().telemetry.metrics {
            metrics::counter!(
                crate::telemetry::names::REPO_CACHE_LOOKUPS,
                crate::telemetry::names::DB_COLLECTION_NAME => E::TABLE,
                crate::telemetry::names::REPO_CACHE_RESULT => result,
            )
            .increment(1);
        }
    }

    /// Whether the first row of `entry` reads back as the entity it was made of.
    fn reads_back(entry: &Entry) -> bool {
        match entry {
            Entry::Rows(rows) => rows.first().is_none_or(|row| E::from_values(row).is_some()),
            Entry::Count(_) | Entry::Json(_) => true,
        }
    }

    /// [`fetch_rows`](Repository::fetch_rows) of a query that reads this repository's table
    /// alone (an aggregate, a projection: a statistics page), its rows kept in the read cache
    /// with the table's other reads, and forgotten with them by any write to the table.
    ///
    /// The cache cannot see which tables a query reads: one that also reads another table
    /// would not be forgotten when that table is written, so such a query must use
    /// [`fetch_rows`](Repository::fetch_rows). A query naming another cached table, or one
    /// that writes, reads the database every time. Without a cache, or on an entity not
    /// declared `#[repo(cache)]`, this is `fetch_rows`.
    pub async fn fetch_rows_cached<R>(&self, statement: &dyn RunnableStatement) -> Result<Vec<R>>
    where
        R: FromDbRow + serde::Serialize + serde::de::DeserializeOwned,
    {
        let statement = self.statement(statement);
        let cache = self.conn.settings().cache.as_deref();
        let alone = cache.is_some_and(|cache| {
            cache
                .tables_named_in(statement.sql())
                .iter()
                .all(|table| &**table == E::TABLE)
        });
        if E::CACHE.is_none() || !alone || super::returned::writes(&statement) {
            return self.fetch_rows_of(statement).await;
        }
        let (sql, values) = (statement.sql().to_owned(), statement.values().to_vec());
        self.read_through(
            ReadKey::Query {
                sql: &sql,
                values: &values,
            },
            || self.fetch_rows_of::<R>(statement),
            // Kept only when the text reads back (a NaN, say, does not survive JSON).
            |rows| {
                let text = serde_json::to_string(rows).ok()?;
                serde_json::from_str::<Vec<R>>(&text).ok()?;
                Some(Entry::Json(text))
            },
            |entry| match entry {
                Entry::Json(text) => serde_json::from_str(text).ok(),
                _ => None,
            },
        )
        .await
    }

    /// Keep `E` out of the cache for the `Db`'s life, saying why once.
    fn not_cacheable(&self) {
        let tables = &self.conn.settings().tables;
        if tables.get::<E, Uncacheable>().is_none() {
            tracing::warn!(
                entity = E::NAME,
                "declared #[repo(cache)], but a field type cannot be read back from its value \
                 (it does not implement DbField::from_value): its reads are not cached"
            );
            tables.insert::<E, _>(Arc::new(Uncacheable));
        }
    }

    /// Start a write of `E`'s table by a statement the framework built: the returned guard
    /// tells the cache what it changed (see [`WriteGuard::done`]).
    pub(crate) fn writing(&self) -> WriteGuard<'a> {
        WriteGuard::new(
            self.conn,
            Some((E::SCHEMA, E::TABLE)),
            E::CACHE.is_some(),
            None,
        )
    }

    /// Start a write of `E`'s table by `sql`, a statement the framework did not build: the
    /// cached tables its text names are forgotten too.
    pub(crate) fn writing_custom(&self, sql: &str) -> WriteGuard<'a> {
        WriteGuard::new(
            self.conn,
            Some((E::SCHEMA, E::TABLE)),
            E::CACHE.is_some(),
            Some(sql),
        )
    }
}
