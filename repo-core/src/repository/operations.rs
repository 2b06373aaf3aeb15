//! The writing operations of [`Repository`], each in a tracing span of its own.
//!
//! On a versioned entity (`#[repo(version)]`) every write adds 1 to the version, and the
//! single-row writes of an entity (`update`, `delete_entity`, `upsert`) only change a row
//! that still holds the version the entity carries: else [`Error::StaleVersion`] and nothing
//! is written. On an entity with a soft-delete column, deletes mark rows deleted instead of
//! removing them (see `soft_delete` for the rest).

use crate::entity::Key as _;
use crate::entity::Writable;
use std::borrow::Cow;
use std::future::Future;

use super::Traced as _;
use sea_query::{Expr, ExprTrait as _};

use super::audit::{conflict_rows, in_group};
use super::{Repository, not_found, now, record_rows};
use crate::conflict::{Conflict, declared};
use crate::entity::Fixed;
use crate::error::{Error, Result};
use crate::statements::Statement;
use crate::statements::{self, conflict_key, insert_values};

impl<E: Writable> Repository<'_, E> {
    /// Insert `entity`; the stored row, with its generated key and timestamps. A version is
    /// stored as the entity holds it (`insert_new` starts at 0); a soft-delete column is
    /// stored NULL: a new row is live.
    pub async fn insert(&self, entity: &E) -> Result<E> {
        async {
            if Self::audited() {
                return in_group!(self, |repo| async {
                    let row = repo.insert_row(entity).await?;
                    repo.record(&[], std::slice::from_ref(&row)).await?;
                    Ok(row)
                });
            }
            self.insert_row(entity).await
        }
        .traced::<E>("insert")
        .await
    }

    async fn insert_row(&self, entity: &E) -> Result<E> {
        {
            let mut values = Vec::with_capacity(E::COLUMNS.len());
            insert_values(entity, now(), &mut values)?;
            let sql = self.cached(Fixed::Insert);
            self.fetch_written(Statement::new(sql, values), true, true)
                .await?
                .into_iter()
                .next()
                .ok_or_else(|| not_found::<E>(&entity.id()))
        }
    }

    /// Replace every column of the row with `entity`'s primary key except `created_at` and a
    /// soft-delete column (`updated_at` is set to now); the stored row. On a versioned entity
    /// only while the row holds the entity's version, which the update adds 1 to; another
    /// version is [`Error::StaleVersion`]. A missing row (or one the view does not see, such as
    /// a soft-deleted one) is [`Error::NotFound`].
    pub async fn update(&self, entity: &E) -> Result<E> {
        async {
            if Self::audited() {
                let key = statements::key_condition::<E>(entity.id().key_values());
                return in_group!(self, |repo| async {
                    let before = repo.lock_rows(key.clone()).await?;
                    let row = repo.update_row(entity).await?;
                    repo.record(&before, std::slice::from_ref(&row)).await?;
                    Ok(row)
                });
            }
            self.update_row(entity).await
        }
        .traced::<E>("update")
        .await
    }

    async fn update_row(&self, entity: &E) -> Result<E> {
        {
            let values = statements::update_values(entity, now())?;
            let update = Statement::new(self.fixed(Fixed::Update), values);
            if self.backend().capabilities().returning_on_update {
                return match self.fetch_changed(update).await?.into_iter().next() {
                    Some(row) => Ok(row),
                    None => Err(self.missing_or_stale(entity).await),
                };
            }
            // Update, then read the row back, in one transaction.
            let key = entity.id().key_values();
            let updated = self
                .atomically(move |repo| {
                    let (update, key) = (update.clone(), key.clone());
                    Box::pin(async move {
                        if repo.execute_on_key(update, &key).await? == 0 {
                            return Ok(None);
                        }
                        repo.fetch_by_key(key).await
                    })
                })
                .await?;
            match updated {
                Some(row) => Ok(row),
                None => Err(self.missing_or_stale(entity).await),
            }
        }
    }

    /// Why a single-row write of `entity` matched no row: [`Error::StaleVersion`] when the
    /// row is there (at another version), else [`Error::NotFound`].
    async fn missing_or_stale(&self, entity: &E) -> Error {
        let expected = match statements::expected_version(entity) {
            Ok(Some(expected)) => expected,
            Ok(None) => return not_found::<E>(&entity.id()),
            Err(error) => return error,
        };
        let id = entity.id();
        match self.fetch_by_key(id.key_values()).await {
            Ok(Some(_)) => Error::stale_version::<E>(&id, expected),
            Ok(None) => not_found::<E>(&id),
            Err(error) => error,
        }
    }

    /// Delete the row with primary key `id` (on an entity with a soft-delete column: mark it
    /// deleted now, if it is live); whether there was one. It does not look at a version: to
    /// delete only the version you read, use [`delete_entity`](Repository::delete_entity).
    pub fn delete(&self, id: impl Into<E::Id>) -> impl Future<Output = Result<bool>> + Send + '_ {
        let id = id.into();
        async move {
            if Self::audited() {
                let key = statements::key_condition::<E>(id.key_values());
                let n = self.delete_rows(key, false).await?;
                record_rows(n);
                return Ok(n > 0);
            }
            let sql = self.fixed(Fixed::Delete);
            let key = id.key_values();
            let values = if E::soft_delete_column().is_some() {
                statements::soft_delete_values::<E>(key.clone(), now())
            } else {
                key.clone()
            };
            let n = self
                .execute_on_key(Statement::new(sql, values), &key)
                .await?;
            record_rows(n);
            Ok(n > 0)
        }
        .traced::<E>("delete")
    }

    /// Delete the row `entity` was read from (on an entity with a soft-delete column: mark it
    /// deleted now). On a versioned entity only while the row holds the entity's version, else
    /// [`Error::StaleVersion`] and nothing changes; a missing row is [`Error::NotFound`].
    pub async fn delete_entity(&self, entity: &E) -> Result<()> {
        async {
            let mut condition = statements::key_condition::<E>(entity.id().key_values());
            if let (Some(index), Some(version)) =
                (E::version_column(), statements::expected_version(entity)?)
            {
                condition = condition.add(Expr::col(E::COLUMNS[index].name).eq(version));
            }
            let n = self.delete_rows(condition, false).await?;
            record_rows(n);
            if n == 0 {
                return Err(self.missing_or_stale(entity).await);
            }
            Ok(())
        }
        .traced::<E>("delete_entity")
        .await
    }

    /// Insert `entity`, or when a row with the same conflict key exists (the first declared
    /// unique key, else the primary key) update every other column but `created_at`; the
    /// stored row. `updated_at` is set to now either way. A column declared with
    /// `#[repo(on_conflict = "...")]` is kept, added to or compared instead of replaced (see
    /// [`Conflict`]; [`upsert_with`](Repository::upsert_with) chooses per call).
    ///
    /// On a versioned entity an insert stores the entity's version, and an update needs the
    /// existing row to hold that version (else [`Error::StaleVersion`], nothing written) and
    /// adds 1 to it. On an entity with a soft-delete column the stored row is live: a
    /// soft-deleted row holding the key is revived (its soft-delete column cleared) and
    /// updated, whatever version it holds.
    pub async fn upsert(&self, entity: &E) -> Result<E> {
        async {
            self.upsert_sql(entity, Cow::Borrowed(self.cached(Fixed::Upsert)))
                .await
        }
        .traced::<E>("upsert")
        .await
    }

    /// [`upsert`](Repository::upsert) with the conflict actions of `conflict` for the columns
    /// it names (the others do what the entity declares): `Conflict::new().add(Tally::HITS)`
    /// adds the incoming hits to those of an existing row. See [`Conflict`].
    pub async fn upsert_with(&self, entity: &E, conflict: Conflict<E>) -> Result<E> {
        async {
            let actions = conflict.resolve()?;
            let sql = if actions == declared::<E>() {
                Cow::Borrowed(self.cached(Fixed::Upsert))
            } else {
                Cow::Owned(statements::build_insert_statement::<E>(
                    self.backend(),
                    1,
                    Some(statements::Upsert::CheckAndBump),
                    true,
                    &actions,
                ))
            };
            self.upsert_sql(entity, sql).await
        }
        .traced::<E>("upsert_with")
        .await
    }

    async fn upsert_sql(&self, entity: &E, sql: Cow<'static, str>) -> Result<E> {
        conflict_key::<E>()?;
        if Self::audited() {
            let conflicting = conflict_rows::<E>(&[entity])?;
            return in_group!(self, |repo| async {
                let before = repo.lock_rows(conflicting.clone()).await?;
                let row = repo.upsert_row(entity, sql.clone()).await?;
                repo.record_upsert(&before, std::slice::from_ref(&row))
                    .await?;
                Ok(row)
            });
        }
        self.upsert_row(entity, sql).await
    }

    async fn upsert_row(&self, entity: &E, sql: Cow<'static, str>) -> Result<E> {
        let mut values = Vec::with_capacity(E::COLUMNS.len());
        statements::upsert_values(self.backend(), entity, now(), &mut values)?;
        let stored = self
            .fetch_changed(Statement::new(sql, values))
            .await
            .map(|rows| rows.into_iter().next())
            .map_err(|e| crate::backend::upsert_errors::upsert_error::<E>(self.backend(), e))
            .map_err(|e| statements::stale_upsert(entity, e))?;
        match stored {
            Some(row) => Ok(row),
            // The conflict row refused the update: it holds another version.
            None if E::version_column().is_some() => {
                Err(statements::stale_on_conflict_key(entity)?)
            }
            None => Err(not_found::<E>(&entity.id())),
        }
    }
}
