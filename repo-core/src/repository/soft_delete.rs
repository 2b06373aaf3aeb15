//! Soft delete (`#[repo(soft_delete)] deleted_at: Option<DateTime<Utc>>`): the views that
//! see deleted rows, and the operations on them.
//!
//! `delete`, `delete_entity` and `delete_where` set the column to the time of the delete
//! instead of removing rows; every read, `update`, `update_where`, the updates that return
//! rows and [`select`](Repository::select) see live rows only, unless the repository is
//! [`with_deleted`](Repository::with_deleted) or [`only_deleted`](Repository::only_deleted).
//! A deleted row still holds its unique keys: inserting its key again is
//! [`Error::Conflict`](crate::Error::Conflict), while `upsert` on its key revives it.

use crate::entity::Key as _;
use crate::entity::Writable;
use std::future::Future;

use super::Traced as _;
use sea_query::Condition;

use super::{Repository, now, record_rows};
use crate::entity::Entity;
use crate::error::Result;
use crate::exec::Statement;
use crate::filter::Filter;
use crate::statements::{self, View};

impl<'a, E: Entity> Repository<'a, E> {
    /// This repository seeing every row, soft-deleted or not, in every operation (reads,
    /// `update`, `update_where`, [`select`](Repository::select), …). On an entity without a
    /// soft-delete column it is the repository itself.
    #[must_use]
    pub fn with_deleted(&self) -> Repository<'a, E> {
        let mut repo = self.clone();
        if E::soft_delete_column().is_some() {
            repo.view = View::All;
        }
        repo
    }

    /// This repository seeing only soft-deleted rows, in every operation. On an entity without
    /// a soft-delete column it sees no row.
    #[must_use]
    pub fn only_deleted(&self) -> Repository<'a, E> {
        let mut repo = self.clone();
        repo.view = View::Deleted;
        repo
    }

    /// Undelete the soft-deleted row with primary key `id`: clear its soft-delete column, set
    /// `updated_at` to now and add 1 to its version; the stored row. [`Error::NotFound`] when
    /// no deleted row has that key (a live row included), and
    /// [`Error::Validation`](crate::Error::Validation) on an entity without a soft-delete
    /// column.
    ///
    /// [`Error::NotFound`]: crate::Error::NotFound
    pub fn restore(&self, id: impl Into<E::Id>) -> impl Future<Output = Result<E>> + Send + '_
    where
        E: Writable,
    {
        let id = id.into();
        async move {
            let sets = statements::restore_sets::<E>(now())?;
            let condition = statements::within::<E>(
                View::Deleted,
                statements::key_condition::<E>(id.key_values()),
            );
            let update = Self::updating(sets, condition);
            let restored = self.fetch_updated_one(update).await?;
            record_rows(u64::from(restored.is_some()));
            restored.ok_or_else(|| super::not_found::<E>(&id))
        }
        .traced::<E>("restore")
    }

    /// Remove the row with primary key `id` from the table, soft-deleted or not (in
    /// [`only_deleted`](Repository::only_deleted): only if it is deleted); whether there was
    /// one. On an entity without a soft-delete column it is [`delete`](Repository::delete).
    pub fn purge(&self, id: impl Into<E::Id>) -> impl Future<Output = Result<bool>> + Send + '_
    where
        E: Writable,
    {
        let id = id.into();
        async move {
            let condition = statements::key_condition::<E>(id.key_values());
            let n = self.purge_condition(condition).await?;
            Ok(n > 0)
        }
        .traced::<E>("purge")
    }

    /// Remove every row matching `filter` from the table, soft-deleted or not (in
    /// [`only_deleted`](Repository::only_deleted): only deleted ones, such as
    /// `repo.only_deleted().purge_where(Note::DELETED_AT.lt(cutoff))`); how many were removed.
    pub async fn purge_where(&self, filter: Filter<E>) -> Result<u64>
    where
        E: Writable,
    {
        self.purge_condition(self.condition(filter))
            .traced::<E>("purge_where")
            .await
    }

    async fn purge_condition(&self, condition: Condition) -> Result<u64>
    where
        E: Writable,
    {
        let condition = statements::purgeable::<E>(self.view, condition);
        if Self::audited() {
            let backend = self.backend();
            let write = |keys| {
                Ok(Statement::build(
                    &statements::delete_where::<E>(keys),
                    backend,
                ))
            };
            let n = super::audit::in_group!(self, |repo| repo.write_locked(
                condition.clone(),
                &write,
                true
            ))?
            .0;
            record_rows(n);
            return Ok(n);
        }
        let n = self
            .execute(&statements::delete_where::<E>(condition))
            .await?;
        record_rows(n);
        Ok(n)
    }
}
