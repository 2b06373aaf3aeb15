//! What an upsert does with a column of the row it meets on its conflict key.
//!
//! By default an upsert replaces every column but the key, `created_at` and the version with
//! the incoming value. A column can instead keep the existing value, add the incoming one to
//! it, or keep the greater or the lesser of the two: declared on the entity with
//! `#[repo(on_conflict = "keep" | "add" | "greatest" | "least" | "replace")]`, or for one call
//! with a [`Conflict`] given to [`Repository::upsert_with`](crate::Repository::upsert_with),
//! [`bulk_upsert_with`](crate::Repository::bulk_upsert_with) or
//! [`bulk_upsert_returning_with`](crate::Repository::bulk_upsert_returning_with).
//!
//! The actions mean the same on every backend. A NULL side counts as absent: `add` of a
//! value to NULL stores the value (NULL only when both are NULL), and `greatest` / `least`
//! ignore a NULL side as PostgreSQL's `GREATEST` / `LEAST` do. A soft-deleted row that an
//! upsert revives takes the incoming values: it is gone, so there is nothing to keep or add to.

use std::marker::PhantomData;

pub use crate::conflict_action::{ConflictAction, Numeric, Ordered};
use crate::entity::{ColumnRole, Entity};
use crate::error::{Error, Result};
use crate::filter::Column;

/// The conflict actions of one upsert call: they override the entity's declared actions for
/// the columns they name, the others keep theirs.
///
/// ```
/// # use repo_core::prelude::*;
/// # use repo_core::Conflict;
/// # #[derive(Debug, Clone, Repository)]
/// # #[repo(table = "hits", unique(path))]
/// # pub struct Hit {
/// #     #[repo(primary_key, auto)]
/// #     pub id: i64,
/// #     pub path: String,
/// #     pub count: i64,
/// #     pub note: Option<String>,
/// # }
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> repo_core::Result<()> {
/// let db = Db::connect("sqlite::memory:").await?;
/// db.create_schema::<Hit>().await?;
/// let repo = HitRepository::new(&db);
/// let hit = |note: &str| Hit { id: 0, path: "/".into(), count: 1, note: Some(note.into()) };
/// repo.upsert(&hit("first")).await?;
/// let stored = repo
///     .upsert_with(&hit("second"), Conflict::new().add(Hit::COUNT).keep(Hit::NOTE))
///     .await?;
/// assert_eq!((stored.count, stored.note.as_deref()), (2, Some("first")));
/// # Ok(()) }
/// ```
pub struct Conflict<E> {
    actions: Vec<(&'static str, ConflictAction)>,
    _entity: PhantomData<fn() -> E>,
}

impl<E> Clone for Conflict<E> {
    fn clone(&self) -> Self {
        Self {
            actions: self.actions.clone(),
            _entity: PhantomData,
        }
    }
}

impl<E> std::fmt::Debug for Conflict<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conflict")
            .field("actions", &self.actions)
            .finish()
    }
}

impl<E> Default for Conflict<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Conflict<E> {
    /// No override: every column does what the entity declares.
    #[must_use]
    pub fn new() -> Self {
        Self {
            actions: Vec::new(),
            _entity: PhantomData,
        }
    }

    fn with<T>(mut self, column: Column<E, T>, action: ConflictAction) -> Self {
        let name = column.name();
        self.actions.retain(|(n, _)| *n != name);
        self.actions.push((name, action));
        self
    }

    /// Write the incoming value to `column`, whatever the entity declares.
    #[must_use]
    pub fn replace<T>(self, column: Column<E, T>) -> Self {
        self.with(column, ConflictAction::Replace)
    }

    /// Leave the existing value of `column`.
    #[must_use]
    pub fn keep<T>(self, column: Column<E, T>) -> Self {
        self.with(column, ConflictAction::Keep)
    }

    /// Add the incoming value of `column` to the existing one.
    // Named after the action, as `#[repo(on_conflict = "add")]` spells it; not arithmetic.
    #[allow(clippy::should_implement_trait)]
    #[must_use]
    pub fn add<T: Numeric>(self, column: Column<E, T>) -> Self {
        self.with(column, ConflictAction::Add)
    }

    /// Keep the greater of the existing and the incoming value of `column` (a NULL side is
    /// ignored).
    #[must_use]
    pub fn greatest<T: Ordered>(self, column: Column<E, T>) -> Self {
        self.with(column, ConflictAction::Greatest)
    }

    /// Keep the lesser of the existing and the incoming value of `column` (a NULL side is
    /// ignored).
    #[must_use]
    pub fn least<T: Ordered>(self, column: Column<E, T>) -> Self {
        self.with(column, ConflictAction::Least)
    }
}

impl<E: Entity> Conflict<E> {
    /// The action of every column of `E`, in [`COLUMNS`](Entity::COLUMNS) order: the declared
    /// ones with these overrides. An override of a column an upsert does not update from the
    /// incoming row (a key, a timestamp, the version, the soft-delete column) is an
    /// [`Error::Validation`].
    pub(crate) fn resolve(&self) -> Result<Vec<ConflictAction>> {
        let key = E::conflict_key().unwrap_or_default();
        let mut actions = declared::<E>();
        for (name, action) in &self.actions {
            let index = E::column_index(name).ok_or_else(|| {
                Error::validation("conflict", format!("{} has no column `{name}`", E::NAME))
            })?;
            let column = &E::COLUMNS[index];
            if column.role != ColumnRole::Plain || key.contains(name) {
                return Err(Error::validation(
                    "conflict",
                    format!(
                        "`{}` of {} is a key or set by the framework; an upsert decides its \
                         value, so it takes no conflict action",
                        column.field,
                        E::NAME
                    ),
                ));
            }
            actions[index] = *action;
        }
        Ok(actions)
    }
}

/// The declared action of every column of `E`, in [`COLUMNS`](Entity::COLUMNS) order.
pub(crate) fn declared<E: Entity>() -> Vec<ConflictAction> {
    E::COLUMNS.iter().map(|c| c.on_conflict).collect()
}
