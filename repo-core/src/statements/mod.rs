//! Statement building as pure functions: entity metadata and a request in, SQL out.
//!
//! Nothing here runs a statement; the repository renders what these build for its backend and
//! executes it. Statements of fixed shape are rendered once per entity and backend (see
//! [`StatementCache`](crate::StatementCache)).

use chrono::{DateTime, Utc};
use sea_query::{
    Condition, DeleteStatement, Expr, ExprTrait as _, Query, SelectStatement, UpdateStatement,
    Value,
};

use crate::conflict::declared;
use crate::dialect::Backend;
use crate::entity::{ColumnRole, Entity, Fixed};
use crate::error::{Error, Result};

use crate::filter::Assignment;
use crate::keys::SortKey;
use crate::page::PageRequest;

mod bulk;
mod conflict;
mod insert;
mod safety;
mod statement;

pub use statement::{RunnableStatement, Statement};

pub(crate) use bulk::{
    BulkKind, batch_in_lock_order, build_insert, bulk_insert_statement, chunk_values,
    column_arrays, compare_keys, rows_per_statement,
};
pub(crate) use insert::{
    Upsert, build_insert_statement, conflict_key, insert_columns, insert_values,
};

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
    // The key breaks ties, so offsets page through a stable order. It follows the last
    // order's direction: `ORDER BY at DESC, id DESC` reads an index on `at` backwards, where
    // `at DESC, id ASC` needs a sort of every run of equal `at`.
    let direction = match page.order.last() {
        Some(order) if order.descending => sea_query::Order::Desc,
        _ => sea_query::Order::Asc,
    };
    for column in E::PRIMARY_KEY {
        if !page.order.iter().any(|o| o.column == *column) {
            select.order_by(*column, direction.clone());
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
    REFUSED, duplicate_key_guard, looks_up_generated_key, name_existing_keys, upsert_values,
};

#[cfg(test)]
mod tests;
