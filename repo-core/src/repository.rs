//! `Repository<E>`: every generic operation, written once; and `BaseRepository<E>`, the trait
//! generated repositories implement by pointing at one.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use futures_core::stream::BoxStream;
use futures_util::StreamExt as _;
use sea_query::{
    Condition, Expr, ExprTrait as _, OnConflict, Query, QueryStatementWriter, SelectStatement,
    UpdateStatement, Value,
};
use tracing::Instrument as _;

use crate::cursor::Cursor;
use crate::db::Backend;
use crate::entity::{ColumnDef, ColumnRole, Entity, Fixed};
use crate::error::{Error, Result};
use crate::exec::{Conn, Statement};
use crate::field::DbField as _;
use crate::filter::{Assignment, Filter};
use crate::page::{KeysetPage, KeysetRequest, Page, PageRequest};
use crate::row::{FromDbRow, Row};

/// The current time at the precision every backend stores (microseconds).
#[must_use]
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// Turn a driver error raised for entity `E` into the framework's [`Error`]: constraint
/// violations become [`Error::Conflict`], [`Error::ForeignKey`], [`Error::NotNull`] or
/// [`Error::Check`] naming the constraint or column, cancelled statements [`Error::Timeout`],
/// undecodable values [`Error::Decode`].
#[must_use]
pub fn classify_error<E: Entity>(error: sqlx::Error) -> Error {
    crate::classify::classify::<E>(error)
}

fn span<E: Entity>(method: &'static str) -> tracing::Span {
    tracing::info_span!(
        "repository",
        otel.name = %format_args!("{}.{}", E::NAME, method),
        entity = E::NAME,
        method,
        rows = tracing::field::Empty,
    )
}

fn record_rows(rows: u64) {
    tracing::Span::current().record("rows", rows);
}

/// The generic repository of entity `E` on a pool or in a session.
///
/// Generated repositories (`DatasetRepository`) wrap one and dereference to it, so custom
/// queries use the same tools as the base operations: [`select`](Repository::select) (a
/// statement pre-filled with the table and columns), [`fetch_entities`](Repository::fetch_entities),
/// [`fetch_rows`](Repository::fetch_rows) (any [`FromDbRow`] type) and
/// [`execute`](Repository::execute).
pub struct Repository<'a, E> {
    conn: Conn<'a>,
    _entity: PhantomData<fn() -> E>,
}

impl<E> Clone for Repository<'_, E> {
    fn clone(&self) -> Self {
        Self {
            conn: self.conn,
            _entity: PhantomData,
        }
    }
}

impl<E> std::fmt::Debug for Repository<'_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository")
            .field("conn", &self.conn)
            .finish()
    }
}

impl<'a, E: Entity> Repository<'a, E> {
    /// A repository on a [`Db`](crate::Db) (autocommit) or a [`Session`](crate::Session).
    pub fn new(conn: impl Into<Conn<'a>>) -> Self {
        Self {
            conn: conn.into(),
            _entity: PhantomData,
        }
    }

    /// Where statements run.
    #[must_use]
    pub fn conn(&self) -> Conn<'a> {
        self.conn
    }

    /// The backend statements run on.
    #[must_use]
    pub fn backend(&self) -> Backend {
        self.conn.backend()
    }

    // ----- tools for custom queries -------------------------------------------------------

    /// `SELECT <every column> FROM <table>`, to refine with sea-query and run with
    /// [`fetch_entities`](Repository::fetch_entities).
    #[must_use]
    pub fn select(&self) -> SelectStatement {
        Query::select()
            .columns(E::COLUMNS.iter().map(|c| c.name))
            .from(E::TABLE)
            .to_owned()
    }

    /// `UPDATE <table> SET <updated_at> = now RETURNING <every column>` (the `SET` only when
    /// the entity declares `updated_at`): add values and a condition with sea-query, then run
    /// it with [`fetch_entity`](Repository::fetch_entity) or
    /// [`fetch_entities`](Repository::fetch_entities) to get the stored rows back.
    #[must_use]
    pub fn update_returning(&self) -> UpdateStatement {
        let mut update = Query::update();
        update
            .table(E::TABLE)
            .returning(Query::returning().columns(E::COLUMNS.iter().map(|c| c.name)));
        for column in E::COLUMNS {
            if column.role == ColumnRole::UpdatedAt {
                update.value(column.name, Value::ChronoDateTimeUtc(Some(now())));
            }
        }
        update
    }

    /// `filter` as a sea-query condition for this repository's backend, for custom queries:
    /// `select.cond_where(self.condition(Dataset::TITLE.contains("x")))`.
    #[must_use]
    pub fn condition(&self, filter: impl std::borrow::Borrow<Filter<E>>) -> Condition {
        filter.borrow().condition(self.backend())
    }

    /// Render a sea-query statement for this repository's backend.
    #[must_use]
    pub fn statement(&self, statement: &impl QueryStatementWriter) -> Statement {
        Statement::build(statement, self.backend())
    }

    /// Run a query selecting every column (as [`select`](Repository::select) does); the entities.
    pub async fn fetch_entities(&self, statement: &impl QueryStatementWriter) -> Result<Vec<E>> {
        self.fetch_entities_statement(self.statement(statement))
            .await
    }

    /// Like [`fetch_entities`](Repository::fetch_entities), the first row only.
    pub async fn fetch_entity(&self, statement: &impl QueryStatementWriter) -> Result<Option<E>> {
        self.fetch_entity_statement(self.statement(statement)).await
    }

    /// Run any query and decode each row as `R`: a `#[derive(FromRow)]` struct (fields read
    /// by column name) or a tuple (by position). [`aggregate`](crate::aggregate) has aggregates
    /// that decode as the same type on every backend.
    ///
    /// ```
    /// use repo_core::prelude::*;
    ///
    /// #[derive(Debug, Clone, Copy, PartialEq, Eq, DbEnum)]
    /// pub enum Channel { Shop, Web }
    ///
    /// #[derive(Debug, Clone, Repository)]
    /// #[repo(table = "purchases")]
    /// pub struct Purchase {
    ///     #[repo(primary_key, auto)]
    ///     pub id: i64,
    ///     pub customer: String,
    ///     pub channel: Channel,
    ///     pub cents: i64,
    /// }
    ///
    /// #[derive(Debug, PartialEq, FromRow)]
    /// pub struct Spend {
    ///     pub customer: String,
    ///     pub channel: Channel,
    ///     pub purchases: i64,
    ///     pub total: i64,
    ///     pub mean: Option<f64>,
    /// }
    ///
    /// impl PurchaseRepository<'_> {
    ///     /// Spend per customer and channel, biggest first.
    ///     pub async fn spend(&self) -> repo_core::Result<Vec<Spend>> {
    ///         let select = Query::select()
    ///             .column(Purchase::CUSTOMER.name())
    ///             .column(Purchase::CHANNEL.name())
    ///             .expr_as(count_rows(), "purchases")
    ///             .expr_as(Purchase::CENTS.sum(), "total")
    ///             .expr_as(Purchase::CENTS.avg(), "mean")
    ///             .from(Purchase::TABLE)
    ///             .group_by_col(Purchase::CUSTOMER.name())
    ///             .group_by_col(Purchase::CHANNEL.name())
    ///             .order_by("total", Order::Desc)
    ///             .to_owned();
    ///         self.fetch_rows(&select).await
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> repo_core::Result<()> {
    /// let db = Db::connect("sqlite::memory:").await?;
    /// db.create_schema::<Purchase>().await?;
    /// let repo = PurchaseRepository::new(&db);
    /// for (customer, cents) in [("ann", 500), ("bob", 200), ("ann", 250)] {
    ///     repo.insert_new(NewPurchase { customer: customer.into(), channel: Channel::Web, cents })
    ///         .await?;
    /// }
    /// let spend = repo.spend().await?;
    /// assert_eq!(
    ///     spend,
    ///     [
    ///         Spend { customer: "ann".into(), channel: Channel::Web, purchases: 2, total: 750, mean: Some(375.0) },
    ///         Spend { customer: "bob".into(), channel: Channel::Web, purchases: 1, total: 200, mean: Some(200.0) },
    ///     ]
    /// );
    /// # Ok(()) }
    /// ```
    pub async fn fetch_rows<R: FromDbRow>(
        &self,
        statement: &impl QueryStatementWriter,
    ) -> Result<Vec<R>> {
        let rows = self
            .conn
            .fetch_all_as(self.statement(statement), classify_error::<E>)
            .await?;
        rows.iter()
            .map(|row| row.decode::<R>().map_err(Error::from))
            .collect()
    }

    /// Like [`fetch_rows`](Repository::fetch_rows), the first row only.
    pub async fn fetch_row<R: FromDbRow>(
        &self,
        statement: &impl QueryStatementWriter,
    ) -> Result<Option<R>> {
        let row = self
            .conn
            .fetch_optional_as(self.statement(statement), classify_error::<E>)
            .await?;
        row.map(|row| row.decode::<R>().map_err(Error::from))
            .transpose()
    }

    /// Run a statement that returns no rows; the number of rows it affected.
    pub async fn execute(&self, statement: &impl QueryStatementWriter) -> Result<u64> {
        let done = self
            .conn
            .execute_as(self.statement(statement), classify_error::<E>)
            .await;
        self.named(done).await
    }

    /// Name a constraint error as the schema does, where the database does not say.
    async fn named<T>(&self, result: Result<T>) -> Result<T> {
        match result {
            Err(error)
                if error.is_constraint_violation()
                    && !self.backend().capabilities().errors_name_constraints =>
            {
                Err(
                    crate::constraint_names::name_sqlite_constraint(&self.conn, E::TABLE, error)
                        .await,
                )
            }
            other => other,
        }
    }

    /// Run raw SQL text with its values: the escape hatch for what sea-query cannot say.
    pub async fn fetch_entities_statement(&self, statement: Statement) -> Result<Vec<E>> {
        let rows = self.conn.fetch_all_as(statement, classify_error::<E>).await;
        let rows = self.named(rows).await?;
        record_rows(rows.len() as u64);
        rows.iter().map(decode::<E>).collect()
    }

    /// Like [`fetch_entities_statement`](Repository::fetch_entities_statement), the first row.
    pub async fn fetch_entity_statement(&self, statement: Statement) -> Result<Option<E>> {
        let row = self
            .conn
            .fetch_optional_as(statement, classify_error::<E>)
            .await;
        let row = self.named(row).await?;
        record_rows(u64::from(row.is_some()));
        row.as_ref().map(decode::<E>).transpose()
    }

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
            values.extend(key);
            let sql = self.fixed(Fixed::Update);
            self.fetch_entity_statement(Statement::new(sql, values))
                .await?
                .ok_or_else(|| not_found::<E>(entity.id()))
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
                .await?
                .ok_or_else(|| not_found::<E>(entity.id()))
        }
        .instrument(span::<E>("upsert"))
        .await
    }

    /// Insert every entity, atomically, in as few statements as the backend's bind limit
    /// allows; the number of rows inserted. An empty slice sends nothing.
    pub async fn bulk_insert(&self, entities: &[E]) -> Result<u64> {
        async {
            let rows: Vec<&E> = entities.iter().collect();
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
            let rows = dedupe_last_wins(entities)?;
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
            let rows = dedupe_last_wins(entities)?;
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
        let statements = rows.chunks(per_chunk).map(move |chunk| {
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
        });
        let done = self
            .conn
            .atomic(
                statements,
                kind == BulkKind::UpsertReturning,
                classify_error::<E>,
            )
            .await;
        self.named(done).await
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
                let mut select = self.select();
                select.cond_where(condition);
                for order in &page.order {
                    order.key().apply(&mut select, self.backend());
                }
                if !page.order.iter().any(|o| o.column == E::primary_key().name) {
                    select.order_by(E::primary_key().name, sea_query::Order::Asc);
                }
                select.limit(page.limit).offset(page.offset);
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
            let mut select = self.select();
            select
                .cond_where(self.condition(filter))
                .order_by(E::primary_key().name, sea_query::Order::Asc);
            self.fetch_entities(&select).await
        }
        .instrument(span::<E>("find_all"))
        .await
    }

    /// The first row matching `filter` by primary key, if any.
    pub async fn find_one(&self, filter: Filter<E>) -> Result<Option<E>> {
        async {
            let mut select = self.select();
            select
                .cond_where(self.condition(filter))
                .order_by(E::primary_key().name, sea_query::Order::Asc);
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
        let select = Query::select()
            .expr(Expr::cust("COUNT(*)"))
            .from(E::TABLE)
            .cond_where(condition)
            .to_owned();
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
            let select = Query::select()
                .expr(Expr::cust("1"))
                .from(E::TABLE)
                .cond_where(self.condition(filter))
                .to_owned();
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
            if assignments.is_empty() {
                return Err(Error::validation(
                    "assignments",
                    "update_where needs at least one `Column::set(...)`",
                ));
            }
            let mut values: Vec<(&'static str, Expr)> = assignments
                .into_iter()
                .map(|a| (a.column, Expr::val(a.value)))
                .collect();
            for column in E::COLUMNS {
                if column.role == ColumnRole::UpdatedAt
                    && !values.iter().any(|(name, _)| *name == column.name)
                {
                    values.push((
                        column.name,
                        Expr::val(Value::ChronoDateTimeUtc(Some(now()))),
                    ));
                }
            }
            let update = Query::update()
                .table(E::TABLE)
                .values(values)
                .cond_where(self.condition(filter))
                .to_owned();
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
            let delete = Query::delete()
                .from_table(E::TABLE)
                .cond_where(self.condition(filter))
                .to_owned();
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
        let mut select = self.select();
        select
            .cond_where(self.condition(filter))
            .order_by(E::primary_key().name, sea_query::Order::Asc);
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
        let mut select = self.select();
        select.cond_where(condition);
        for key in &keys {
            key.apply(&mut select, backend);
        }
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

fn decode<E: Entity>(row: &Row) -> Result<E> {
    E::decode(row).map_err(Error::from)
}

fn not_found<E: Entity>(id: &E::Id) -> Error {
    Error::NotFound {
        entity: E::NAME,
        key: format!("{} = {id:?}", E::primary_key().name),
    }
}

fn conflict_key<E: Entity>() -> Result<&'static [&'static str]> {
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
fn insert_columns<E: Entity>() -> impl Iterator<Item = &'static crate::entity::ColumnDef> {
    E::COLUMNS
        .iter()
        .filter(|c| !(c.auto && c.role == ColumnRole::PrimaryKey))
}

/// Push the INSERT values of `entity`: timestamps set to `now`, a generated key left out.
fn insert_values<E: Entity>(entity: &E, now: DateTime<Utc>, out: &mut Vec<Value>) -> Result<()> {
    let start = out.len();
    entity.push_values(out)?;
    for (index, column) in E::COLUMNS.iter().enumerate() {
        if matches!(column.role, ColumnRole::CreatedAt | ColumnRole::UpdatedAt) {
            out[start + index] = Value::ChronoDateTimeUtc(Some(now));
        }
    }
    let pk = E::primary_key();
    if pk.auto {
        out.remove(start + E::PRIMARY_KEY);
    }
    Ok(())
}

/// Keep, for each conflict key, only the last entity that has it (PostgreSQL refuses to
/// update one row twice in a statement; SQLite would let the last win: both now agree).
fn dedupe_last_wins<E: Entity>(entities: &[E]) -> Result<Vec<&E>> {
    let Some(key) = E::conflict_key() else {
        return Ok(entities.iter().collect());
    };
    if entities.len() < 2 {
        return Ok(entities.iter().collect());
    }
    let indexes: Vec<usize> = key
        .iter()
        .filter_map(|name| E::column_index(name))
        .collect();
    let mut last: HashMap<Vec<Value>, usize> = HashMap::with_capacity(entities.len());
    for (position, entity) in entities.iter().enumerate() {
        let values = indexes
            .iter()
            .map(|&i| entity.value_at(i))
            .collect::<Result<Vec<_>>>()?;
        last.insert(values, position);
    }
    if last.len() == entities.len() {
        return Ok(entities.iter().collect());
    }
    let keep: HashSet<usize> = last.into_values().collect();
    Ok(entities
        .iter()
        .enumerate()
        .filter(|(position, _)| keep.contains(position))
        .map(|(_, entity)| entity)
        .collect())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BulkKind {
    Insert,
    Upsert,
    UpsertReturning,
}

impl BulkKind {
    fn fixed(self) -> Fixed {
        match self {
            Self::Insert => Fixed::BulkInsert,
            Self::Upsert => Fixed::BulkUpsert,
            Self::UpsertReturning => Fixed::BulkUpsertReturning,
        }
    }
}

/// `INSERT` of `rows` rows of placeholders; for upserts with the conflict clause.
fn build_insert<E: Entity>(backend: Backend, rows: usize, kind: BulkKind) -> String {
    build_insert_statement::<E>(
        backend,
        rows,
        kind != BulkKind::Insert,
        kind == BulkKind::UpsertReturning,
    )
}

fn build_insert_statement<E: Entity>(
    backend: Backend,
    rows: usize,
    upsert: bool,
    returning: bool,
) -> String {
    let mut insert = Query::insert();
    insert
        .into_table(E::TABLE)
        .columns(insert_columns::<E>().map(|c| c.name));
    let placeholders: Vec<Expr> = insert_columns::<E>()
        .map(|c| Expr::val((c.null_value)()))
        .collect();
    for _ in 0..rows {
        insert.values_panic(placeholders.iter().cloned());
    }
    if upsert {
        let key = E::conflict_key().unwrap_or_default();
        let mut update: Vec<&'static str> = insert_columns::<E>()
            .filter(|c| {
                !key.contains(&c.name)
                    && c.role != ColumnRole::CreatedAt
                    && c.role != ColumnRole::PrimaryKey
            })
            .map(|c| c.name)
            .collect();
        if update.is_empty() {
            // Every column is part of the key: a no-op update still lets RETURNING see the row.
            update.extend(key.first().copied());
        }
        insert.on_conflict(
            OnConflict::columns(key.iter().copied())
                .update_columns(update)
                .to_owned(),
        );
    }
    if returning {
        insert.returning(Query::returning().columns(E::COLUMNS.iter().map(|c| c.name)));
    }
    Statement::build(&insert, backend).sql().to_owned()
}

fn build_fixed<E: Entity>(backend: Backend, kind: Fixed) -> String {
    let pk = E::primary_key();
    let by_id = Expr::col(pk.name).eq(Expr::val((pk.null_value)()));
    let all = || E::COLUMNS.iter().map(|c| c.name);
    match kind {
        Fixed::SelectById => {
            let select = Query::select()
                .columns(all())
                .from(E::TABLE)
                .and_where(by_id)
                .to_owned();
            Statement::build(&select, backend).sql().to_owned()
        }
        Fixed::Insert => build_insert_statement::<E>(backend, 1, false, true),
        Fixed::Upsert => build_insert_statement::<E>(backend, 1, true, true),
        Fixed::Update => {
            let sets: Vec<(&'static str, Expr)> = E::COLUMNS
                .iter()
                .filter(|c| matches!(c.role, ColumnRole::Plain | ColumnRole::UpdatedAt))
                .map(|c| (c.name, Expr::val((c.null_value)())))
                .collect();
            let update = Query::update()
                .table(E::TABLE)
                .values(sets)
                .and_where(by_id)
                .returning(Query::returning().columns(all()))
                .to_owned();
            Statement::build(&update, backend).sql().to_owned()
        }
        Fixed::Delete => {
            let delete = Query::delete()
                .from_table(E::TABLE)
                .and_where(by_id)
                .to_owned();
            Statement::build(&delete, backend).sql().to_owned()
        }
        Fixed::BulkInsert | Fixed::BulkUpsert | Fixed::BulkUpsertReturning => {
            let bulk = match kind {
                Fixed::BulkInsert => BulkKind::Insert,
                Fixed::BulkUpsert => BulkKind::Upsert,
                _ => BulkKind::UpsertReturning,
            };
            let width = insert_columns::<E>().count();
            let rows = (backend.max_bind_parameters() / width).max(1);
            build_insert::<E>(backend, rows, bulk)
        }
    }
}

/// The operations every repository has, implemented once over [`Repository`].
///
/// Generated repositories implement it by returning their inner [`Repository`]; write generic
/// code against it (`fn f(r: &impl BaseRepository<Dataset>)`). See [`Repository`] for what
/// each operation guarantees.
pub trait BaseRepository<E: Entity>: Send + Sync {
    /// The generic repository doing the work.
    fn repository(&self) -> &Repository<'_, E>;

    /// See [`Repository::find_by_id`].
    fn find_by_id(&self, id: impl Into<E::Id>) -> impl Future<Output = Result<Option<E>>> + Send {
        self.repository().find_by_id(id)
    }
    /// See [`Repository::get`].
    fn get(&self, id: impl Into<E::Id>) -> impl Future<Output = Result<E>> + Send {
        self.repository().get(id)
    }
    /// See [`Repository::insert`].
    fn insert(&self, entity: &E) -> impl Future<Output = Result<E>> + Send {
        self.repository().insert(entity)
    }
    /// See [`Repository::update`].
    fn update(&self, entity: &E) -> impl Future<Output = Result<E>> + Send {
        self.repository().update(entity)
    }
    /// See [`Repository::delete`].
    fn delete(&self, id: impl Into<E::Id>) -> impl Future<Output = Result<bool>> + Send {
        self.repository().delete(id)
    }
    /// See [`Repository::upsert`].
    fn upsert(&self, entity: &E) -> impl Future<Output = Result<E>> + Send {
        self.repository().upsert(entity)
    }
    /// See [`Repository::bulk_insert`].
    fn bulk_insert(&self, entities: &[E]) -> impl Future<Output = Result<u64>> + Send {
        self.repository().bulk_insert(entities)
    }
    /// See [`Repository::bulk_upsert`].
    fn bulk_upsert(&self, entities: &[E]) -> impl Future<Output = Result<u64>> + Send {
        self.repository().bulk_upsert(entities)
    }
    /// See [`Repository::bulk_upsert_returning`].
    fn bulk_upsert_returning(&self, entities: &[E]) -> impl Future<Output = Result<Vec<E>>> + Send {
        self.repository().bulk_upsert_returning(entities)
    }
    // ----- new entities (see `new_entity`) -------------------------------------------------
    /// See [`Repository::insert_new`].
    fn insert_new(&self, new: E::New) -> impl Future<Output = Result<E>> + Send {
        self.repository().insert_new(new)
    }
    /// See [`Repository::bulk_insert_new`].
    fn bulk_insert_new(
        &self,
        new: impl IntoIterator<Item = E::New>,
    ) -> impl Future<Output = Result<u64>> + Send {
        self.repository().bulk_insert_new(new)
    }
    // ----- end of new entities ------------------------------------------------------------
    /// See [`Repository::find`].
    fn find(
        &self,
        filter: Filter<E>,
        page: PageRequest<E>,
    ) -> impl Future<Output = Result<Page<E>>> + Send {
        self.repository().find(filter, page)
    }
    /// See [`Repository::find_all`].
    fn find_all(&self, filter: Filter<E>) -> impl Future<Output = Result<Vec<E>>> + Send {
        self.repository().find_all(filter)
    }
    /// See [`Repository::find_one`].
    fn find_one(&self, filter: Filter<E>) -> impl Future<Output = Result<Option<E>>> + Send {
        self.repository().find_one(filter)
    }
    /// See [`Repository::count`].
    fn count(&self, filter: Filter<E>) -> impl Future<Output = Result<u64>> + Send {
        self.repository().count(filter)
    }
    /// See [`Repository::exists`].
    fn exists(&self, filter: Filter<E>) -> impl Future<Output = Result<bool>> + Send {
        self.repository().exists(filter)
    }
    /// See [`Repository::update_where`].
    fn update_where(
        &self,
        filter: Filter<E>,
        assignments: impl IntoIterator<Item = Assignment<E>>,
    ) -> impl Future<Output = Result<u64>> + Send {
        let assignments: Vec<Assignment<E>> = assignments.into_iter().collect();
        self.repository().update_where(filter, assignments)
    }
    /// See [`Repository::delete_where`].
    fn delete_where(&self, filter: Filter<E>) -> impl Future<Output = Result<u64>> + Send {
        self.repository().delete_where(filter)
    }
    /// See [`Repository::stream`].
    fn stream(&self, filter: Filter<E>) -> BoxStream<'_, Result<E>> {
        self.repository().stream(filter)
    }
    /// See [`Repository::find_keyset`].
    fn find_keyset(
        &self,
        filter: Filter<E>,
        request: KeysetRequest<E>,
    ) -> impl Future<Output = Result<KeysetPage<E>>> + Send {
        self.repository().find_keyset(filter, request)
    }
}

impl<E: Entity> BaseRepository<E> for Repository<'_, E> {
    fn repository(&self) -> &Repository<'_, E> {
        self
    }
}
