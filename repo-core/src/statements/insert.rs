//! `INSERT` and upsert statements of an entity: the columns an insert names, the values it binds,
//! and the text of one statement of any number of rows with its conflict clause.

use chrono::{DateTime, Utc};
use sea_query::{Expr, OnConflict, Query, Value};

use super::{Statement, conflict, safety, upsert};
use crate::conflict::ConflictAction;
use crate::dialect::Backend;
use crate::entity::{ColumnRole, Entity};
use crate::error::{Error, Result};

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
        if check && backend.capabilities().upsert == crate::dialect::UpsertSyntax::OnConflict {
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
