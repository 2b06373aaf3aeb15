//! Statement building as pure functions: entity metadata and a request in, SQL out.
//!
//! Nothing here runs a statement; the repository renders what these build for its backend and
//! executes it. Statements of fixed shape are rendered once per entity and backend (see
//! [`StatementCache`](crate::StatementCache)).

use chrono::{DateTime, Utc};
use sea_query::{
    Condition, DeleteStatement, Expr, ExprTrait as _, OnConflict, Query, SelectStatement,
    UpdateStatement, Value,
};

use crate::backend::Backend;
use crate::conflict::{ConflictAction, declared};
use crate::entity::{ColumnRole, Entity, Fixed};
use crate::error::{Error, Result};
use crate::exec::Statement;
use crate::filter::Assignment;
use crate::keys::SortKey;
use crate::page::PageRequest;

mod conflict;
mod safety;

pub(crate) use safety::{
    View, complete_sets, deletable, delete_rows, expected_version, purgeable, restore_sets,
    soft_delete_values, stale_on_conflict_key, stale_upsert, visible, within,
};

/// `SELECT <every column> FROM <table>`.
#[must_use]
pub(crate) fn select_all<E: Entity>() -> SelectStatement {
    Query::select()
        .columns(E::COLUMNS.iter().map(|c| c.name))
        .from(E::table())
        .take()
}

/// Every column of the rows matching `condition`, by primary key.
pub(crate) fn select_by_key<E: Entity>(condition: Condition) -> SelectStatement {
    let mut select = select_all::<E>();
    select.cond_where(condition);
    for column in E::PRIMARY_KEY {
        select.order_by(*column, sea_query::Order::Asc);
    }
    select
}

/// One page of the rows matching `condition`: the request's orders, then the primary key.
pub(crate) fn page<E: Entity>(
    backend: Backend,
    condition: Condition,
    page: &PageRequest<E>,
) -> SelectStatement {
    let mut select = select_all::<E>();
    select.cond_where(condition);
    for order in &page.order {
        order.key().apply(&mut select, backend);
    }
    // The key breaks ties, so offsets page through a stable order.
    for column in E::PRIMARY_KEY {
        if !page.order.iter().any(|o| o.column == *column) {
            select.order_by(*column, sea_query::Order::Asc);
        }
    }
    select.limit(page.limit).offset(page.offset);
    select
}

/// `SELECT COUNT(*)` of the rows matching `condition`.
pub(crate) fn count<E: Entity>(condition: Condition) -> SelectStatement {
    Query::select()
        .expr(Expr::cust("COUNT(*)"))
        .from(E::table())
        .cond_where(condition)
        .take()
}

/// `SELECT 1` of the rows matching `condition` (the caller adds a literal `LIMIT 1`).
pub(crate) fn exists<E: Entity>(condition: Condition) -> SelectStatement {
    Query::select()
        .expr(Expr::cust("1"))
        .from(E::table())
        .cond_where(condition)
        .take()
}

/// `UPDATE` the rows matching `condition` with `assignments`, `updated_at` to `now` and the
/// version plus 1, unless assigned. No assignment is a [`Error::Validation`].
pub(crate) fn update_where<E: Entity>(
    condition: Condition,
    assignments: Vec<Assignment<E>>,
    now: DateTime<Utc>,
) -> Result<UpdateStatement> {
    if assignments.is_empty() {
        return Err(Error::validation(
            "assignments",
            "update_where needs at least one `Column::set(...)`",
        ));
    }
    let mut values: Vec<(&'static str, Expr)> = assignments
        .into_iter()
        .map(|a| (a.column, Expr::val(a.value)))
        .collect();
    complete_sets::<E>(&mut values, now);
    Ok(Query::update()
        .table(E::table())
        .values(values)
        .cond_where(condition)
        .take())
}

/// `DELETE` the rows matching `condition`.
pub(crate) fn delete_where<E: Entity>(condition: Condition) -> DeleteStatement {
    Query::delete()
        .from_table(E::table())
        .cond_where(condition)
        .take()
}

/// The rows matching `condition` in the order `keys` (the caller adds a literal LIMIT).
pub(crate) fn keyset<E: Entity>(
    backend: Backend,
    condition: Condition,
    keys: &[SortKey],
) -> SelectStatement {
    let mut select = select_all::<E>();
    select.cond_where(condition);
    for key in keys {
        key.apply(&mut select, backend);
    }
    select
}

pub(crate) fn conflict_key<E: Entity>() -> Result<&'static [&'static str]> {
    E::conflict_key().ok_or_else(|| {
        Error::validation(
            "upsert",
            format!(
                "{} has a generated primary key and no unique key to resolve conflicts on; \
                 declare #[repo(unique(...))]",
                E::NAME
            ),
        )
    })
}

/// The columns an INSERT names: every column but a database-generated key.
pub(crate) fn insert_columns<E: Entity>() -> impl Iterator<Item = &'static crate::entity::ColumnDef>
{
    E::COLUMNS
        .iter()
        .filter(|c| !(c.auto && c.role == ColumnRole::PrimaryKey))
}

/// Push the INSERT values of `entity`: timestamps set to `now`, a soft-delete column to NULL
/// (every insert and upsert writes a live row), a generated key left out. The version is
/// stored as the entity holds it.
pub(crate) fn insert_values<E: Entity>(
    entity: &E,
    now: DateTime<Utc>,
    out: &mut Vec<Value>,
) -> Result<()> {
    let start = out.len();
    entity.push_values(out)?;
    for (index, column) in E::COLUMNS.iter().enumerate() {
        match column.role {
            ColumnRole::CreatedAt | ColumnRole::UpdatedAt => {
                out[start + index] = Value::ChronoDateTimeUtc(Some(now));
            }
            ColumnRole::SoftDelete => out[start + index] = (column.null_value)(),
            _ => {}
        }
    }
    if let Some(generated) = E::generated_key() {
        out.remove(start + E::column_index(generated.name).unwrap_or_default());
    }
    Ok(())
}

/// A batch in the order its rows are written: sorted by conflict key (the first unique key,
/// else a supplied primary key), so concurrent batches over the same keys lock rows in the same
/// order and never deadlock each other. With `dedupe`, only the last entity of each conflict key
/// stays (PostgreSQL refuses to update one row twice in a statement; SQLite would let the last
/// win: both now agree).
pub(crate) fn batch_in_lock_order<E: Entity>(entities: &[E], dedupe: bool) -> Vec<&E> {
    let Some(key) = E::conflict_key() else {
        return entities.iter().collect();
    };
    if entities.len() < 2 {
        return entities.iter().collect();
    }
    let indexes: Vec<usize> = key
        .iter()
        .filter_map(|name| E::column_index(name))
        .collect();
    // Compared in place (`Entity::compare_at`): no copy of any key.
    let compare = |a: &E, b: &E| {
        indexes
            .iter()
            .map(|&i| a.compare_at(b, i))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    };
    let mut order: Vec<&E> = entities.iter().collect();
    // Stable: equal keys keep their input order, so the last of them is the last one given.
    // A batch already in key order (common: rows generated or read in key order) is not sorted.
    if !order.is_sorted_by(|a, b| compare(a, b).is_le()) {
        order.sort_by(|a, b| compare(a, b));
    }
    if dedupe {
        order.dedup_by(|later, earlier| {
            let same = compare(later, earlier).is_eq();
            if same {
                // `dedup_by` keeps `earlier`: move the later entity into its place.
                std::mem::swap(later, earlier);
            }
            same
        });
    }
    order
}

/// [`compare_value`] over keys of one or more columns.
pub(crate) fn compare_keys(a: &[Value], b: &[Value]) -> std::cmp::Ordering {
    a.iter()
        .zip(b)
        .map(|(a, b)| compare_value(a, b))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// A total order on key values, the same in every process: by value for the types keys
/// usually have, by their debug text otherwise. Generated `Entity::compare_at` falls back on it.
#[must_use]
pub fn compare_value(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::BigInt(a), Value::BigInt(b)) => a.cmp(b),
        (Value::Int(a), Value::Int(b)) => a.cmp(b),
        (Value::SmallInt(a), Value::SmallInt(b)) => a.cmp(b),
        (Value::String(a), Value::String(b)) => a.cmp(b),
        (Value::Uuid(a), Value::Uuid(b)) => a.cmp(b),
        (Value::ChronoDate(a), Value::ChronoDate(b)) => a.cmp(b),
        (Value::ChronoDateTimeUtc(a), Value::ChronoDateTimeUtc(b)) => a.cmp(b),
        (Value::Bytes(a), Value::Bytes(b)) => a.cmp(b),
        (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
        (a, b) => format!("{a:?}").cmp(&format!("{b:?}")),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BulkKind {
    Insert,
    Upsert,
    UpsertReturning,
}

impl BulkKind {
    pub(crate) fn fixed(self) -> Fixed {
        match self {
            Self::Insert => Fixed::BulkInsert,
            Self::Upsert => Fixed::BulkUpsert,
            Self::UpsertReturning => Fixed::BulkUpsertReturning,
        }
    }

    /// How many values a row binds.
    pub(crate) fn width<E: Entity>(self, backend: Backend) -> usize {
        match self {
            Self::Insert => insert_columns::<E>().count(),
            Self::Upsert | Self::UpsertReturning => upsert::bulk_upsert_width::<E>(backend),
        }
    }

    /// Bind `entity`'s values for a row.
    pub(crate) fn push_values<E: Entity>(
        self,
        backend: Backend,
        entity: &E,
        now: DateTime<Utc>,
        out: &mut Vec<Value>,
    ) -> Result<()> {
        match self {
            Self::Insert => insert_values(entity, now, out),
            Self::Upsert | Self::UpsertReturning => {
                upsert::bulk_upsert_values(backend, entity, now, out)
            }
        }
    }
}

/// Rows one bulk statement writes where it binds one array a column: the bind limit does not
/// apply, so this only bounds the size of a statement's message (a few MiB).
const ROWS_PER_ARRAY_STATEMENT: usize = 10_000;

/// Where `backend` binds a bulk write of `E` as one array a column (see
/// [`Backend::column_array`]): each inserted column's array element type and its SQL name.
/// `None` where a bulk statement binds rows of values.
pub(crate) fn column_arrays<E: Entity>(
    backend: Backend,
) -> Option<Vec<(sea_query::ArrayType, &'static str)>> {
    let arrays: Option<Vec<_>> = insert_columns::<E>()
        .map(|c| backend.column_array(&(c.null_value)()))
        .collect();
    // A row of database-generated columns only has nothing to unnest.
    arrays.filter(|arrays| !arrays.is_empty())
}

/// The most rows one bulk statement of `kind` writes: as many as the bind limit allows, or
/// [`ROWS_PER_ARRAY_STATEMENT`] where the rows travel as arrays.
pub(crate) fn rows_per_statement<E: Entity>(backend: Backend, kind: BulkKind) -> usize {
    if column_arrays::<E>(backend).is_some() {
        ROWS_PER_ARRAY_STATEMENT
    } else {
        (backend.max_bind_parameters() / kind.width::<E>(backend)).max(1)
    }
}

/// The values a bulk statement of `kind` binds for `chunk`: row after row, or, where the
/// backend takes arrays, one array a column (the values moved into it, not copied).
pub(crate) fn chunk_values<E: Entity>(
    backend: Backend,
    kind: BulkKind,
    chunk: &[&E],
    now: DateTime<Utc>,
) -> Result<Vec<Value>> {
    let width = kind.width::<E>(backend);
    let Some(arrays) = column_arrays::<E>(backend) else {
        let mut values = Vec::with_capacity(chunk.len() * width);
        for entity in chunk {
            kind.push_values(backend, *entity, now, &mut values)?;
        }
        return Ok(values);
    };
    let mut columns: Vec<Vec<Value>> = arrays
        .iter()
        .map(|_| Vec::with_capacity(chunk.len()))
        .collect();
    // Each row's values pass through one small buffer into their columns.
    let mut row = Vec::with_capacity(width);
    for entity in chunk {
        kind.push_values(backend, *entity, now, &mut row)?;
        for (column, value) in columns.iter_mut().zip(row.drain(..)) {
            column.push(value);
        }
    }
    Ok(columns
        .into_iter()
        .zip(arrays)
        .map(|(items, (element, _))| Value::Array(element, Some(Box::new(items))))
        .collect())
}

/// [`build_insert_statement`] for a bulk write of `rows` rows: where the backend takes arrays
/// (see [`column_arrays`]), the same text for any number of rows, selecting them from
/// `unnest` of one array parameter a column, so one prepared statement serves every chunk
/// and its text is never built per call.
pub(crate) fn bulk_insert_statement<E: Entity>(
    backend: Backend,
    rows: usize,
    upsert: Option<Upsert>,
    returning: bool,
    actions: &[ConflictAction],
) -> String {
    let Some(arrays) = column_arrays::<E>(backend) else {
        return build_insert_statement::<E>(backend, rows, upsert, returning, actions);
    };
    let sql = build_insert_statement::<E>(backend, 1, upsert, returning, actions);
    // `… VALUES ($1, …)` up to the conflict clause or RETURNING; the type signature in front
    // is left out, since the casts below name every parameter's type.
    let sql = match sql.split_once("*/ ") {
        Some((signature, rest)) if signature.starts_with("/*") => rest,
        _ => sql.as_str(),
    };
    let Some(start) = sql.find(" VALUES (") else {
        return sql.to_owned();
    };
    // Searched after the values only: a quoted column name may hold either word.
    let end = [" ON CONFLICT ", " RETURNING "]
        .iter()
        .filter_map(|tail| sql[start..].find(tail))
        .min()
        .map_or(sql.len(), |at| start + at);
    let columns: Vec<&crate::entity::ColumnDef> = insert_columns::<E>().collect();
    let mut select = Vec::with_capacity(columns.len());
    let mut parameters = Vec::with_capacity(columns.len());
    let mut names = Vec::with_capacity(columns.len());
    for (at, (column, (_, element))) in columns.iter().zip(&arrays).enumerate() {
        let name = column.name;
        // An enum travels as its label, cast to its type as a single value is.
        select.push(match (column.null_value)() {
            Value::Enum(sea_query::OptionEnum::None(type_name)) => {
                format!("\"u\".\"{name}\"::\"{type_name}\"")
            }
            _ => format!("\"u\".\"{name}\""),
        });
        parameters.push(format!("${}::{element}[]", at + 1));
        names.push(format!("\"{name}\""));
    }
    format!(
        "{} SELECT {} FROM unnest({}) AS \"u\"({}){}",
        &sql[..start],
        select.join(", "),
        parameters.join(", "),
        names.join(", "),
        &sql[end..]
    )
}

/// `INSERT` of `rows` rows of placeholders (or of arrays, see [`bulk_insert_statement`]); for
/// upserts with the conflict clause (a bulk upsert adds 1 to the version of the rows it
/// updates, without checking it). `actions` holds the conflict action of every column (see
/// [`ConflictAction`]).
pub(crate) fn build_insert<E: Entity>(
    backend: Backend,
    rows: usize,
    kind: BulkKind,
    actions: &[ConflictAction],
) -> String {
    let upsert = match kind {
        BulkKind::Insert => None,
        BulkKind::Upsert | BulkKind::UpsertReturning => Some(Upsert::Bump),
    };
    let full = rows_per_statement::<E>(backend, kind);
    let rows = if column_arrays::<E>(backend).is_some() {
        full
    } else {
        rows
    };
    let build = || {
        bulk_insert_statement::<E>(
            backend,
            rows,
            upsert,
            kind == BulkKind::UpsertReturning,
            actions,
        )
    };
    if rows != full || actions == declared::<E>().as_slice() {
        // Declared actions are cached with the entity; a last, partial chunk varies in size.
        return build();
    }
    full_chunks::sql::<E>(backend, kind, actions, build)
}

/// The SQL of full bulk chunks with conflict actions chosen per call (`bulk_upsert_with`),
/// which a program passes again and again: rendering thousands of rows of placeholders costs
/// far more than copying the text.
mod full_chunks {
    use std::any::TypeId;
    use std::sync::{Arc, Mutex};

    use super::BulkKind;
    use crate::backend::Backend;
    use crate::conflict::ConflictAction;
    use crate::entity::Entity;

    /// Texts kept; each is up to a few hundred KiB, and a program has few distinct actions.
    const KEPT: usize = 8;

    struct Entry {
        entity: TypeId,
        backend: Backend,
        kind: BulkKind,
        actions: Vec<ConflictAction>,
        sql: Arc<str>,
    }

    static CACHE: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

    /// The cached text for `E`, `backend`, `kind` and `actions`, built by `build` when missing.
    pub(super) fn sql<E: Entity>(
        backend: Backend,
        kind: BulkKind,
        actions: &[ConflictAction],
        build: impl FnOnce() -> String,
    ) -> String {
        let entity = TypeId::of::<E>();
        let found = |entry: &Entry| {
            entry.entity == entity
                && entry.backend == backend
                && entry.kind == kind
                && entry.actions == actions
        };
        let lock = || {
            CACHE
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(entry) = lock().iter().find(|e| found(e)) {
            return entry.sql.to_string();
        }
        let sql = build();
        let mut cache = lock();
        if !cache.iter().any(found) {
            if cache.len() == KEPT {
                cache.remove(0);
            }
            cache.push(Entry {
                entity,
                backend,
                kind,
                actions: actions.to_vec(),
                sql: sql.as_str().into(),
            });
        }
        sql
    }
}

/// What an upsert does with the version of the row it updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upsert {
    /// Add 1 (bulk upserts).
    Bump,
    /// Update only a row holding the incoming version (or a soft-deleted one), and add 1.
    CheckAndBump,
}

/// An INSERT of `rows` rows, an upsert with `upsert`: on conflict each column but the key,
/// `created_at` and the version gets what its entry of `actions` (one per column of `E`) says.
pub(crate) fn build_insert_statement<E: Entity>(
    backend: Backend,
    rows: usize,
    upsert: Option<Upsert>,
    returning: bool,
    actions: &[ConflictAction],
) -> String {
    let mut insert = Query::insert();
    insert
        .into_table(E::table())
        .columns(insert_columns::<E>().map(|c| c.name));
    let placeholders: Vec<Expr> = insert_columns::<E>()
        .map(|c| Expr::val((c.null_value)()))
        .collect();
    for _ in 0..rows {
        insert.values_panic(placeholders.iter().cloned());
    }
    if let Some(upsert) = upsert {
        let key = E::conflict_key().unwrap_or_default();
        let mut update: Vec<&'static str> = Vec::new();
        let mut computed: Vec<(&'static str, Expr)> = Vec::new();
        for (column, action) in E::COLUMNS.iter().zip(actions) {
            if key.contains(&column.name)
                || column.auto
                || matches!(
                    column.role,
                    ColumnRole::CreatedAt | ColumnRole::PrimaryKey | ColumnRole::Version
                )
            {
                continue;
            }
            match conflict::action_value::<E>(backend, column.name, *action) {
                conflict::Set::Incoming => update.push(column.name),
                conflict::Set::Existing => {}
                conflict::Set::Computed(expr) => computed.push((column.name, expr)),
            }
        }
        let check = upsert == Upsert::CheckAndBump;
        let version = safety::upsert_version_value::<E>(backend, check);
        if update.is_empty() && computed.is_empty() && version.is_none() {
            // Every column is part of the key: a no-op update still lets RETURNING see the row.
            update.extend(key.first().copied());
        }
        let mut on_conflict = OnConflict::columns(key.iter().copied());
        // Guards first: MariaDB assigns the update list from left to right.
        if let Some(guard) = upsert::duplicate_key_guard::<E>(backend, key) {
            on_conflict.value(E::PRIMARY_KEY[0], guard);
        }
        if let (Some(version), Some(column)) = (version, safety::version::<E>()) {
            on_conflict.value(column, version);
        }
        // Before the plain columns: MariaDB would otherwise read a soft-delete column already
        // cleared by its own assignment.
        for (column, expr) in computed {
            on_conflict.value(column, expr);
        }
        on_conflict.update_columns(update);
        if check && backend.capabilities().upsert == crate::backend::UpsertSyntax::OnConflict {
            on_conflict.action_and_where_option(safety::upsert_version_check::<E>());
        }
        insert.on_conflict(on_conflict);
    }
    if returning {
        insert.returning(Query::returning().columns(E::COLUMNS.iter().map(|c| c.name)));
    }
    let sql = Statement::build(&insert, backend).sql().to_owned();
    if upsert.is_some() {
        upsert::resolve_conflict_key::<E>(backend, sql, upsert == Some(Upsert::Bump))
    } else {
        sql
    }
}

/// The values [`Fixed::Update`] binds for `entity`: every column it sets (`updated_at` as
/// `now`), then the key and, on a versioned entity, the version the entity holds.
pub(crate) fn update_values<E: Entity>(entity: &E, now: DateTime<Utc>) -> Result<Vec<Value>> {
    let mut all = Vec::with_capacity(E::COLUMNS.len());
    entity.push_values(&mut all)?;
    let mut values = Vec::with_capacity(E::COLUMNS.len() + 1);
    let mut key = Vec::with_capacity(E::PRIMARY_KEY.len());
    let mut version = None;
    for (column, value) in E::COLUMNS.iter().zip(all) {
        match column.role {
            ColumnRole::PrimaryKey => key.push(value),
            ColumnRole::CreatedAt | ColumnRole::SoftDelete => {}
            ColumnRole::Version => version = Some(value),
            ColumnRole::UpdatedAt => values.push(Value::ChronoDateTimeUtc(Some(now))),
            ColumnRole::Plain => values.push(value),
        }
    }
    values.extend(key);
    values.extend(version);
    Ok(values)
}

/// The row whose primary key holds `values` (in key column order).
pub(crate) fn key_condition<E: Entity>(values: impl IntoIterator<Item = Value>) -> Condition {
    E::PRIMARY_KEY
        .iter()
        .zip(values)
        .fold(Condition::all(), |all, (column, value)| {
            all.add(Expr::col(*column).eq(value))
        })
}

/// The primary key as one expression: its column, or the row value `(a, b)` of a composite key.
pub(crate) fn key_expr<E: Entity>() -> Expr {
    match E::PRIMARY_KEY {
        [column] => Expr::col(*column),
        columns => Expr::tuple(columns.iter().map(|c| Expr::col(*c))),
    }
}

/// `SELECT <key columns> FROM <table> WHERE condition ORDER BY <key columns>`: locking in key
/// order, so two writes of overlapping rows queue instead of deadlocking.
pub(crate) fn key_select<E: Entity>(condition: Condition) -> SelectStatement {
    let mut select = Query::select();
    select
        .columns(E::PRIMARY_KEY.iter().copied())
        .from(E::table())
        .cond_where(condition);
    for column in E::PRIMARY_KEY {
        select.order_by(*column, sea_query::Order::Asc);
    }
    select
}

/// The rows whose primary key is one of `keys` (each in key column order).
pub(crate) fn keys_condition<E: Entity>(keys: Vec<Vec<Value>>) -> Condition {
    if E::PRIMARY_KEY.len() == 1 {
        let values = keys.into_iter().flatten();
        return Condition::all().add(Expr::col(E::PRIMARY_KEY[0]).is_in(values));
    }
    keys.into_iter().fold(Condition::any(), |any, key| {
        any.add(key_condition::<E>(key))
    })
}

/// The SQL of a statement of fixed shape, for the rows `view` sees. The repository caches
/// those of [`View::Live`], the default.
pub(crate) fn build_fixed<E: Entity>(backend: Backend, kind: Fixed, view: View) -> String {
    let by_id = || key_condition::<E>(E::key_columns().map(|c| (c.null_value)()));
    let all = || E::COLUMNS.iter().map(|c| c.name);
    match kind {
        Fixed::SelectById => {
            let select = Query::select()
                .columns(all())
                .from(E::table())
                .cond_where(within::<E>(view, by_id()))
                .to_owned();
            Statement::build(&select, backend).sql().to_owned()
        }
        Fixed::Insert => build_insert_statement::<E>(backend, 1, None, true, &[]),
        Fixed::Upsert => build_insert_statement::<E>(
            backend,
            1,
            Some(Upsert::CheckAndBump),
            true,
            &declared::<E>(),
        ),
        Fixed::Update => {
            let mut sets: Vec<(&'static str, Expr)> = E::COLUMNS
                .iter()
                .filter(|c| matches!(c.role, ColumnRole::Plain | ColumnRole::UpdatedAt))
                .map(|c| (c.name, Expr::val((c.null_value)())))
                .collect();
            sets.extend(safety::bump::<E>());
            let mut condition = by_id();
            if let Some(index) = E::version_column() {
                let version = &E::COLUMNS[index];
                condition =
                    condition.add(Expr::col(version.name).eq(Expr::val((version.null_value)())));
            }
            let mut update = Query::update();
            update
                .table(E::table())
                .values(sets)
                .cond_where(within::<E>(view, condition));
            // Without RETURNING the repository reads the row back (see `update`).
            if backend.capabilities().returning_on_update {
                update.returning(Query::returning().columns(all()));
            }
            Statement::build(&update, backend).sql().to_owned()
        }
        Fixed::Delete => {
            let now = Value::ChronoDateTimeUtc(None);
            if let Some(sets) = safety::soft_delete_sets::<E>(&now) {
                let update = Query::update()
                    .table(E::table())
                    .values(sets)
                    .cond_where(deletable::<E>(view, by_id()))
                    .to_owned();
                return Statement::build(&update, backend).sql().to_owned();
            }
            let delete = Query::delete()
                .from_table(E::table())
                .cond_where(within::<E>(view, by_id()))
                .to_owned();
            Statement::build(&delete, backend).sql().to_owned()
        }
        Fixed::BulkInsert | Fixed::BulkUpsert | Fixed::BulkUpsertReturning => {
            let bulk = match kind {
                Fixed::BulkInsert => BulkKind::Insert,
                Fixed::BulkUpsert => BulkKind::Upsert,
                _ => BulkKind::UpsertReturning,
            };
            let rows = rows_per_statement::<E>(backend, bulk);
            build_insert::<E>(backend, rows, bulk, &declared::<E>())
        }
    }
}

mod upsert;
pub(crate) use upsert::{
    looks_up_generated_key, name_existing_keys, refused_by_guard, upsert_error, upsert_values,
};

#[cfg(test)]
mod tests;
