//! The seam between the framework and a read cache: what reads ask of one (an entry, or leave
//! to fill it), and what writes tell it (the rows they changed). The cache feature
//! ([`crate::cache`]) implements it; repositories and sessions only speak through it, so a
//! `Db` without a cache pays one branch.

use std::borrow::Cow;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sea_query::Value;

use crate::entity::{CachePolicy, Entity};

/// A future the seam's methods return.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A table reads of which may be cached: how the cache names it, and the entity's policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CachedTable {
    /// Its schema, when the entity declares one.
    pub(crate) schema: Option<&'static str>,
    /// Its name.
    pub(crate) name: &'static str,
    /// Capacity and time to live.
    pub(crate) policy: CachePolicy,
}

impl CachedTable {
    /// `E`'s table, when `E` is declared `#[repo(cache)]`.
    pub(crate) fn of<E: Entity>() -> Option<Self> {
        E::CACHE.map(|policy| Self {
            schema: E::SCHEMA,
            name: E::TABLE,
            policy,
        })
    }

    /// The table as writes name it to the cache.
    pub(crate) fn id(&self) -> TableId {
        Arc::from(self.name)
    }

    /// The table as its entity names it: its cached rows are named so.
    pub(crate) fn qualified(&self) -> Cow<'static, str> {
        qualified(self.schema, self.name)
    }
}

/// A table as writes name it to the cache: by its name alone, whatever its schema, so a write
/// named one way is never missed by a read named another (`sales.orders`, `orders` on the
/// search path). Tables of one name in two schemas share their invalidations (more misses,
/// never a stale read); their entries stay apart, keyed by the qualified name.
pub(crate) type TableId = Arc<str>;

/// What a read asks for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ReadKey<'a> {
    /// The row with primary key `key`, as the repository's view sees it (`view`: 0 live rows,
    /// 1 every row, 2 deleted rows).
    Row { view: u8, key: &'a [Value] },
    /// The result of the statement `sql` with `values`.
    Query { sql: &'a str, values: &'a [Value] },
}

/// A cached result: rows (each the values of every column), or a number.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Entry {
    /// Rows, in the order the database gave them; none for a row that does not exist.
    Rows(Vec<Vec<Value>>),
    /// A count, or whether a row exists (0 or 1).
    Count(u64),
    /// Rows of a custom query, as JSON.
    Json(String),
}

impl Entry {
    /// The rows of `E` held, `None` when one cannot be read back.
    pub(crate) fn entities<E: Entity>(&self) -> Option<Vec<E>> {
        match self {
            Self::Rows(rows) => rows.iter().map(|row| E::from_values(row)).collect(),
            Self::Count(_) | Self::Json(_) => None,
        }
    }
}

/// What a lookup found.
pub(crate) enum Lookup {
    /// The entry.
    Hit(Arc<Entry>),
    /// No entry: read the database, then hand the result to the filler. Until it is filled or
    /// dropped, other readers of the same key wait for it instead of reading the database.
    Miss(Box<dyn Filler>),
    /// Read the database and keep nothing (the cache cannot be trusted now).
    Bypass,
}

/// Keeps what a missed read found, unless a write to its table came in between.
pub(crate) trait Filler: Send {
    /// Keep `entry`.
    fn fill(self: Box<Self>, entry: Entry) -> BoxFuture<'static, ()>;
}

/// Which rows of a table a write changed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Rows {
    /// The rows with these primary keys (each the key's values).
    Keys(Vec<Vec<Value>>),
    /// Any row.
    All,
}

/// The rows a write (or a unit of work's writes) changed, by table.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Written {
    pub(crate) tables: Vec<TableWrite>,
}

/// The rows a write changed in one table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TableWrite {
    pub(crate) table: TableId,
    /// The schema the writer named the table in, when it named one: rows by key are named
    /// by the qualified table, as reads name them.
    pub(crate) schema: Option<&'static str>,
    pub(crate) rows: Rows,
}

impl Written {
    /// Nothing written.
    pub(crate) fn is_empty(&self) -> bool {
        self.tables.is_empty()
    }

    /// Add `rows` of `table` (in `schema`, as the writer names it).
    pub(crate) fn add(&mut self, table: TableId, schema: Option<&'static str>, rows: Rows) {
        match self.tables.iter_mut().find(|t| t.table == table) {
            Some(known) => {
                let same_schema = known.schema == schema;
                match (&mut known.rows, rows) {
                    (Rows::All, _) => {}
                    (Rows::Keys(keys), Rows::Keys(more)) if same_schema => keys.extend(more),
                    (known_rows, _) => *known_rows = Rows::All,
                }
            }
            None => self.tables.push(TableWrite {
                table,
                schema,
                rows,
            }),
        }
    }

    /// Add every table of `other`.
    pub(crate) fn extend(&mut self, other: Written) {
        for write in other.tables {
            self.add(write.table, write.schema, write.rows);
        }
    }

    /// Whether `table` was written.
    pub(crate) fn touches(&self, table: &str) -> bool {
        self.tables.iter().any(|t| &*t.table == table)
    }
}

/// `schema.table`, or `table`: how an entity names its table, and how its cached rows are
/// named.
pub(crate) fn qualified<'a>(schema: Option<&str>, table: &'a str) -> Cow<'a, str> {
    match schema {
        Some(schema) => Cow::Owned(format!("{schema}.{table}")),
        None => Cow::Borrowed(table),
    }
}

/// A read cache, as the framework uses one.
pub(crate) trait ReadCache: Send + Sync + Debug {
    /// Whether reads of `table` may be cached yet: the cache must first know which tables a
    /// write to which cascades into it ([`register`](ReadCache::register)).
    fn knows(&self, table: &CachedTable) -> bool;

    /// Learn `table`, whose rows change when a row of one of `parents` is deleted or its key
    /// updated (foreign keys with a cascading action).
    fn register(&self, table: CachedTable, parents: Vec<TableId>) -> BoxFuture<'_, ()>;

    /// The entry for `key` of `table`.
    fn lookup<'a>(&'a self, table: &'a CachedTable, key: ReadKey<'a>) -> BoxFuture<'a, Lookup>;

    /// Forget what `written` changed, here and in every instance sharing the cache; called
    /// once the writes are committed (or may be).
    fn invalidate<'a>(&'a self, written: &'a Written) -> BoxFuture<'a, ()>;

    /// The cached tables `sql` may write: those it names (a statement the framework did not
    /// build, so only its text tells).
    fn tables_named_in(&self, sql: &str) -> Vec<TableId>;

    /// The cache itself, for the feature that made it.
    fn as_any(&self) -> &dyn std::any::Any;
}
