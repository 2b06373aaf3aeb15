//! The audit log's rows ([`AuditEntry`]) and how a write's entries are made from the rows it
//! changed: each row's key and columns as JSON, what changed between the row as it was and as
//! it is. The log itself, and how to read it, is [`crate::audit`].

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value as Json};

use sea_query::{ColumnType, StringLen};

use crate::dialect::Backend;
use crate::entity::{ColumnRole, Entity};
use crate::error::Result;
use crate::field::DbField;
use crate::filter::Filter;
use crate::row::Row;

/// What a write did to one row; stored as its [`label`](AuditOperation::label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditOperation {
    /// The row was created (by an insert or an upsert that found no row).
    Insert,
    /// Columns of the row changed (an update, or an upsert that met the row).
    Update,
    /// The row was removed from the table (a delete, or a purge).
    Delete,
    /// The row was marked deleted (`#[repo(soft_delete)]`).
    SoftDelete,
    /// A soft-deleted row was made live again (a restore, or an upsert that revived it).
    Restore,
}

impl AuditOperation {
    const ALL: [Self; 5] = [
        Self::Insert,
        Self::Update,
        Self::Delete,
        Self::SoftDelete,
        Self::Restore,
    ];

    /// The label stored in the `operation` column: `insert`, `update`, `delete`,
    /// `soft_delete`, `restore`.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::Insert => "insert",
            Self::Update => "update",
            Self::Delete => "delete",
            Self::SoftDelete => "soft_delete",
            Self::Restore => "restore",
        }
    }
}

// Text rather than an enum type: the log's table is the same plain DDL on every backend.
impl DbField for AuditOperation {
    type Scalar = Self;
    fn to_value(&self) -> sea_query::Value {
        sea_query::Value::String(Some(self.label().to_owned()))
    }
    fn null_value() -> sea_query::Value {
        sea_query::Value::String(None)
    }
    fn from_value(value: &sea_query::Value) -> Option<Self> {
        let label = String::from_value(value)?;
        Self::ALL
            .into_iter()
            .find(|operation| operation.label() == label)
    }
    fn decode(row: &Row, index: usize) -> Result<Self, sqlx::Error> {
        let label: String = row.try_get(index)?;
        Self::ALL
            .into_iter()
            .find(|operation| operation.label() == label)
            .ok_or_else(|| {
                sqlx::Error::Decode(format!("`{label}` is not an audit operation").into())
            })
    }
    fn column_type(_: Backend) -> ColumnType {
        ColumnType::String(StringLen::N(16))
    }
}

/// One changed row of an audited entity, as the `repo_audit` table stores it.
///
/// `old_values` and `new_values` are JSON objects keyed by column name: every column for an
/// insert (new only) or a delete (old only), the columns that changed otherwise. Values are
/// plain JSON: numbers, strings (timestamps as `2026-12-02T10:00:00.123456`, bytes as
/// base64url), booleans, null.
#[derive(Debug, Clone, PartialEq, repo_derive::Repository)]
#[repo(
    table = "repo_audit",
    no_new,
    index(entity, entity_key),
    index(actor),
    index(changed_at)
)]
pub struct AuditEntry {
    /// Position in the log, in the order entries were written: a row's later changes have
    /// greater ids (its writers queue on the row's lock); across rows, a transaction that
    /// commits later may hold smaller ids than one that committed before it.
    #[repo(primary_key, auto)]
    pub id: i64,
    /// The table of the changed row, qualified by its schema when it has one (`sales.orders`).
    pub entity: String,
    /// The row's primary key as JSON: the value (`42`, `"abc"`), or an array of the key
    /// columns' values for a composite key (`[1,3]`).
    pub entity_key: String,
    /// What happened to the row.
    pub operation: AuditOperation,
    /// Who did it, as the unit of work named them.
    pub actor: Option<String>,
    /// When (the time of the write, in the writer's clock).
    pub changed_at: DateTime<Utc>,
    /// The changed columns' values before the write.
    pub old_values: Option<Json>,
    /// The changed columns' values after the write.
    pub new_values: Option<Json>,
}

impl AuditEntry {
    /// The entries of entity `E`.
    #[must_use]
    pub fn of<E: Entity>() -> Filter<Self> {
        Self::ENTITY.eq(entity_name::<E>())
    }

    /// The entries of the row of `E` with primary key `id`.
    #[must_use]
    pub fn of_row<E: Entity>(id: impl Into<E::Id>) -> Filter<Self> {
        let id = id.into();
        Self::of::<E>().and(Self::ENTITY_KEY.eq(key_json(&crate::entity::Key::key_values(&id))))
    }
}

/// The name entries of `E` carry.
pub(crate) fn entity_name<E: Entity>() -> String {
    match E::SCHEMA {
        Some(schema) => format!("{schema}.{}", E::TABLE),
        None => E::TABLE.to_owned(),
    }
}

/// A primary key as the log stores it.
fn key_json(key: &[sea_query::Value]) -> String {
    let json = match key {
        [one] => crate::cursor::value_to_json(one),
        all => Json::Array(all.iter().map(crate::cursor::value_to_json).collect()),
    };
    json.to_string()
}

/// Every column of `entity` as JSON, in declaration order.
fn row_json<E: Entity>(entity: &E) -> Result<Vec<Json>> {
    let mut values = Vec::with_capacity(E::COLUMNS.len());
    entity.push_values(&mut values)?;
    Ok(values.iter().map(crate::cursor::value_to_json).collect())
}

/// The rows as the log keys them, each with every column as JSON (in declaration order).
pub(crate) type Snapshot = Vec<(String, Vec<Json>)>;

/// `rows` as the log keys them and stores them.
pub(crate) fn snapshot<E: Entity>(rows: &[E]) -> Result<Snapshot> {
    rows.iter()
        .map(|row| Ok((row_key::<E>(row), row_json(row)?)))
        .collect()
}

/// The key the log files `row` under.
pub(crate) fn row_key<E: Entity>(row: &E) -> String {
    key_json(&crate::entity::Key::key_values(&row.id()))
}

/// The rows `history` (entries of `E`, oldest first) says exist at its end, as far as it
/// knows them: from the last insert of each key on, every update applied; a delete forgets
/// the row.
pub(crate) fn replay<E: Entity>(history: &[AuditEntry]) -> Snapshot {
    let mut rows: HashMap<&str, Option<Map<String, Json>>> = HashMap::new();
    for entry in history {
        let state = rows.entry(entry.entity_key.as_str()).or_default();
        let new = entry.new_values.as_ref().and_then(Json::as_object);
        match (entry.operation, new) {
            (AuditOperation::Delete, _) => *state = None,
            (AuditOperation::Insert, Some(values)) => *state = Some(values.clone()),
            (_, Some(values)) => {
                if let Some(state) = state {
                    state.extend(values.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
            (_, None) => {}
        }
    }
    rows.into_iter()
        .filter_map(|(key, state)| {
            let state = state?;
            let values = E::COLUMNS
                .iter()
                .map(|c| state.get(c.name).cloned().unwrap_or(Json::Null))
                .collect();
            Some((key.to_owned(), values))
        })
        .collect()
}

/// The entries describing how the rows `before` (as they were) became `after` (as they are),
/// matched by primary key: a row only in `after` was inserted, one only in `before` deleted.
/// Rows that did not change get no entry.
pub(crate) fn entries<E: Entity>(
    before: Snapshot,
    after: &[E],
    actor: Option<&Arc<str>>,
    at: DateTime<Utc>,
) -> Result<Vec<AuditEntry>> {
    let mut order = Vec::with_capacity(before.len());
    let mut old: HashMap<String, Vec<Json>> = HashMap::with_capacity(before.len());
    for (key, values) in before {
        order.push(key.clone());
        old.insert(key, values);
    }
    for key in &order {
        check_key::<E>(key)?;
    }
    let entry = |key: String, operation, old_values, new_values| AuditEntry {
        id: 0,
        entity: entity_name::<E>(),
        entity_key: key,
        operation,
        actor: actor.map(ToString::to_string),
        changed_at: at,
        old_values,
        new_values,
    };
    let mut entries = Vec::with_capacity(after.len().max(order.len()));
    for row in after {
        let key = row_key::<E>(row);
        check_key::<E>(&key)?;
        let new = row_json(row)?;
        match old.remove(&key) {
            None => entries.push(entry(
                key,
                AuditOperation::Insert,
                None,
                Some(object::<E>(&new)),
            )),
            Some(old) => {
                let (was, now) = changed::<E>(&old, &new);
                if was.is_empty() {
                    continue;
                }
                let operation = operation::<E>(&old, &new);
                entries.push(entry(
                    key,
                    operation,
                    Some(Json::Object(was)),
                    Some(Json::Object(now)),
                ));
            }
        }
    }
    for key in order {
        if let Some(old) = old.remove(&key) {
            entries.push(entry(
                key,
                AuditOperation::Delete,
                Some(object::<E>(&old)),
                None,
            ));
        }
    }
    Ok(entries)
}

/// The longest key the log stores: MariaDB's `varchar(255)`, the same limit everywhere.
const MAX_KEY: usize = 255;

/// Refuse a key the log cannot store whole (nothing is written: the write's group rolls back).
fn check_key<E: Entity>(key: &str) -> Result<()> {
    if key.chars().count() > MAX_KEY {
        return Err(crate::error::Error::validation(
            "primary key",
            format!(
                "{} is audited, and the audit log holds keys of up to {MAX_KEY} characters \
                 as JSON; this one is longer",
                E::NAME
            ),
        ));
    }
    Ok(())
}

/// Every column, by name.
fn object<E: Entity>(values: &[Json]) -> Json {
    Json::Object(
        E::COLUMNS
            .iter()
            .zip(values)
            .map(|(column, value)| (column.name.to_owned(), value.clone()))
            .collect(),
    )
}

/// The columns whose values differ: their old values and their new ones.
fn changed<E: Entity>(old: &[Json], new: &[Json]) -> (Map<String, Json>, Map<String, Json>) {
    let mut was = Map::new();
    let mut now = Map::new();
    for ((column, old), new) in E::COLUMNS.iter().zip(old).zip(new) {
        if old != new {
            was.insert(column.name.to_owned(), old.clone());
            now.insert(column.name.to_owned(), new.clone());
        }
    }
    (was, now)
}

/// What a change of a row that exists before and after is: a soft delete or restore when the
/// soft-delete column went from NULL to a time or back, else an update.
fn operation<E: Entity>(old: &[Json], new: &[Json]) -> AuditOperation {
    let deleted = E::COLUMNS
        .iter()
        .position(|c| c.role == ColumnRole::SoftDelete)
        .map(|i| (old[i].is_null(), new[i].is_null()));
    match deleted {
        Some((true, false)) => AuditOperation::SoftDelete,
        Some((false, true)) => AuditOperation::Restore,
        _ => AuditOperation::Update,
    }
}

#[cfg(test)]
mod tests {
    use super::AuditEntry;
    use crate::dialect::Backend;
    use crate::entity::Fixed;
    use crate::statements::{View, build_fixed};

    #[test]
    fn the_readme_shows_how_entries_are_inserted() {
        let readme = include_str!("../../../README.md");
        let entries = build_fixed::<AuditEntry>(Backend::Postgres, Fixed::BulkInsert, View::Live);
        assert!(readme.contains(&entries), "the README lacks\n{entries}");
    }
}
