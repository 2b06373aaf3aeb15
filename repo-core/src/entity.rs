//! What `#[derive(Repository)]` declares about a struct: its table, columns and keys.

use std::sync::OnceLock;

use sea_query::{ColumnType, Value};

use crate::dialect::Backend;
use crate::error::Result;
use crate::field::DbField;
use crate::row::Row;

/// The part a column plays in the framework.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnRole {
    /// An ordinary column.
    Plain,
    /// The primary key.
    PrimaryKey,
    /// Set once, to the insert time, by the framework.
    CreatedAt,
    /// Set to the time of every write by the framework.
    UpdatedAt,
    /// The row's version for optimistic locking (`#[repo(version)]`): single-row writes match
    /// the version the caller read, and every write adds 1.
    Version,
    /// When the row was soft-deleted, NULL while it is live (`#[repo(soft_delete)]`): deletes
    /// set it, reads leave such rows out unless asked.
    SoftDelete,
}

/// One column of an entity, as declared.
#[derive(Debug, Clone, Copy)]
pub struct ColumnDef {
    /// SQL column name.
    pub name: &'static str,
    /// Rust field name.
    pub field: &'static str,
    /// The column's role.
    pub role: ColumnRole,
    /// Whether the database generates the value (`#[repo(auto)]`).
    pub auto: bool,
    /// Whether the column admits NULL.
    pub nullable: fn() -> bool,
    /// The column type per backend.
    pub column_type: fn(Backend) -> ColumnType,
    /// A typed NULL of the column's type.
    pub null_value: fn() -> Value,
    /// The PostgreSQL enum type of the column, if any.
    pub enum_type: fn() -> Option<(&'static str, &'static [&'static str])>,
    /// How surely the field decodes a column the database describes
    /// ([`DbField::decoding`]).
    pub decoding: fn(&crate::row::ColumnInfo) -> crate::field::Decoding,
    /// What an upsert writes to the column of an existing row (`#[repo(on_conflict = "...")]`).
    pub on_conflict: crate::conflict_action::ConflictAction,
    /// The column's name before a rename (`#[repo(renamed_from = "...")]`): where a migration
    /// diff finds this column when the table still has the old one.
    pub renamed_from: Option<&'static str>,
}

/// Whether an entity's writes are recorded in the audit log ([`crate::audit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audit {
    /// Not audited.
    Off,
    /// Every write appends to the audit log, with the actor when one is set
    /// (`#[repo(audit)]`).
    On,
    /// As `On`, and a write without an actor is [`Error::ActorRequired`](crate::Error::ActorRequired)
    /// (`#[repo(audit(require_actor))]`).
    RequireActor,
}

/// How an entity's reads are cached (`#[repo(cache)]`, `#[repo(cache(capacity = 10_000,
/// ttl_secs = 300))]`), when the [`Db`](crate::Db) has a cache: see the README section "A read
/// cache".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CachePolicy {
    /// Most rows kept in the process for the entity: rows by key and the rows of cached
    /// results together (a count is one). The least recently used go first.
    pub capacity: u64,
    /// Longest an entry lives, in the process or in Redis: a backstop for writes made outside
    /// the framework, not what keeps entries fresh (writes through the framework do that).
    pub ttl_secs: u64,
}

impl CachePolicy {
    /// Rows kept when `capacity` is not given.
    pub const DEFAULT_CAPACITY: u64 = 10_000;
    /// Seconds an entry lives when `ttl_secs` is not given.
    pub const DEFAULT_TTL_SECS: u64 = 300;

    /// The policy with the given values, the defaults for those not given.
    #[must_use]
    pub const fn new(capacity: Option<u64>, ttl_secs: Option<u64>) -> Self {
        Self {
            capacity: match capacity {
                Some(n) => n,
                None => Self::DEFAULT_CAPACITY,
            },
            ttl_secs: match ttl_secs {
                Some(n) => n,
                None => Self::DEFAULT_TTL_SECS,
            },
        }
    }
}

/// A Rust struct stored as rows of one table. Implemented by `#[derive(Repository)]`.
pub trait Entity: Sized + Send + Sync + Unpin + 'static {
    /// The Rust name, used in errors and spans.
    const NAME: &'static str;
    /// The table name.
    const TABLE: &'static str;
    /// Where the table lives when not in the connection's default place
    /// (`#[repo(schema = "sales")]`): a PostgreSQL schema, a MariaDB database, an attached
    /// SQLite database.
    const SCHEMA: Option<&'static str> = None;
    /// Every column, in field order.
    const COLUMNS: &'static [ColumnDef];
    /// The primary key's columns, in declaration order: one, or several for a composite key.
    const PRIMARY_KEY: &'static [&'static str];
    /// Declared unique keys, as column names; the first is the upsert conflict target.
    const UNIQUE_KEYS: &'static [&'static [&'static str]];
    /// Declared (non-unique) indexes, as column names.
    const INDEXES: &'static [&'static [&'static str]];
    /// Whether every write appends to the audit log (`#[repo(audit)]`).
    const AUDIT: Audit = Audit::Off;
    /// Whether reads may be served from the `Db`'s cache, and how (`#[repo(cache)]`).
    const CACHE: Option<CachePolicy> = None;
    /// Whether the entity is read only (`#[repo(read_only)]`): a view or a table written
    /// elsewhere, which migration diffs leave alone.
    const READ_ONLY: bool = false;

    /// The primary key's Rust type: the key field's type, or for a composite key the tuple of
    /// the key fields' types in declaration order (`repo.get((playlist_id, track_id))`).
    type Id: Key;

    /// The primary key's value.
    fn id(&self) -> Self::Id;
    /// Push the value of every column, in [`COLUMNS`](Entity::COLUMNS) order.
    fn push_values(&self, out: &mut Vec<Value>) -> Result<()>;
    /// The value of the column at `index` of [`COLUMNS`](Entity::COLUMNS).
    fn value_at(&self, index: usize) -> Result<Value>;
    /// How `self` and `other` order by the column at `index` of [`COLUMNS`](Entity::COLUMNS),
    /// as [`crate::DbField::compare_key`] orders it. The default
    /// compares [`value_at`](Entity::value_at) values (a value that cannot be made orders
    /// as equal: writing it fails anyway).
    fn compare_at(&self, other: &Self, index: usize) -> std::cmp::Ordering {
        match (self.value_at(index), other.value_at(index)) {
            (Ok(a), Ok(b)) => crate::value::compare_value(&a, &b),
            _ => std::cmp::Ordering::Equal,
        }
    }
    /// Build the entity from a row holding every column in [`COLUMNS`](Entity::COLUMNS) order.
    fn decode(row: &Row) -> Result<Self, sqlx::Error>;
    /// Build the entity from the values [`push_values`](Entity::push_values) made of one, in
    /// [`COLUMNS`](Entity::COLUMNS) order (how a cached row is read back); `None` when a field
    /// cannot be read back so ([`DbField::from_value`]).
    #[must_use]
    fn from_values(values: &[Value]) -> Option<Self> {
        let _ = values;
        None
    }
    /// Statements of this entity whose text never changes, built on first use.
    fn statements() -> &'static StatementCache;

    // ----- new entities -------------------------------------------------------------------

    /// What a caller supplies to insert a new entity: every field but those the database or
    /// the repository sets (a `#[repo(primary_key, auto)]` key, `created_at`, `updated_at`).
    /// `#[derive(Repository)]` generates it as `NewX`, or uses the entity itself under
    /// `#[repo(no_new)]`.
    type New;

    /// The entity `new` describes, holding placeholders where the database or the repository
    /// sets the value on insert: [`AutoKey::PLACEHOLDER`](crate::field::AutoKey::PLACEHOLDER)
    /// for a generated key, [`Timestamp::PLACEHOLDER`](crate::field::Timestamp::PLACEHOLDER)
    /// for the timestamps. [`Repository::insert_new`](crate::Repository::insert_new) returns
    /// the stored row instead.
    fn from_new(new: Self::New) -> Self;

    /// The table as statements name it, qualified by [`SCHEMA`](Entity::SCHEMA) when there is
    /// one. Custom queries use it: `Query::select().from(Sale::table())`.
    #[must_use]
    fn table() -> sea_query::TableName {
        match Self::SCHEMA {
            Some(schema) => (schema, Self::TABLE).into(),
            None => Self::TABLE.into(),
        }
    }

    /// The table's name quoted for SQL text, qualified like [`table`](Entity::table).
    #[must_use]
    fn quoted_table() -> String {
        match Self::SCHEMA {
            Some(schema) => format!("\"{schema}\".\"{}\"", Self::TABLE),
            None => format!("\"{}\"", Self::TABLE),
        }
    }

    /// The primary key's columns, in declaration order.
    #[must_use]
    fn key_columns() -> impl Iterator<Item = &'static ColumnDef> {
        Self::COLUMNS
            .iter()
            .filter(|c| c.role == ColumnRole::PrimaryKey)
    }

    /// The primary key's column when the database generates it (`#[repo(primary_key, auto)]`,
    /// never part of a composite key).
    #[must_use]
    fn generated_key() -> Option<&'static ColumnDef> {
        Self::key_columns().find(|c| c.auto)
    }

    /// Whether `columns` are exactly the primary key's.
    #[must_use]
    fn is_primary_key(columns: &[&str]) -> bool {
        columns == Self::PRIMARY_KEY
    }

    /// The key `upsert` resolves conflicts on: the first declared unique key, or the primary key
    /// when it is supplied by the application.
    #[must_use]
    fn conflict_key() -> Option<&'static [&'static str]> {
        if let Some(key) = Self::UNIQUE_KEYS.first() {
            return Some(key);
        }
        Self::generated_key().is_none().then_some(Self::PRIMARY_KEY)
    }

    /// Position of a column by SQL name.
    #[must_use]
    fn column_index(name: &str) -> Option<usize> {
        Self::COLUMNS.iter().position(|c| c.name == name)
    }

    /// Position of the `#[repo(version)]` column, if the entity has one.
    #[must_use]
    fn version_column() -> Option<usize> {
        Self::COLUMNS
            .iter()
            .position(|c| c.role == ColumnRole::Version)
    }

    /// Position of the `#[repo(soft_delete)]` column, if the entity has one.
    #[must_use]
    fn soft_delete_column() -> Option<usize> {
        Self::COLUMNS
            .iter()
            .position(|c| c.role == ColumnRole::SoftDelete)
    }
}

/// The value of a primary key: a key field's own type, or a tuple of up to four of them for a
/// composite key. Implemented for every [`DbField`] that is not an `Option` and is `Clone` and
/// `Debug`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a primary key",
    label = "a key column is NOT NULL (not an `Option`), `Clone` and `Debug`",
    note = "a composite key is a tuple of up to four such types, in the key fields' order"
)]
pub trait Key: Clone + std::fmt::Debug + Send + Sync + 'static {
    /// Push the value of each key column, in declaration order.
    fn push_key_values(&self, out: &mut Vec<Value>);

    /// The value of each key column, in declaration order.
    fn key_values(&self) -> Vec<Value> {
        let mut out = Vec::with_capacity(4);
        self.push_key_values(&mut out);
        out
    }
}

/// The `Id` of a read-only entity without a primary key (a view, a table without one): no
/// value of it exists, so no call looks such an entity up by key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoKey {}

impl Key for NoKey {
    fn push_key_values(&self, _: &mut Vec<Value>) {
        match *self {}
    }
}

/// An entity its repository writes: every `#[derive(Repository)]` entity but one declared
/// `#[repo(read_only)]` (a view, a table written elsewhere or without a primary key), whose
/// repository has the read methods only.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is declared `#[repo(read_only)]`: its repository reads, it has no write methods",
    label = "a read-only entity",
    note = "views and tables without a primary key are read-only; to write a table through the repository, declare its primary key and drop `read_only`"
)]
pub trait Writable: Entity {}

/// A type that can be one column of a primary key (see [`Key`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of a primary key",
    label = "a key column is NOT NULL (not an `Option`), `Clone` and `Debug`"
)]
pub trait KeyPart: DbField<Scalar = Self> + Clone + std::fmt::Debug {}

impl<T: DbField<Scalar = T> + Clone + std::fmt::Debug> KeyPart for T {}

impl<T: KeyPart> Key for T {
    fn push_key_values(&self, out: &mut Vec<Value>) {
        out.push(self.to_value());
    }
}

macro_rules! composite_key {
    ($($part:ident . $index:tt),+) => {
        impl<$($part: KeyPart),+> Key for ($($part,)+) {
            fn push_key_values(&self, out: &mut Vec<Value>) {
                $(out.push(self.$index.to_value());)+
            }
        }
    };
}

composite_key!(A.0, B.1);
composite_key!(A.0, B.1, C.2);
composite_key!(A.0, B.1, C.2, D.3);

/// The statements of an entity whose text never changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fixed {
    SelectById,
    Insert,
    Upsert,
    Update,
    Delete,
    BulkInsert,
    BulkUpsert,
    BulkUpsertReturning,
}

impl Fixed {
    /// Whether the statement differs between the views of soft-deleted rows.
    pub(crate) fn depends_on_view(self) -> bool {
        matches!(self, Self::SelectById | Self::Update | Self::Delete)
    }
}

const FIXED_KINDS: usize = 8;
use crate::dialect::BACKENDS;

/// SQL text of an entity's fixed statements, one slot per statement and backend, filled once.
#[derive(Debug)]
pub struct StatementCache {
    slots: [OnceLock<String>; FIXED_KINDS * BACKENDS],
}

impl StatementCache {
    /// An empty cache (the derive places one in a `static` per entity).
    #[must_use]
    pub const fn new() -> Self {
        Self {
            slots: [const { OnceLock::new() }; FIXED_KINDS * BACKENDS],
        }
    }

    pub(crate) fn get(
        &'static self,
        backend: Backend,
        kind: Fixed,
        build: impl FnOnce() -> String,
    ) -> &'static str {
        let backend = backend.slot();
        self.slots[kind as usize * BACKENDS + backend].get_or_init(build)
    }
}

impl Default for StatementCache {
    fn default() -> Self {
        Self::new()
    }
}

/// Errors about rows of an entity, built from its declaration (the key's columns).
impl crate::error::Error {
    /// [`NotFound`](crate::Error::NotFound) for the row of `E` whose primary key is `id`
    /// (`key` reads `id = 42`, or `(playlist_id, track_id) = (1, 2)` for a composite key).
    #[must_use]
    pub fn not_found<E: Entity>(id: &E::Id) -> Self {
        Self::NotFound {
            entity: E::NAME,
            key: key_text::<E>(id),
        }
    }

    /// [`NotFound`](crate::Error::NotFound) for the row of `E` found by other columns: `key` as
    /// `column = value` pairs, such as `[("pipeline_id", &"p1"), ("stage_name", &"mesh")]`.
    #[must_use]
    pub fn not_found_by<E: Entity>(key: &[(&str, &dyn std::fmt::Debug)]) -> Self {
        let key: Vec<String> = key
            .iter()
            .map(|(column, value)| format!("{column} = {value:?}"))
            .collect();
        Self::NotFound {
            entity: E::NAME,
            key: key.join(", "),
        }
    }

    /// [`StaleVersion`](crate::Error::StaleVersion) for the row of `E` whose primary key is `id`,
    /// read at version `expected`.
    #[must_use]
    pub fn stale_version<E: Entity>(id: &E::Id, expected: i64) -> Self {
        Self::StaleVersion {
            entity: E::NAME,
            key: key_text::<E>(id),
            expected,
        }
    }
}

/// `id = 42`, or `(a, b) = (1, 2)` for a composite key.
fn key_text<E: Entity>(id: &E::Id) -> String {
    match E::PRIMARY_KEY {
        [column] => format!("{column} = {id:?}"),
        columns => format!("({}) = {id:?}", columns.join(", ")),
    }
}
