//! The reading operations of [`Repository`], each in a tracing span of its own. Every one sees
//! the rows of the repository's view: the live rows of an entity with a soft-delete column,
//! unless the repository is [`with_deleted`](Repository::with_deleted) or
//! [`only_deleted`](Repository::only_deleted).

use crate::entity::Key as _;
use std::borrow::Cow;
use std::future::Future;

use super::Traced as _;
use futures_core::stream::BoxStream;
use futures_util::StreamExt as _;
use sea_query::{Condition, Value};

use super::{Repository, classify_error, decode, not_found, record_rows, span};
use crate::cursor::Cursor;
use crate::entity::{ColumnDef, Entity, Fixed};
use crate::error::{Error, Result};
use crate::exec::Statement;
use crate::filter::Filter;
use crate::page::{KeysetPage, KeysetRequest, Page, PageRequest};
use crate::read_cache::{Entry, ReadKey};
use crate::statements::{self, View, build_fixed};

impl<E: Entity> Repository<'_, E> {
    // ----- fixed statements ---------------------------------------------------------------

    /// The SQL of a statement of fixed shape: built once per entity and backend for the
    /// default view, on each call for the others.
    pub(crate) fn fixed(&self, kind: Fixed) -> Cow<'static, str> {
        let backend = self.backend();
        let view = self.view;
        if view == View::Live || !kind.depends_on_view() {
            return Cow::Borrowed(self.cached(kind));
        }
        Cow::Owned(build_fixed::<E>(backend, kind, view))
    }

    /// The SQL of a statement of fixed shape in the default view, built once.
    pub(crate) fn cached(&self, kind: Fixed) -> &'static str {
        let backend = self.backend();
        E::statements().get(backend, kind, || {
            build_fixed::<E>(backend, kind, View::Live)
        })
    }

    /// The row with primary key `key` (a bound value), in this repository's view.
    pub(crate) async fn fetch_by_key(&self, key: Vec<Value>) -> Result<Option<E>> {
        let sql = self.fixed(Fixed::SelectById);
        if !self.may_cache() {
            return self.fetch_entity_statement(Statement::new(sql, key)).await;
        }
        let view = match self.view {
            View::Live => 0,
            View::All => 1,
            View::Deleted => 2,
        };
        self.read_through(
            ReadKey::Row { view, key: &key },
            // Built only on a miss: a hit costs no copy of the key.
            || self.fetch_entity_statement(Statement::new(sql, key.clone())),
            |row| {
                Some(Entry::Rows(
                    row.iter().map(values_of).collect::<Option<_>>()?,
                ))
            },
            // The one row, or none; unreadable (`None`) when it does not read back.
            |entry| match entry {
                Entry::Rows(rows) => rows
                    .first()
                    .map_or(Some(None), |row| E::from_values(row).map(Some)),
                Entry::Count(_) | Entry::Json(_) => None,
            },
        )
        .await
    }

    /// Whether reads may go through the read cache: `E` is cached and the `Db` has a cache.
    fn may_cache(&self) -> bool {
        E::CACHE.is_some() && self.conn.settings().cache.is_some()
    }

    /// The entities `statement` (a query of every column) selects, through the read cache.
    async fn fetch_cached(&self, statement: Statement) -> Result<Vec<E>> {
        if !self.may_cache() {
            return self.fetch_entities_statement(statement).await;
        }
        let (sql, values) = (statement.sql().to_owned(), statement.values().to_vec());
        self.read_through(
            ReadKey::Query {
                sql: &sql,
                values: &values,
            },
            || self.fetch_entities_statement(statement),
            |rows| {
                Some(Entry::Rows(
                    rows.iter().map(values_of).collect::<Option<_>>()?,
                ))
            },
            Entry::entities::<E>,
        )
        .await
    }

    /// The number `load` (running `statement`) counts, through the read cache.
    async fn count_cached<F>(&self, statement: &Statement, load: impl FnOnce() -> F) -> Result<u64>
    where
        F: Future<Output = Result<u64>>,
    {
        if !self.may_cache() {
            return load().await;
        }
        self.read_through(
            ReadKey::Query {
                sql: statement.sql(),
                values: statement.values(),
            },
            load,
            |n| Some(Entry::Count(*n)),
            |entry| match entry {
                Entry::Count(n) => Some(*n),
                Entry::Rows(_) | Entry::Json(_) => None,
            },
        )
        .await
    }

    // ----- reads --------------------------------------------------------------------------

    /// The row with primary key `id`, if any.
    pub fn find_by_id(
        &self,
        id: impl Into<E::Id>,
    ) -> impl Future<Output = Result<Option<E>>> + Send + '_ {
        let id = id.into();
        async move { self.fetch_by_key(id.key_values()).await }.traced::<E>("find_by_id")
    }

    /// The row with primary key `id`, or [`Error::NotFound`].
    pub fn get(&self, id: impl Into<E::Id>) -> impl Future<Output = Result<E>> + Send + '_ {
        let id = id.into();
        async move {
            self.fetch_by_key(id.key_values())
                .await?
                .ok_or_else(|| not_found::<E>(&id))
        }
        .traced::<E>("get")
    }

    /// One page of the rows matching `filter`, and how many match in all.
    ///
    /// An invalid page (limit 0 or above [`MAX_PAGE_LIMIT`](crate::page::MAX_PAGE_LIMIT)) is a
    /// [`Error::Validation`] and sends nothing. On a pool the count and the page are two
    /// statements; in a session they see the same snapshot.
    pub async fn find(&self, filter: Filter<E>, page: PageRequest<E>) -> Result<Page<E>> {
        async {
            page.validate()?;
            let condition = self.within(filter);
            let total = self.count_condition(condition.clone()).await?;
            let items = if total > page.offset {
                let select = statements::page(self.backend(), condition, &page);
                self.fetch_cached(self.statement(&select)).await?
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
        .traced::<E>("find")
        .await
    }

    /// Every row matching `filter`, by primary key.
    pub async fn find_all(&self, filter: Filter<E>) -> Result<Vec<E>> {
        async {
            let select = statements::select_by_key::<E>(self.within(filter));
            self.fetch_cached(self.statement(&select)).await
        }
        .traced::<E>("find_all")
        .await
    }

    /// The first row matching `filter` by primary key, if any.
    pub async fn find_one(&self, filter: Filter<E>) -> Result<Option<E>> {
        async {
            let select = statements::select_by_key::<E>(self.within(filter));
            let statement = self.statement(&select).with_literal_limit(1);
            Ok(self.fetch_cached(statement).await?.into_iter().next())
        }
        .traced::<E>("find_one")
        .await
    }

    /// How many rows match `filter`.
    pub async fn count(&self, filter: Filter<E>) -> Result<u64> {
        self.count_condition(self.within(filter))
            .traced::<E>("count")
            .await
    }

    async fn count_condition(&self, condition: Condition) -> Result<u64> {
        let select = statements::count::<E>(condition);
        let statement = self.statement(&select);
        let key = statement.clone();
        self.count_cached(&key, || async {
            let row = self
                .conn
                .fetch_optional_as(statement, classify_error::<E>)
                .await?;
            let count: i64 = match row {
                Some(row) => row.try_get(0).map_err(Error::from)?,
                None => 0,
            };
            Ok(count as u64)
        })
        .await
    }

    /// Whether any row matches `filter`.
    pub async fn exists(&self, filter: Filter<E>) -> Result<bool> {
        async {
            let select = statements::exists::<E>(self.within(filter));
            let statement = self.statement(&select).with_literal_limit(1);
            let key = statement.clone();
            let found = self.count_cached(&key, || async {
                let row = self
                    .conn
                    .fetch_optional_as(statement, classify_error::<E>)
                    .await?;
                Ok(u64::from(row.is_some()))
            });
            Ok(found.await? > 0)
        }
        .traced::<E>("exists")
        .await
    }
}

impl<'a, E: Entity> Repository<'a, E> {
    /// The rows matching `filter`, by primary key, one at a time as the database sends them:
    /// memory stays constant however many rows match. In a session, the session is held
    /// until the stream is dropped.
    #[must_use]
    pub fn stream(&self, filter: Filter<E>) -> BoxStream<'a, Result<E>> {
        let select = statements::select_by_key::<E>(self.within(filter));
        let statement = self.statement(&select);
        let _entered = span::<E>("stream").entered();
        // The statement's span and call are taken when the stream is made, here.
        crate::telemetry::in_call_sync(super::call::<E>("stream"), || {
            self.conn
                .fetch_as(statement, classify_error::<E>)
                .map(|row| row.and_then(|row| decode::<E>(&row)))
                .boxed()
        })
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
        if E::PRIMARY_KEY.is_empty() {
            // Without a key, rows equal in the order's columns have no next-row boundary.
            return Err(Error::validation(
                "order",
                format!(
                    "{} has no primary key to break ties between rows, which keyset pages need; \
                     page it with `find` (offsets)",
                    E::NAME
                ),
            ));
        }
        let (keys, signature) = request.keys::<E>();
        let backend = self.backend();
        let mut condition = self.within(filter);
        if let Some(cursor) = &request.after {
            let columns: Vec<&ColumnDef> = keys
                .iter()
                .map(|key| &E::COLUMNS[E::column_index(key.column).unwrap_or_default()])
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
            let mut items = self.fetch_cached(statement).await?;
            let more = items.len() as u64 > request.limit;
            items.truncate(request.limit as usize);
            let next = match (more, items.last()) {
                (true, Some(last)) => {
                    let values = keys
                        .iter()
                        .map(|key| {
                            let index = E::column_index(key.column).unwrap_or_default();
                            last.value_at(index)
                        })
                        .collect::<Result<Vec<_>>>()?;
                    let key = &self.conn.settings().cursor_key;
                    Some(Cursor::issue(key, &signature, &values)?)
                }
                _ => None,
            };
            record_rows(items.len() as u64);
            Ok(KeysetPage { items, next })
        }
        .traced::<E>("find_keyset")
        .await
    }
}

/// The values of every column of `entity`, as a cache entry holds them.
fn values_of<E: Entity>(entity: &E) -> Option<Vec<Value>> {
    let mut values = Vec::with_capacity(E::COLUMNS.len());
    entity.push_values(&mut values).ok()?;
    Some(values)
}
