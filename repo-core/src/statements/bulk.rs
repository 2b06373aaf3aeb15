//! Bulk writes: a batch sorted into lock order, cut into statements under each backend's
//! limits, its values bound row after row or as one array a column.

use chrono::{DateTime, Utc};
use sea_query::Value;

use super::{Upsert, build_insert_statement, insert_columns, insert_values, upsert};
use crate::conflict::{ConflictAction, declared};
use crate::dialect::Backend;
use crate::entity::{Entity, Fixed};
use crate::error::Result;

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

/// [`compare_value`](crate::value::compare_value) over keys of one or more columns.
pub(crate) fn compare_keys(a: &[Value], b: &[Value]) -> std::cmp::Ordering {
    a.iter()
        .zip(b)
        .map(|(a, b)| crate::value::compare_value(a, b))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
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
    use crate::conflict_action::ConflictAction;
    use crate::dialect::Backend;
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
