//! The value an upsert assigns to a column of the existing row, per [`ConflictAction`].
//!
//! Written as plain SQL that reads the same on every backend, over the existing value
//! (`"table"."c"`, qualified because in MariaDB's `INSERT … SELECT` a bare name could be the
//! selected row's column) and the incoming one (`"excluded"."c"`, or `VALUES("c")` where the
//! upsert is `ON DUPLICATE KEY UPDATE`). Each expression reads only its own column and the
//! soft-delete column, which is assigned after it.

use sea_query::Expr;

use crate::conflict_action::ConflictAction;
use crate::dialect::{Backend, UpsertSyntax};
use crate::entity::Entity;

/// What an upsert assigns to one column.
pub(crate) enum Set {
    /// The incoming value: the column joins the plain update list.
    Incoming,
    /// Nothing: the existing value stays.
    Existing,
    /// An expression over both.
    Computed(Expr),
}

/// The incoming value of `column` in the update list of an upsert on `backend`.
pub(crate) fn incoming(backend: Backend, column: &str) -> String {
    if backend.capabilities().upsert == UpsertSyntax::OnDuplicateKey {
        format!("VALUES(\"{column}\")")
    } else {
        format!("\"excluded\".\"{column}\"")
    }
}

/// What an upsert on `backend` assigns to `column` of `E` under `action`. A NULL side counts
/// as absent: `add` keeps the other side, `greatest` and `least` ignore it (as PostgreSQL's
/// `GREATEST` does; MariaDB's would return NULL). On an entity with a soft-delete column, a
/// deleted row takes the incoming value, as a new row would.
pub(crate) fn action_value<E: Entity>(
    backend: Backend,
    column: &'static str,
    action: ConflictAction,
) -> Set {
    let old = format!("\"{}\".\"{column}\"", E::TABLE);
    let new = incoming(backend, column);
    let merged = match action {
        ConflictAction::Replace => return Set::Incoming,
        ConflictAction::Keep => old.clone(),
        ConflictAction::Add => format!("COALESCE({old} + {new}, {old}, {new})"),
        ConflictAction::Greatest => {
            format!("CASE WHEN {old} IS NULL OR {new} > {old} THEN {new} ELSE {old} END")
        }
        ConflictAction::Least => {
            format!("CASE WHEN {old} IS NULL OR {new} < {old} THEN {new} ELSE {old} END")
        }
    };
    let Some(deleted) = E::soft_delete_column().map(|i| E::COLUMNS[i].name) else {
        return if action == ConflictAction::Keep {
            Set::Existing
        } else {
            Set::Computed(Expr::cust(merged))
        };
    };
    Set::Computed(Expr::cust(format!(
        "CASE WHEN \"{}\".\"{deleted}\" IS NOT NULL THEN {new} ELSE {merged} END",
        E::TABLE
    )))
}
