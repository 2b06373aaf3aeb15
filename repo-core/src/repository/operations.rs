//! The base operations of [`Repository`], each in a tracing span of its own.

use std::borrow::Cow;
use std::future::Future;

use futures_core::stream::BoxStream;
use futures_util::StreamExt as _;
use sea_query::{Condition, Value};
use tracing::Instrument as _;

use super::{Repository, classify_error, decode, not_found, now, record_rows, span};
use crate::cursor::Cursor;
use crate::entity::{ColumnDef, ColumnRole, Entity, Fixed};
use crate::error::{Error, Result};
use crate::exec::Statement;
use crate::field::DbField as _;
use crate::filter::{Assignment, Filter};
use crate::page::{KeysetPage, KeysetRequest, Page, PageRequest};
use crate::row::Row;
use crate::statements::{
    self, BulkKind, batch_in_lock_order, build_fixed, build_insert, conflict_key, insert_columns,
    insert_values,
};

impl<'a, E: Entity> Repository<'a, E> {
    // ----- fixed statements ---------------------------------------------------------------

    fn fixed(&self, kind: Fixed) -> &'static str {
        let backend = self.backend();
        E::statements().get(backend, kind, || build_fixed::<E>(backend, kind))
    }

    // ----- base operations ----------------------------------------------------------------

    /// The row with primary key `id`, if any.
    pub fn find_by_id(
        &self,
        id: impl Into<E::Id>,
    ) -> impl Future<Output = Result<Option<E>>> + Send + '_ {
        let id = id.into();
        async move {
            let sql = self.fixed(Fixed::SelectById);
            self.fetch_entity_statement(Statement::new(sql, vec![id.to_value()]))
                .await
        }
        .instrument(span::<E>("find_by_id"))
    }

    /// The row with primary key `id`, or [`Error::NotFound`].
    pub fn get(&self, id: impl Into<E::Id>) -> impl Future<Output = Result<E>> + Send + '_ {
        let id = id.into();
        async move {
            let sql = self.fixed(Fixed::SelectById);
            self.fetch_entity_statement(Statement::new(sql, vec![id.to_value()]))
                .await?
                .ok_or_else(|| not_found::<E>(&id))
        }
        .instrument(span::<E>("get"))
    }

    /// Insert `entity`; the stored row, with its generated key and timestamps.
    pub async fn insert(&self, entity: &E) -> Result<E> {
        async {
            let mut values = Vec::with_capacity(E::COLUMNS.len());
            insert_values(entity, now(), &mut values)?;
            let sql = self.fixed(Fixed::Insert);
            self.fetch_entity_statement(Statement::new(sql, values))
                .await?
                .ok_or_else(|| not_found::<E>(entity.id()))
        }
        .instrument(span::<E>("insert"))
        .await
    }

    /// Replace every column of the row with `entity`'s primary key except `created_at`
    /// (`updated_at` is set to now); the stored row, or [`Error::NotFound`].
    pub async fn update(&self, entity: &E) -> Result<E> {
        async {
            let mut all = Vec::with_capacity(E::COLUMNS.len());
            entity.push_values(&mut all)?;
            let now = now();
            let mut values = Vec::with_capacity(E::COLUMNS.len());
            let mut key = None;
            for (column, value) in E::COLUMNS.iter().zip(all) {
                match column.role {
                    ColumnRole::PrimaryKey => key = Some(value),
                    ColumnRole::CreatedAt => {}
                    ColumnRole::UpdatedAt => values.push(Value::ChronoDateTimeUtc(Some(now))),
                    ColumnRole::Plain => values.push(value),
                }
            }
            let key = key.expect("an entity has a primary key column");
            values.push(key.clone());
            let update = Statement::new(self.fixed(Fixed::Update), values);
            if self.backend().capabilities().returning_on_update {
                return self
                    .fetch_entity_statement(update)
                    .await?
                    .ok_or_else(|| not_found::<E>(entity.id()));
            }
            // Update, then read the row back, in one transaction.
            let select = Statement::new(self.fixed(Fixed::SelectById), vec![key]);
            let updated = self
                .atomically(move |repo| {
                    let (update, select) = (update.clone(), select.clone());
                    Box::pin(async move {
                        if repo.execute_statement(update).await? == 0 {
                            return Ok(None);
                        }
                        repo.fetch_entity_statement(select).await
                    })
                })
                .await?;
            updated.ok_or_else(|| not_found::<E>(entity.id()))
        }
        .instrument(span::<E>("update"))
        .await
    }

    /// Delete the row with primary key `id`; whether there was one.
    pub fn delete(&self, id: impl Into<E::Id>) -> impl Future<Output = Result<bool>> + Send + '_ {
        let id = id.into();
        async move {
            let sql = self.fixed(Fixed::Delete);
            let n = self
                .conn
                .execute_as(
                    Statement::new(sql, vec![id.to_value()]),
                    classify_error::<E>,
                )
                .await;
            let n = self.named(n).await?;
            record_rows(n);
            Ok(n > 0)
        }
        .instrument(span::<E>("delete"))
    }

    /// Insert `entity`, or when a row with the same conflict key exists (the first declared
    /// unique key, else the primary key) update every other column but `created_at`; the
    /// stored row. `updated_at` is set to now either way.
    pub async fn upsert(&self, entity: &E) -> Result<E> {
        async {
            conflict_key::<E>()?;
            let mut values = Vec::with_capacity(E::COLUMNS.len());
            insert_values(entity, now(), &mut values)?;
            let sql = self.fixed(Fixed::Upsert);
            self.fetch_entity_statement(Statement::new(sql, values))
                .await
                .map_err(|e| statements::upsert_error::<E>(self.backend(), e))?
                .ok_or_else(|| not_found::<E>(entity.id()))
        }
        .instrument(span::<E>("upsert"))
        .await
    }

    /// Insert every entity, atomically, in as few statements as the backend's bind limit
    /// allows; the number of rows inserted. An empty slice sends nothing.
    pub async fn bulk_insert(&self, entities: &[E]) -> Result<u64> {
        async {
            let rows = batch_in_lock_order(entities, false)?;
            let (n, _) = self.bulk(&rows, BulkKind::Insert).await?;
            record_rows(n);
            Ok(n)
        }
        .instrument(span::<E>("bulk_insert"))
        .await
    }

    /// Upsert every entity (as [`upsert`](Repository::upsert) does), atomically and chunked
    /// under the bind limit; the number of rows written. When several entities share a
    /// conflict key the last one wins. An empty slice sends nothing.
    pub async fn bulk_upsert(&self, entities: &[E]) -> Result<u64> {
        async {
            let rows = batch_in_lock_order(entities, true)?;
            let (n, _) = self.bulk(&rows, BulkKind::Upsert).await?;
            record_rows(n);
            Ok(n)
        }
        .instrument(span::<E>("bulk_upsert"))
        .await
    }

    /// [`bulk_upsert`](Repository::bulk_upsert), returning the stored rows (in no guaranteed
    /// order).
    pub async fn bulk_upsert_returning(&self, entities: &[E]) -> Result<Vec<E>> {
        async {
            let rows = batch_in_lock_order(entities, true)?;
            let (n, rows) = self.bulk(&rows, BulkKind::UpsertReturning).await?;
            record_rows(n);
            rows.iter().map(decode::<E>).collect()
        }
        .instrument(span::<E>("bulk_upsert_returning"))
        .await
    }

    async fn bulk(&self, rows: &[&E], kind: BulkKind) -> Result<(u64, Vec<Row>)> {
        if rows.is_empty() {
            return Ok((0, Vec::new()));
        }
        if kind != BulkKind::Insert {
            conflict_key::<E>()?;
        }
        let backend = self.backend();
        let width = insert_columns::<E>().count();
        let per_chunk = (backend.max_bind_parameters() / width).max(1);
        let full = self.fixed(kind.fixed());
        let now = now();
        let statements = move || {
            rows.chunks(per_chunk).map(move |chunk| {
                let sql: Cow<'static, str> = if chunk.len() == per_chunk {
                    Cow::Borrowed(full)
                } else {
                    Cow::Owned(build_insert::<E>(backend, chunk.len(), kind))
                };
                let mut values = Vec::with_capacity(chunk.len() * width);
                for entity in chunk {
                    insert_values(*entity, now, &mut values)?;
                }
                Ok(Statement::new(sql, values))
            })
        };
        let done = self
            .conn
            .atomic(
                statements,
                kind == BulkKind::UpsertReturning,
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

    /// One page of the rows matching `filter`, and how many match in all.
    ///
    /// An invalid page (limit 0 or above [`MAX_PAGE_LIMIT`](crate::page::MAX_PAGE_LIMIT)) is a
    /// [`Error::Validation`] and sends nothing. On a pool the count and the page are two
    /// statements; in a session they see the same snapshot.
    pub async fn find(&self, filter: Filter<E>, page: PageRequest<E>) -> Result<Page<E>> {
        async {
            page.validate()?;
            let condition = self.condition(filter);
            let total = self.count_condition(condition.clone()).await?;
            let items = if total > page.offset {
                let select = statements::page(self.backend(), condition, &page);
                self.fetch_entities(&select).await?
            } else {
                Vec::new()
            };
            record_rows(items.len() as u64);
            Ok(Page {
                items,
                total,
                limit: page.limit,
                offset: page.offset,
            })
        }
        .instrument(span::<E>("find"))
        .await
    }

    /// Every row matching `filter`, by primary key.
    pub async fn find_all(&self, filter: Filter<E>) -> Result<Vec<E>> {
        async {
            let select = statements::select_by_key::<E>(self.condition(filter));
            self.fetch_entities(&select).await
        }
        .instrument(span::<E>("find_all"))
        .await
    }

    /// The first row matching `filter` by primary key, if any.
    pub async fn find_one(&self, filter: Filter<E>) -> Result<Option<E>> {
        async {
            let select = statements::select_by_key::<E>(self.condition(filter));
            let statement = self.statement(&select).with_literal_limit(1);
            self.fetch_entity_statement(statement).await
        }
        .instrument(span::<E>("find_one"))
        .await
    }

    /// How many rows match `filter`.
    pub async fn count(&self, filter: Filter<E>) -> Result<u64> {
        self.count_condition(self.condition(filter))
            .instrument(span::<E>("count"))
            .await
    }

    async fn count_condition(&self, condition: Condition) -> Result<u64> {
        let select = statements::count::<E>(condition);
        let row = self
            .conn
            .fetch_optional_as(self.statement(&select), classify_error::<E>)
            .await?;
        let count: i64 = match row {
            Some(row) => row.try_get(0).map_err(Error::from)?,
            None => 0,
        };
        Ok(count as u64)
    }

    /// Whether any row matches `filter`.
    pub async fn exists(&self, filter: Filter<E>) -> Result<bool> {
        async {
            let select = statements::exists::<E>(self.condition(filter));
            let row = self
                .conn
                .fetch_optional_as(
                    self.statement(&select).with_literal_limit(1),
                    classify_error::<E>,
                )
                .await?;
            Ok(row.is_some())
        }
        .instrument(span::<E>("exists"))
        .await
    }

    /// Set columns on every row matching `filter` (and `updated_at` to now, unless assigned);
    /// the number of rows changed. No assignment is a [`Error::Validation`].
    pub async fn update_where(
        &self,
        filter: Filter<E>,
        assignments: impl IntoIterator<Item = Assignment<E>>,
    ) -> Result<u64> {
        let assignments: Vec<Assignment<E>> = assignments.into_iter().collect();
        async {
            let update = statements::update_where::<E>(self.condition(filter), assignments, now())?;
            let n = self.execute(&update).await?;
            record_rows(n);
            Ok(n)
        }
        .instrument(span::<E>("update_where"))
        .await
    }

    /// Delete every row matching `filter`; how many were deleted.
    pub async fn delete_where(&self, filter: Filter<E>) -> Result<u64> {
        async {
            let delete = statements::delete_where::<E>(self.condition(filter));
            let n = self.execute(&delete).await?;
            record_rows(n);
            Ok(n)
        }
        .instrument(span::<E>("delete_where"))
        .await
    }

    /// The rows matching `filter`, by primary key, one at a time as the database sends them:
    /// memory stays constant however many rows match. In a session, the session is held
    /// until the stream is dropped.
    #[must_use]
    pub fn stream(&self, filter: Filter<E>) -> BoxStream<'a, Result<E>> {
        let select = statements::select_by_key::<E>(self.condition(filter));
        let statement = self.statement(&select);
        let _entered = span::<E>("stream").entered();
        self.conn
            .fetch_as(statement, classify_error::<E>)
            .map(|row| row.and_then(|row| decode::<E>(&row)))
            .boxed()
    }

    /// The statement [`find_keyset`](Repository::find_keyset) runs for `request`: to inspect its
    /// plan, or to run it as a building block of a custom query. It fetches one row more
    /// than the limit, which tells whether a next page exists.
    pub fn keyset_statement(
        &self,
        filter: Filter<E>,
        request: &KeysetRequest<E>,
    ) -> Result<Statement> {
        request.validate()?;
        let (keys, signature) = request.keys::<E>();
        let backend = self.backend();
        let mut condition = self.condition(filter);
        if let Some(cursor) = &request.after {
            let columns: Vec<&ColumnDef> = keys
                .iter()
                .map(|key| &E::COLUMNS[E::column_index(key.column).unwrap_or(E::PRIMARY_KEY)])
                .collect();
            let values = cursor.open(&self.conn.settings().cursor_key, &signature, &columns)?;
            condition = Condition::all()
                .add(condition)
                .add(crate::keys::after(&keys, values, backend));
        }
        let select = statements::keyset::<E>(backend, condition, &keys);
        // The page size is part of the text, not a parameter: SQLite re-plans a cached
        // statement whose LIMIT is bound, and a page size rarely changes.
        Ok(self
            .statement(&select)
            .with_literal_limit(request.limit + 1))
    }

    /// A keyset page: up to `limit` rows after the request's cursor in its order (primary key
    /// as tie-break), and the cursor of the next page. The statement seeks from the cursor
    /// instead of skipping rows, so page 1,000 costs what page 1 does.
    pub async fn find_keyset(
        &self,
        filter: Filter<E>,
        request: KeysetRequest<E>,
    ) -> Result<KeysetPage<E>> {
        async {
            let statement = self.keyset_statement(filter, &request)?;
            let (keys, signature) = request.keys::<E>();
            let mut items = self.fetch_entities_statement(statement).await?;
            let more = items.len() as u64 > request.limit;
            items.truncate(request.limit as usize);
            let next = match (more, items.last()) {
                (true, Some(last)) => {
                    let values = keys
                        .iter()
                        .map(|key| {
                            let index = E::column_index(key.column).unwrap_or(E::PRIMARY_KEY);
                            last.value_at(index)
                        })
                        .collect::<Result<Vec<_>>>()?;
                    let key = &self.conn.settings().cursor_key;
                    Some(Cursor::issue(key, &signature, &values))
                }
                _ => None,
            };
            record_rows(items.len() as u64);
            Ok(KeysetPage { items, next })
        }
        .instrument(span::<E>("find_keyset"))
        .await
    }
}
