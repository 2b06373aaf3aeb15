//! What optimistic locking (`#[repo(version)]`) and soft delete (`#[repo(soft_delete)]`) add
//! to statements: the version check and bump, the rows a view sees, the soft delete itself.
//!
//! Every write adds 1 to the version (`"version" = "version" + 1`, computed by the database,
//! so concurrent filtered updates never lose an increment); single-row writes of an entity
//! also match the version it holds (`AND "version" = $n`). A view adds `"deleted_at" IS NULL`
//! (live rows, the default), nothing (every row) or `"deleted_at" IS NOT NULL` (deleted rows).

use chrono::{DateTime, Utc};
use sea_query::{
    Condition, Expr, ExprTrait as _, IntoCondition as _, Query, UpdateStatement, Value,
};

use super::Statement;
use crate::dialect::{Backend, UpsertSyntax};
use crate::entity::{ColumnRole, Entity};
use crate::error::{Error, Result};

/// Which rows of an entity with a `soft_delete` column a repository sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum View {
    /// Rows not deleted: the default.
    #[default]
    Live,
    /// Every row, deleted or not.
    All,
    /// Deleted rows only.
    Deleted,
}

/// The name of the version column, if any.
pub(crate) fn version<E: Entity>() -> Option<&'static str> {
    E::version_column().map(|i| E::COLUMNS[i].name)
}

/// The name of the soft-delete column, if any.
pub(crate) fn soft_delete<E: Entity>() -> Option<&'static str> {
    E::soft_delete_column().map(|i| E::COLUMNS[i].name)
}

/// The condition on the rows `view` sees; `None` when it sees every row. An entity without a
/// soft-delete column has no deleted rows: it sees every row, or none of them in
/// [`View::Deleted`].
pub(crate) fn visible<E: Entity>(view: View) -> Option<Condition> {
    match (soft_delete::<E>(), view) {
        (_, View::All) | (None, View::Live) => None,
        (Some(column), View::Live) => Some(Expr::col(column).is_null().into_condition()),
        (Some(column), View::Deleted) => Some(Expr::col(column).is_not_null().into_condition()),
        (None, View::Deleted) => Some(Condition::any()),
    }
}

/// `condition`, restricted to the rows `view` sees.
pub(crate) fn within<E: Entity>(view: View, condition: Condition) -> Condition {
    both(condition, visible::<E>(view))
}

/// `condition AND extra`, without a `TRUE AND` when `condition` matches every row.
fn both(condition: Condition, extra: Option<Condition>) -> Condition {
    match extra {
        Some(extra) if condition == Condition::all() => extra,
        Some(extra) => Condition::all().add(condition).add(extra),
        None => condition,
    }
}

/// `condition`, restricted to the rows a soft delete in `view` may mark: the live ones it
/// sees (a deleted row keeps the time it was deleted).
pub(crate) fn deletable<E: Entity>(view: View, condition: Condition) -> Condition {
    let live = match view {
        View::Live | View::All => visible::<E>(View::Live),
        View::Deleted => Some(Condition::any()),
    };
    both(condition, live)
}

/// `condition`, restricted to the rows a purge in `view` removes: every row, or only the
/// deleted ones in [`View::Deleted`].
pub(crate) fn purgeable<E: Entity>(view: View, condition: Condition) -> Condition {
    match view {
        View::Deleted => within::<E>(View::Deleted, condition),
        View::Live | View::All => condition,
    }
}

/// The literal 1 a write adds to a version.
fn one() -> Expr {
    Expr::Constant(Value::Int(Some(1)))
}

/// `"version" = "version" + 1`, if the entity is versioned.
pub(crate) fn bump<E: Entity>() -> Option<(&'static str, Expr)> {
    version::<E>().map(|column| (column, Expr::col(column).add(one())))
}

/// Complete the SET list of an update of `E`'s rows: `updated_at` to `now` and the version
/// bump, unless `values` sets them already.
pub(crate) fn complete_sets<E: Entity>(values: &mut Vec<(&'static str, Expr)>, now: DateTime<Utc>) {
    for column in E::COLUMNS {
        if column.role == ColumnRole::UpdatedAt && !values.iter().any(|(n, _)| *n == column.name) {
            values.push((column.name, Expr::val(Value::ChronoDateTimeUtc(Some(now)))));
        }
    }
    if let Some((column, bump)) = bump::<E>()
        && !values.iter().any(|(n, _)| *n == column)
    {
        values.push((column, bump));
    }
}

/// The SET list of a soft delete at `now`: the soft-delete column, `updated_at` and the
/// version. `None` without a soft-delete column.
pub(crate) fn soft_delete_sets<E: Entity>(now: &Value) -> Option<Vec<(&'static str, Expr)>> {
    let column = soft_delete::<E>()?;
    let mut values = vec![(column, Expr::val(now.clone()))];
    for c in E::COLUMNS {
        if c.role == ColumnRole::UpdatedAt {
            values.push((c.name, Expr::val(now.clone())));
        }
    }
    values.extend(bump::<E>());
    Some(values)
}

/// Soft-delete the rows matching `condition` at `now`: `UPDATE <table> SET <soft-delete
/// column> = now, updated_at = now, version = version + 1 WHERE condition`. `None` without a
/// soft-delete column. The caller restricts `condition` with [`deletable`].
pub(crate) fn soft_delete_where<E: Entity>(
    condition: Condition,
    now: DateTime<Utc>,
) -> Option<UpdateStatement> {
    let values = soft_delete_sets::<E>(&Value::ChronoDateTimeUtc(Some(now)))?;
    Some(
        Query::update()
            .table(E::table())
            .values(values)
            .cond_where(condition)
            .take(),
    )
}

/// Delete the rows matching `condition` that `view` sees, rendered for `backend`: on an entity
/// with a soft-delete column mark the live ones deleted at `now` (see [`soft_delete_where`]),
/// else remove them.
pub(crate) fn delete_rows<E: Entity>(
    backend: Backend,
    view: View,
    condition: Condition,
    now: DateTime<Utc>,
) -> Statement {
    match soft_delete_where::<E>(deletable::<E>(view, condition.clone()), now) {
        Some(update) => Statement::build(&update, backend),
        None => Statement::build(
            &super::delete_where::<E>(within::<E>(view, condition)),
            backend,
        ),
    }
}

/// The values a soft delete by key binds, in the order of [`soft_delete_sets`] and then the
/// key (see `Fixed::Delete`).
pub(crate) fn soft_delete_values<E: Entity>(key: Vec<Value>, now: DateTime<Utc>) -> Vec<Value> {
    let now = Value::ChronoDateTimeUtc(Some(now));
    let timestamps = E::COLUMNS
        .iter()
        .filter(|c| c.role == ColumnRole::UpdatedAt)
        .count();
    let mut values = vec![now; 1 + timestamps];
    values.extend(key);
    values
}

/// Undelete the row matching `condition`: the soft-delete column to NULL, `updated_at` to
/// `now`, the version bumped. The caller adds the key and `<soft-delete column> IS NOT NULL`.
pub(crate) fn restore_sets<E: Entity>(now: DateTime<Utc>) -> Result<Vec<(&'static str, Expr)>> {
    let index = E::soft_delete_column().ok_or_else(|| no_soft_delete::<E>("restore"))?;
    let column = &E::COLUMNS[index];
    let mut values = vec![(column.name, Expr::val((column.null_value)()))];
    complete_sets::<E>(&mut values, now);
    Ok(values)
}

fn no_soft_delete<E: Entity>(operation: &str) -> Error {
    Error::validation(
        operation,
        format!(
            "{} has no #[repo(soft_delete)] column, so no row of it is ever soft-deleted",
            E::NAME
        ),
    )
}

/// The version `entity` holds, if `E` is versioned.
pub(crate) fn expected_version<E: Entity>(entity: &E) -> Result<Option<i64>> {
    let Some(index) = E::version_column() else {
        return Ok(None);
    };
    match entity.value_at(index)? {
        Value::BigInt(Some(v)) => Ok(Some(v)),
        Value::Int(Some(v)) => Ok(Some(i64::from(v))),
        Value::SmallInt(Some(v)) => Ok(Some(i64::from(v))),
        other => Err(Error::validation(
            E::COLUMNS[index].field,
            format!("a version is an integer, not {other:?}"),
        )),
    }
}

/// The condition on the conflict row an upsert may update, where it has `ON CONFLICT … DO
/// UPDATE … WHERE`: the row holds the incoming version, or it is soft-deleted (a deleted row
/// has no version the caller could have read: the upsert revives it).
pub(crate) fn upsert_version_check<E: Entity>() -> Option<Expr> {
    let version = version::<E>()?;
    let same = Expr::col((E::TABLE, version)).eq(Expr::col(("excluded", version)));
    Some(match soft_delete::<E>() {
        Some(deleted) => same.or(Expr::col((E::TABLE, deleted)).is_not_null()),
        None => same,
    })
}

/// The version of the conflict row on upsert: `version + 1`. Where the upsert is `ON
/// DUPLICATE KEY UPDATE` (no WHERE) and it checks the version, a guard instead: `version + 1`
/// when the existing row holds the incoming version (or is soft-deleted), else NULL, which
/// fails the statement (the version is NOT NULL) and writes nothing; [`stale_upsert`] reads
/// that failure as [`Error::StaleVersion`]. It comes before every other column in the update
/// list, which MariaDB assigns from left to right.
pub(crate) fn upsert_version_value<E: Entity>(backend: Backend, check: bool) -> Option<Expr> {
    let version = version::<E>()?;
    if !check || backend.capabilities().upsert != UpsertSyntax::OnDuplicateKey {
        return Some(Expr::col((E::TABLE, version)).add(one()));
    }
    // Qualified: in `INSERT … SELECT` a bare name could also be the selected row's column.
    let table = E::TABLE;
    let deleted = soft_delete::<E>()
        .map(|d| format!(" OR \"{table}\".\"{d}\" IS NOT NULL"))
        .unwrap_or_default();
    Some(Expr::cust(format!(
        "IF(\"{table}\".\"{version}\" = VALUES(\"{version}\"){deleted}, \
         \"{table}\".\"{version}\" + 1, NULL)"
    )))
}

/// The error an upsert of `entity` raised, with the version guard's failure (NOT NULL on the
/// version column) read as what it means: [`Error::StaleVersion`].
pub(crate) fn stale_upsert<E: Entity>(entity: &E, error: Error) -> Error {
    match &error {
        Error::NotNull { column, .. } if Some(column.as_str()) == version::<E>() => {
            match stale_on_conflict_key(entity) {
                Ok(stale) => stale,
                Err(other) => other,
            }
        }
        _ => error,
    }
}

/// [`Error::StaleVersion`] for the row holding `entity`'s conflict key.
pub(crate) fn stale_on_conflict_key<E: Entity>(entity: &E) -> Result<Error> {
    let expected = expected_version(entity)?.unwrap_or_default();
    let key = E::conflict_key().unwrap_or_default();
    if E::is_primary_key(key) {
        return Ok(Error::stale_version::<E>(&entity.id(), expected));
    }
    let mut parts = Vec::with_capacity(key.len());
    for column in key {
        let index = E::column_index(column).unwrap_or_default();
        parts.push(format!("{column} = {}", human(&entity.value_at(index)?)));
    }
    Ok(Error::StaleVersion {
        entity: E::NAME,
        key: parts.join(", "),
        expected,
    })
}

/// A key value as a reader of an error message wants it.
fn human(value: &Value) -> String {
    match value {
        Value::String(Some(s)) => format!("{s:?}"),
        Value::BigInt(Some(n)) => n.to_string(),
        Value::Int(Some(n)) => n.to_string(),
        Value::SmallInt(Some(n)) => n.to_string(),
        Value::Uuid(Some(u)) => u.to_string(),
        Value::Bool(Some(b)) => b.to_string(),
        Value::ChronoDateTimeUtc(Some(t)) => t.to_rfc3339(),
        Value::ChronoDate(Some(d)) => d.to_string(),
        Value::Enum(sea_query::OptionEnum::Some(e)) => e.value.to_string(),
        other => format!("{other:?}"),
    }
}
