//! The writing operations of [`Repository`], each in a tracing span of its own.
//!
//! On a versioned entity (`#[repo(version)]`) every write adds 1 to the version, and the
//! single-row writes of an entity (`update`, `delete_entity`, `upsert`) only change a row
//! that still holds the version the entity carries: else [`Error::StaleVersion`] and nothing
//! is written. On an entity with a soft-delete column, deletes mark rows deleted instead of
//! removing them (see `soft_delete` for the rest).

use crate::entity::Key as _;
use std::borrow::Cow;
use std::future::Future;

use sea_query::{Condition, Expr, ExprTrait as _};
use tracing::Instrument as _;

use super::audit::{conflict_rows, in_group};
use super::{Repository, classify_error, decode, not_found, now, record_rows, span};
use crate::conflict::{Conflict, ConflictAction, declared};
use crate::entity::{Entity, Fixed};
use crate::error::{Error, Result};
use crate::exec::Statement;
use crate::filter::{Assignment, Filter};
use crate::statements::{
    self, BulkKind, batch_in_lock_order, build_insert, conflict_key, insert_values,
};

/// The kind of bulk write [`Repository::rows_per_statement`] is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BulkWrite {
    /// `bulk_insert` and `bulk_insert_new`.
    Insert,
    /// `bulk_upsert`, `bulk_upsert_returning` and their `_with` forms.
    Upsert,
}

impl<E: Entity> Repository<'_, E> {
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
        .instrument(span::<E>("insert"))
        .await
    }

    async fn insert_row(&self, entity: &E) -> Result<E> {
        {
            let mut values = Vec::with_capacity(E::COLUMNS.len());
            insert_values(entity, now(), &mut values)?;
            let sql = self.cached(Fixed::Insert);
            self.fetch_written(Statement::new(sql, values), true)
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
        .instrument(span::<E>("update"))
        .await
    }

    async fn update_row(&self, entity: &E) -> Result<E> {
        {
            let values = statements::update_values(entity, now())?;
            let update = Statement::new(self.fixed(Fixed::Update), values);
            if self.backend().capabilities().returning_on_update {
                return match self.fetch_entity_statement(update).await? {
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
                        if repo.execute_statement(update).await? == 0 {
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
            let values = if E::soft_delete_column().is_some() {
                statements::soft_delete_values::<E>(id.key_values(), now())
            } else {
                id.key_values()
            };
            let n = self.execute_statement(Statement::new(sql, values)).await?;
            record_rows(n);
            Ok(n > 0)
        }
        .instrument(span::<E>("delete"))
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
        .instrument(span::<E>("delete_entity"))
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
        .instrument(span::<E>("upsert"))
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
        .instrument(span::<E>("upsert_with"))
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
            .fetch_entity_statement(Statement::new(sql, values))
            .await
            .map_err(|e| statements::upsert_error::<E>(self.backend(), e))
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

    /// The most rows one statement of a bulk write of `E` carries on this repository's
    /// backend: a batch of `n` rows is written by `n.div_ceil(rows_per_statement)` statements,
    /// each full but the last, all in one transaction (or savepoint), so the batch stays
    /// atomic. Size batches with it to send one statement a call, or to know what a batch
    /// costs.
    ///
    /// On PostgreSQL it is 10,000 where each column binds as one array (no bind limit
    /// applies); an entity with an array column (an embedding) binds rows of placeholders
    /// instead, as SQLite and MariaDB always do: as many rows as
    /// [`Backend::max_bind_parameters`](crate::Backend::max_bind_parameters) allows at the
    /// values a row binds. On MariaDB a bulk upsert of an entity whose generated key is not
    /// its conflict key binds the conflict key once more per row (to find the key of the row
    /// it meets), so [`BulkWrite::Upsert`] may carry fewer rows than [`BulkWrite::Insert`].
    /// An audited entity writes its audit entries in statements of their own.
    ///
    /// ```
    /// use repo_core::prelude::*;
    ///
    /// #[derive(Debug, Clone, Repository)]
    /// #[repo(table = "labels", unique(code))]
    /// pub struct Label {
    ///     #[repo(primary_key, auto)]
    ///     pub id: i64,
    ///     pub code: String,
    ///     pub text: String,
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> repo_core::Result<()> {
    /// let db = Db::connect("sqlite::memory:").await?;
    /// let repo = LabelRepository::new(&db);
    /// // SQLite binds at most 32,766 values a statement; a label binds its code and text.
    /// assert_eq!(repo.rows_per_statement(BulkWrite::Insert), 32_766 / 2);
    /// assert_eq!(repo.rows_per_statement(BulkWrite::Upsert), 32_766 / 2);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn rows_per_statement(&self, write: BulkWrite) -> usize {
        let kind = match write {
            BulkWrite::Insert => BulkKind::Insert,
            BulkWrite::Upsert => BulkKind::Upsert,
        };
        statements::rows_per_statement::<E>(self.backend(), kind)
    }

    /// Insert every entity, atomically, in chunks of
    /// [`rows_per_statement`](Repository::rows_per_statement) rows (on PostgreSQL 10,000 rows
    /// bound as one array per column, elsewhere as many rows as the bind limit allows); the
    /// number of rows inserted. An empty slice sends nothing.
    pub async fn bulk_insert(&self, entities: &[E]) -> Result<u64> {
        async {
            let rows = batch_in_lock_order(entities, false);
            let (n, _) = self.bulk(&rows, BulkKind::Insert, None).await?;
            record_rows(n);
            Ok(n)
        }
        .instrument(span::<E>("bulk_insert"))
        .await
    }

    /// Upsert every entity (as [`upsert`](Repository::upsert) does), atomically and chunked
    /// as [`bulk_insert`](Repository::bulk_insert) is; the number of rows written. When
    /// several entities share a conflict key the last one wins. An empty slice sends nothing.
    pub async fn bulk_upsert(&self, entities: &[E]) -> Result<u64> {
        async { self.bulk_upserted(entities, None).await }
            .instrument(span::<E>("bulk_upsert"))
            .await
    }

    /// [`bulk_upsert`](Repository::bulk_upsert) with the conflict actions of `conflict` for
    /// the columns it names (see [`upsert_with`](Repository::upsert_with)). Each row's actions
    /// apply once, to the row as the database holds it when the row is written, so concurrent
    /// calls that `add` never lose an increment.
    pub async fn bulk_upsert_with(&self, entities: &[E], conflict: Conflict<E>) -> Result<u64> {
        async {
            self.bulk_upserted(entities, Some(conflict.resolve()?))
                .await
        }
        .instrument(span::<E>("bulk_upsert_with"))
        .await
    }

    async fn bulk_upserted(
        &self,
        entities: &[E],
        actions: Option<Vec<ConflictAction>>,
    ) -> Result<u64> {
        let rows = batch_in_lock_order(entities, true);
        let (n, _) = self.bulk(&rows, BulkKind::Upsert, actions).await?;
        record_rows(n);
        Ok(n)
    }

    /// [`bulk_upsert`](Repository::bulk_upsert), returning the stored rows (in no guaranteed
    /// order).
    pub async fn bulk_upsert_returning(&self, entities: &[E]) -> Result<Vec<E>> {
        async { self.bulk_upserted_returning(entities, None).await }
            .instrument(span::<E>("bulk_upsert_returning"))
            .await
    }

    /// [`bulk_upsert_with`](Repository::bulk_upsert_with), returning the stored rows (in no
    /// guaranteed order).
    pub async fn bulk_upsert_returning_with(
        &self,
        entities: &[E],
        conflict: Conflict<E>,
    ) -> Result<Vec<E>> {
        async {
            self.bulk_upserted_returning(entities, Some(conflict.resolve()?))
                .await
        }
        .instrument(span::<E>("bulk_upsert_returning_with"))
        .await
    }

    async fn bulk_upserted_returning(
        &self,
        entities: &[E],
        actions: Option<Vec<ConflictAction>>,
    ) -> Result<Vec<E>> {
        let rows = batch_in_lock_order(entities, true);
        let (n, rows) = self.bulk(&rows, BulkKind::UpsertReturning, actions).await?;
        record_rows(n);
        Ok(rows)
    }

    /// Write `rows` in chunks, atomically; the rows written and, for
    /// [`BulkKind::UpsertReturning`], the stored rows. `actions`: conflict actions other than the
    /// declared ones, which make statements that are built for this call instead of cached.
    async fn bulk(
        &self,
        rows: &[&E],
        kind: BulkKind,
        actions: Option<Vec<ConflictAction>>,
    ) -> Result<(u64, Vec<E>)> {
        if rows.is_empty() {
            return Ok((0, Vec::new()));
        }
        if kind != BulkKind::Insert {
            conflict_key::<E>()?;
        }
        if Self::audited() {
            let actions = actions.unwrap_or_else(declared::<E>);
            let (n, stored) = in_group!(self, |repo| repo.bulk_audited(rows, kind, &actions))?;
            let stored = if kind == BulkKind::UpsertReturning {
                stored
            } else {
                Vec::new()
            };
            return Ok((n, stored));
        }
        let backend = self.backend();
        if kind != BulkKind::Insert && statements::looks_up_generated_key::<E>(backend) {
            let actions = actions.unwrap_or_else(declared::<E>);
            return in_group!(self, |repo| repo.bulk_naming_keys(rows, kind, &actions));
        }
        let per_chunk = statements::rows_per_statement::<E>(backend, kind);
        // Where rows travel as arrays, one text serves chunks of any size.
        let any_size = statements::column_arrays::<E>(backend).is_some();
        let actions = actions.filter(|a| *a != declared::<E>());
        let full: Cow<'static, str> = match &actions {
            None => Cow::Borrowed(self.cached(kind.fixed())),
            Some(actions) if any_size || rows.len() >= per_chunk => {
                Cow::Owned(build_insert::<E>(backend, per_chunk, kind, actions))
            }
            // No chunk is full: never used.
            Some(_) => Cow::Borrowed(""),
        };
        let actions = actions.unwrap_or_else(declared::<E>);
        let (full, actions) = (&full, &actions);
        let now = now();
        let statements = move || {
            rows.chunks(per_chunk).map(move |chunk| {
                let sql: Cow<'static, str> = if any_size || chunk.len() == per_chunk {
                    full.clone()
                } else {
                    Cow::Owned(build_insert::<E>(backend, chunk.len(), kind, actions))
                };
                let values = statements::chunk_values::<E>(backend, kind, chunk, now)?;
                Ok(Statement::new(sql, values))
            })
        };
        let done = self
            .conn
            .atomic(
                statements,
                (kind == BulkKind::UpsertReturning).then_some(decode::<E> as fn(&_) -> _),
                classify_error::<E>,
            )
            .await;
        let (written, returned) = match self.named(done).await {
            Ok(done) => done,
            Err(error) if kind == BulkKind::Insert => return Err(error),
            Err(error) => return Err(statements::upsert_error::<E>(backend, error)),
        };
        // `ON DUPLICATE KEY UPDATE` reports 1 per inserted row and 2 per updated one; every
        // row of an upsert is written exactly once either way.
        let upserted = kind != BulkKind::Insert
            && backend.capabilities().upsert == crate::backend::UpsertSyntax::OnDuplicateKey;
        Ok((if upserted { rows.len() as u64 } else { written }, returned))
    }

    /// A bulk upsert where each row names the generated key of the row its conflict key meets
    /// (see [`statements::name_existing_keys`]): per chunk, lock and read those rows in key
    /// order, then write the chunk. Run as one group: all or nothing.
    async fn bulk_naming_keys(
        &self,
        rows: &[&E],
        kind: BulkKind,
        actions: &[ConflictAction],
    ) -> Result<(u64, Vec<E>)> {
        let backend = self.backend();
        let per_chunk = statements::rows_per_statement::<E>(backend, kind);
        let full: Cow<'static, str> = if actions == declared::<E>().as_slice() {
            Cow::Borrowed(self.cached(kind.fixed()))
        } else if rows.len() >= per_chunk {
            Cow::Owned(build_insert::<E>(backend, per_chunk, kind, actions))
        } else {
            Cow::Borrowed("")
        };
        let at = now();
        let mut stored = Vec::new();
        for chunk in rows.chunks(per_chunk) {
            let existing = self.lock_conflict_rows(chunk).await?;
            let sql = if chunk.len() == per_chunk {
                full.clone()
            } else {
                Cow::Owned(build_insert::<E>(backend, chunk.len(), kind, actions))
            };
            let mut values = statements::chunk_values::<E>(backend, kind, chunk, at)?;
            statements::name_existing_keys::<E>(backend, &mut values, chunk, &existing)?;
            let statement = Statement::new(sql, values);
            let written = if kind == BulkKind::UpsertReturning {
                self.fetch_entities_statement(statement)
                    .await
                    .map(|rows| stored.extend(rows))
            } else {
                self.execute_statement(statement).await.map(drop)
            };
            written.map_err(|e| statements::upsert_error::<E>(backend, e))?;
        }
        Ok((rows.len() as u64, stored))
    }

    /// Set columns on every row matching `filter` (and `updated_at` to now, unless assigned;
    /// on a versioned entity the version plus 1, unless assigned); the number of rows changed.
    /// Soft-deleted rows are left alone unless the repository's view includes them. No
    /// assignment is a [`Error::Validation`].
    pub async fn update_where(
        &self,
        filter: Filter<E>,
        assignments: impl IntoIterator<Item = Assignment<E>>,
    ) -> Result<u64> {
        let assignments: Vec<Assignment<E>> = assignments.into_iter().collect();
        async {
            if Self::audited() {
                if assignments
                    .iter()
                    .any(|a| E::PRIMARY_KEY.contains(&a.column))
                {
                    return Err(super::audit::key_changed::<E>());
                }
                let update = statements::update_where::<E>(Condition::all(), assignments, now())?;
                let (backend, scope) = (self.backend(), self.within(filter));
                let write = |keys| {
                    let mut update = update.clone();
                    update.cond_where(keys);
                    Ok(Statement::build(&update, backend))
                };
                let n = in_group!(self, |repo| repo.write_locked(scope.clone(), &write, false))?.0;
                record_rows(n);
                return Ok(n);
            }
            let condition = self.in_key_order(self.within(filter));
            let update = statements::update_where::<E>(condition, assignments, now())?;
            let n = self.execute(&update).await?;
            record_rows(n);
            Ok(n)
        }
        .instrument(span::<E>("update_where"))
        .await
    }

    /// Delete every row matching `filter`; how many were deleted. On an entity with a
    /// soft-delete column: mark the live ones deleted now (and add 1 to their version), and
    /// count those; rows deleted already keep the time they were deleted.
    pub async fn delete_where(&self, filter: Filter<E>) -> Result<u64> {
        async {
            let n = self.delete_rows(self.condition(filter), true).await?;
            record_rows(n);
            Ok(n)
        }
        .instrument(span::<E>("delete_where"))
        .await
    }

    /// Delete the rows matching `condition` in this repository's view (soft-delete the live
    /// ones, on an entity with a soft-delete column); how many. `ordered`: take the row locks
    /// in key order (see [`in_key_order`](Repository::in_key_order)), for a filtered write.
    async fn delete_rows(&self, condition: Condition, ordered: bool) -> Result<u64> {
        let (backend, view, at) = (self.backend(), self.view, now());
        if Self::audited() {
            let scope = statements::within::<E>(view, condition);
            let write = |keys| Ok(statements::delete_rows::<E>(backend, view, keys, at));
            // Soft deletes keep the rows; only a hard delete removes them.
            let removes = E::soft_delete_column().is_none();
            return Ok(in_group!(self, |repo| repo.write_locked(
                scope.clone(),
                &write,
                removes
            ))?
            .0);
        }
        let condition = if ordered {
            self.in_key_order(condition)
        } else {
            condition
        };
        let delete = statements::delete_rows::<E>(backend, view, condition, at);
        self.execute_statement(delete).await
    }

    /// `condition`, taking the row locks of a filtered write in primary key order where the
    /// backend can (see [`Capabilities::ordered_write_locks`](crate::Capabilities)), so
    /// concurrent filtered writes over the same rows queue instead of deadlocking.
    fn in_key_order(&self, condition: Condition) -> Condition {
        if !self.backend().capabilities().ordered_write_locks {
            return condition;
        }
        let mut locked = statements::key_select::<E>(condition);
        locked.lock(sea_query::LockType::Update);
        Condition::all().add(statements::key_expr::<E>().in_subquery(locked))
    }
}
