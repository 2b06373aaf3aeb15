//! Bulk writes of [`Repository`]: a batch in chunks, atomically, each call in a tracing span of
//! its own.

use crate::entity::Writable;
use std::borrow::Cow;

use super::Traced as _;

use super::audit::in_group;
use super::{Repository, classify_error, decode, now, record_rows};
use crate::conflict::{Conflict, ConflictAction, declared};
use crate::error::Result;
use crate::statements::{
    self, BulkKind, Statement, batch_in_lock_order, build_insert, conflict_key,
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

impl<E: Writable> Repository<'_, E> {
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
        .traced::<E>("bulk_insert")
        .await
    }

    /// Upsert every entity (as [`upsert`](Repository::upsert) does), atomically and chunked
    /// as [`bulk_insert`](Repository::bulk_insert) is; the number of rows written. When
    /// several entities share a conflict key the last one wins. An empty slice sends nothing.
    pub async fn bulk_upsert(&self, entities: &[E]) -> Result<u64> {
        async { self.bulk_upserted(entities, None).await }
            .traced::<E>("bulk_upsert")
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
        .traced::<E>("bulk_upsert_with")
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
            .traced::<E>("bulk_upsert_returning")
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
        .traced::<E>("bulk_upsert_returning_with")
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
        let guard = self.writing();
        let done = self
            .conn
            .atomic(
                statements,
                (kind == BulkKind::UpsertReturning).then_some(decode::<E> as fn(&_) -> _),
                classify_error::<E>,
            )
            .await;
        guard.done(None).await;
        let (written, returned) = match self.named(done).await {
            Ok(done) => done,
            Err(error) if kind == BulkKind::Insert => return Err(error),
            Err(error) => {
                return Err(crate::backend::upsert_errors::upsert_error::<E>(
                    backend, error,
                ));
            }
        };
        // `ON DUPLICATE KEY UPDATE` reports 1 per inserted row and 2 per updated one; every
        // row of an upsert is written exactly once either way.
        let upserted = kind != BulkKind::Insert
            && backend.capabilities().upsert == crate::dialect::UpsertSyntax::OnDuplicateKey;
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
        for whole in rows.chunks(per_chunk) {
            for chunk in self.key_ordered_runs(whole).await? {
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
                    self.fetch_changed(statement)
                        .await
                        .map(|rows| stored.extend(rows))
                } else {
                    self.execute_statement(statement).await.map(drop)
                };
                written
                    .map_err(|e| crate::backend::upsert_errors::upsert_error::<E>(backend, e))?;
            }
        }
        Ok((rows.len() as u64, stored))
    }
}
