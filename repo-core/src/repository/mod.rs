//! `Repository<E>`: every generic operation, written once; and `BaseRepository<E>`, the trait
//! generated repositories implement by pointing at one.
//!
//! This module holds the repository and the tools custom queries share with the base
//! operations; `reads` and `operations` the operations, `soft_delete` the views and
//! operations of soft-deleted rows, `update` the updates that return rows, `base` the trait.
//! Statements are built in the crate-private `statements` module.

mod audit;
pub(crate) mod audit_log;
mod base;
mod bulk;
mod cached;
mod constraint_names;
mod filtered;
mod new;
mod operations;
mod reads;
mod returned;
mod soft_delete;
mod update;

pub use base::BaseRepository;
pub use bulk::BulkWrite;
pub use update::{Guarded, UpdateReturning};

use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use sea_query::{Condition, SelectStatement};

use crate::dialect::Backend;
use crate::entity::Entity;
use crate::error::{Error, Result};
use crate::exec::{Conn, RunnableStatement, Statement};
use crate::filter::Filter;
use crate::from_row::FromDbRow;
use crate::row::Row;
use crate::statements::View;

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
    crate::backend::classify::classify::<E>(error)
}

fn span<E: Entity>(method: &'static str) -> tracing::Span {
    tracing::info_span!(
        "repository",
        otel.name = %format_args!("{}.{}", E::NAME, method),
        entity = E::NAME,
        method,
        rows = tracing::field::Empty,
        repo.cache = tracing::field::Empty,
    )
}

/// The repository call `method` of entity `E`, as its statements' telemetry names it.
fn call<E: Entity>(method: &'static str) -> crate::telemetry::Call {
    crate::telemetry::Call {
        entity: E::NAME,
        method,
        table: E::TABLE,
    }
}

/// A repository method's future, run in its span and as its call (so that its statements know
/// their entity, method and table: see [`crate::telemetry`]).
trait Traced: std::future::Future + Sized {
    fn traced<E: Entity>(
        self,
        method: &'static str,
    ) -> impl std::future::Future<Output = Self::Output> {
        use tracing::Instrument as _;
        crate::telemetry::in_call(call::<E>(method), self.instrument(span::<E>(method)))
    }
}

impl<F: std::future::Future> Traced for F {}

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
///
/// On an entity with a `#[repo(soft_delete)]` column a repository sees the live rows; its
/// [`with_deleted`](Repository::with_deleted) and [`only_deleted`](Repository::only_deleted)
/// views see every row or the deleted ones, in every operation and in
/// [`select`](Repository::select).
///
/// On an entity declared `#[repo(audit)]` every write operation also appends what it changed
/// to the audit log, in the same transaction (see [`crate::audit`]).
pub struct Repository<'a, E> {
    conn: Conn<'a>,
    view: View,
    /// Who this repository's writes are recorded as made by, over the unit of work's actor.
    actor: Option<std::sync::Arc<str>>,
    /// Whether it runs inside a unit of statements the framework opened for one call, which
    /// that call's failure undoes whole (an audited write's group, an update's own
    /// transaction): its statements need no undo of their own.
    undone_whole: bool,
    _entity: PhantomData<fn() -> E>,
}

impl<E> Clone for Repository<'_, E> {
    fn clone(&self) -> Self {
        Self {
            conn: self.conn,
            view: self.view,
            actor: self.actor.clone(),
            undone_whole: self.undone_whole,
            _entity: PhantomData,
        }
    }
}

impl<E> std::fmt::Debug for Repository<'_, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository")
            .field("conn", &self.conn)
            .field("view", &self.view)
            .finish()
    }
}

impl<'a, E: Entity> Repository<'a, E> {
    /// A repository on a [`Db`](crate::Db) (autocommit) or a [`Session`](crate::Session).
    pub fn new(conn: impl Into<Conn<'a>>) -> Self {
        Self {
            conn: conn.into(),
            view: View::Live,
            actor: None,
            undone_whole: false,
            _entity: PhantomData,
        }
    }

    /// This repository on `conn`, a unit of statements opened for one call and undone whole
    /// when the call fails, with the same view and actor.
    pub(crate) fn in_unit<'b>(&self, conn: Conn<'b>) -> Repository<'b, E> {
        Repository {
            conn,
            view: self.view,
            actor: self.actor.clone(),
            undone_whole: true,
            _entity: PhantomData,
        }
    }

    /// This repository, its writes recorded in the audit log as made by `actor` whatever the
    /// unit of work's actor is (see [`crate::audit`]): for an operation that knows who acts,
    /// such as an API error resolved by a named user, without changing a shared session.
    #[must_use]
    pub fn acting_as(&self, actor: impl Into<String>) -> Self {
        let mut repo = self.clone();
        repo.actor = Some(std::sync::Arc::from(actor.into()));
        repo
    }

    /// Who this repository's writes are recorded as made by: its own actor
    /// ([`acting_as`](Repository::acting_as)), else the unit of work's.
    pub(crate) fn actor(&self) -> Option<std::sync::Arc<str>> {
        self.actor.clone().or_else(|| self.conn.actor())
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
    /// [`fetch_entities`](Repository::fetch_entities). On an entity with a soft-delete column it
    /// carries the condition of the repository's view (`WHERE "deleted_at" IS NULL` by
    /// default); conditions added with `cond_where` / `and_where` are joined to it with AND.
    #[must_use]
    pub fn select(&self) -> SelectStatement {
        let mut select = crate::statements::select_all::<E>();
        if let Some(visible) = crate::statements::visible::<E>(self.view) {
            select.cond_where(visible);
        }
        select
    }

    /// The condition on the rows this repository's view sees: `"deleted_at" IS NULL` on an
    /// entity with a soft-delete column (`IS NOT NULL` in
    /// [`only_deleted`](Repository::only_deleted), `TRUE` in
    /// [`with_deleted`](Repository::with_deleted)); `TRUE` on other entities. Add it to custom
    /// statements that do not start from [`select`](Repository::select), such as
    /// aggregates: `Query::select().expr(count_rows()).from(T::table()).cond_where(repo.visible())`.
    #[must_use]
    pub fn visible(&self) -> Condition {
        crate::statements::visible::<E>(self.view).unwrap_or_else(Condition::all)
    }

    /// `filter` for this backend, restricted to the rows this repository's view sees.
    pub(crate) fn within(&self, filter: impl std::borrow::Borrow<Filter<E>>) -> Condition {
        crate::statements::within::<E>(self.view, self.condition(filter))
    }

    /// `filter` as a sea-query condition for this repository's backend, for custom queries:
    /// `select.cond_where(self.condition(Dataset::TITLE.contains("x")))`.
    #[must_use]
    pub fn condition(&self, filter: impl std::borrow::Borrow<Filter<E>>) -> Condition {
        filter.borrow().condition(self.backend())
    }

    /// Render a sea-query statement for this repository's backend.
    #[must_use]
    pub fn statement(&self, statement: &(impl RunnableStatement + ?Sized)) -> Statement {
        statement.to_statement(self.backend())
    }

    /// Run a query selecting every column (as [`select`](Repository::select) does); the entities.
    /// An [`UpdateReturning`] runs with [`fetch_updated`](Repository::fetch_updated) instead
    /// (passing one here does not compile; see [`RunnableStatement`]).
    pub async fn fetch_entities(&self, statement: &dyn RunnableStatement) -> Result<Vec<E>> {
        self.fetch_entities_statement(self.statement(statement))
            .await
    }

    /// Like [`fetch_entities`](Repository::fetch_entities), the first row only.
    pub async fn fetch_entity(&self, statement: &dyn RunnableStatement) -> Result<Option<E>> {
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
        statement: &dyn RunnableStatement,
    ) -> Result<Vec<R>> {
        self.fetch_rows_of(self.statement(statement)).await
    }

    /// [`fetch_rows`](Repository::fetch_rows) of a rendered statement.
    pub(crate) async fn fetch_rows_of<R: FromDbRow>(&self, statement: Statement) -> Result<Vec<R>> {
        let decode = |row: &Row| row.decode::<R>().map_err(Error::from);
        if returned::writes(&statement) {
            // Rows a write returns are read before the write stands (see `returned`).
            let guard = self.writing_custom(statement.sql());
            let rows = self
                .conn
                .fetch_all_undoable(statement, classify_error::<E>, decode)
                .await;
            guard.done(None).await;
            return self.named(rows).await;
        }
        let rows = self
            .conn
            .fetch_all_as(statement, classify_error::<E>)
            .await?;
        rows.iter().map(decode).collect()
    }

    /// Like [`fetch_rows`](Repository::fetch_rows), the first row only.
    pub async fn fetch_row<R: FromDbRow>(
        &self,
        statement: &dyn RunnableStatement,
    ) -> Result<Option<R>> {
        let statement = self.statement(statement);
        if returned::writes(&statement) {
            let guard = self.writing_custom(statement.sql());
            let rows = self
                .conn
                .fetch_all_undoable(statement, classify_error::<E>, |row: &Row| {
                    row.decode::<R>().map_err(Error::from)
                })
                .await;
            guard.done(None).await;
            return Ok(self.named(rows).await?.into_iter().next());
        }
        let row = self
            .conn
            .fetch_optional_as(statement, classify_error::<E>)
            .await?;
        row.map(|row| row.decode::<R>().map_err(Error::from))
            .transpose()
    }

    /// Run a statement that returns no rows; the number of rows it affected.
    pub async fn execute(&self, statement: &dyn RunnableStatement) -> Result<u64> {
        let statement = self.statement(statement);
        let guard = returned::writes(&statement).then(|| self.writing_custom(statement.sql()));
        let done = self.conn.execute_as(statement, classify_error::<E>).await;
        if let Some(guard) = guard {
            guard.done(None).await;
        }
        self.named(done).await
    }

    /// Name a constraint error as the schema does, where the database does not say.
    async fn named<T>(&self, result: Result<T>) -> Result<T> {
        match result {
            Err(error)
                if error.is_constraint_violation()
                    && !self.backend().capabilities().errors_name_constraints =>
            {
                Err(constraint_names::name_sqlite_constraint(&self.conn, E::TABLE, error).await)
            }
            other => other,
        }
    }

    /// Run `statement`, a write the framework built that returns every row it changes (an
    /// `UPDATE … RETURNING`, an upsert): the rows, decoded before the write stands; the read
    /// cache forgets those rows.
    pub(crate) async fn fetch_changed(&self, statement: Statement) -> Result<Vec<E>> {
        self.fetch_written(statement, false, true).await
    }

    /// Run raw SQL text with its values: the escape hatch for what sea-query cannot say.
    ///
    /// A statement that writes and returns rows (anything but a `SELECT`) has its rows decoded
    /// before the write stands: a row that does not decode is the call's error, and nothing is
    /// written.
    pub async fn fetch_entities_statement(&self, statement: Statement) -> Result<Vec<E>> {
        if returned::writes(&statement) {
            return self.fetch_written(statement, false, false).await;
        }
        let rows = self.conn.fetch_all_as(statement, classify_error::<E>).await;
        let rows = self.named(rows).await?;
        record_rows(rows.len() as u64);
        rows.iter().map(decode::<E>).collect()
    }

    /// Like [`fetch_entities_statement`](Repository::fetch_entities_statement), the first row.
    pub async fn fetch_entity_statement(&self, statement: Statement) -> Result<Option<E>> {
        if returned::writes(&statement) {
            return Ok(self
                .fetch_written(statement, false, false)
                .await?
                .into_iter()
                .next());
        }
        let row = self
            .conn
            .fetch_optional_as(statement, classify_error::<E>)
            .await;
        let row = self.named(row).await?;
        record_rows(u64::from(row.is_some()));
        row.as_ref().map(decode::<E>).transpose()
    }
}

pub(crate) fn decode<E: Entity>(row: &Row) -> Result<E> {
    E::decode(row).map_err(Error::from)
}

pub(crate) fn not_found<E: Entity>(id: &E::Id) -> Error {
    Error::not_found::<E>(id)
}
