//! The errors of upserts whose backend writes them `ON DUPLICATE KEY UPDATE`, read as what they
//! mean: the statement a guard refused is a conflict on another unique key.

use crate::dialect::Backend;
use crate::entity::Entity;
use crate::error::Error;
use crate::statements::{REFUSED, duplicate_key_guard};

/// Whether `error` is a statement that [`duplicate_key_guard`] failed by assigning [`REFUSED`]
/// to a generated key: a clash on another unique key, refused as a unique index refuses one.
/// The server undoes that statement alone (a value strict mode refuses is an error of the
/// statement, not of the transaction), so a session goes on after it as after a
/// [`Error::Conflict`], which [`upsert_error`] makes of it.
pub(crate) fn refused_by_guard(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.message().contains(REFUSED))
}

/// The error an upsert's [`duplicate_key_guard`] raises (NOT NULL on the primary key) as what
/// it means: a conflict on a key other than the conflict key, named when only one can clash.
pub(crate) fn upsert_error<E: Entity>(backend: Backend, error: Error) -> Error {
    let (column, source) = match error {
        Error::NotNull { column, source, .. } => (column, source),
        Error::Database(source) if E::generated_key().is_some() && refused_by_guard(&source) => {
            (E::PRIMARY_KEY[0].to_owned(), source)
        }
        other => return other,
    };
    let key = E::conflict_key().unwrap_or_default();
    if column != E::PRIMARY_KEY[0] || duplicate_key_guard::<E>(backend, key).is_none() {
        return Error::NotNull {
            entity: E::NAME,
            column,
            source,
        };
    }
    let mut clashing: Vec<String> = E::UNIQUE_KEYS
        .iter()
        .filter(|unique| **unique != key)
        .map(|unique| crate::schema::unique_key_name(E::TABLE, unique))
        .collect();
    if E::generated_key().is_none() && !E::is_primary_key(key) {
        clashing.insert(0, crate::schema::primary_key_name(E::TABLE));
    }
    Error::Conflict {
        entity: E::NAME,
        constraint: clashing.join(" or "),
        source,
    }
}
