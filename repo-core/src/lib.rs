//! Generic repositories over PostgreSQL, SQLite and MariaDB (MySQL protocol).
//!
//! Declare an entity with `#[derive(Repository)]` and get a `XRepository` implementing
//! [`BaseRepository`] and a `NewX` input type for inserts: CRUD, upsert on a declared key, chunked atomic bulk writes, typed filters,
//! offset and keyset pages, streaming, and the tools to write custom queries the same way.
//!
//! ```
//! use repo_core::prelude::*;
//!
//! #[derive(Debug, Clone, Copy, PartialEq, DbEnum)]
//! pub enum Status { Active, Retired }
//!
//! #[derive(Debug, Clone, Repository)]
//! #[repo(table = "widgets", unique(sku))]
//! pub struct Widget {
//!     #[repo(primary_key, auto)]
//!     pub id: i64,
//!     pub sku: String,
//!     pub name: String,
//!     pub status: Status,
//!     pub weight: Option<f64>,
//!     #[repo(created_at)]
//!     pub created_at: DateTime<Utc>,
//!     #[repo(updated_at)]
//!     pub updated_at: DateTime<Utc>,
//! }
//!
//! // A custom query: an inherent method on the generated repository.
//! impl WidgetRepository<'_> {
//!     pub async fn heavier_than(&self, grams: f64) -> repo_core::Result<Vec<Widget>> {
//!         let mut select = self.select();
//!         select.cond_where(self.condition(Widget::WEIGHT.gt(grams)));
//!         self.fetch_entities(&select).await
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> repo_core::Result<()> {
//! let db = Db::connect("sqlite::memory:").await?;
//! db.create_schema::<Widget>().await?;
//!
//! let session = db.begin().await?;
//! let repo = WidgetRepository::new(&session);
//! // `NewWidget` (generated too) holds what the application supplies; the database generates
//! // the key and the repository sets the timestamps.
//! let bolt = repo
//!     .insert_new(NewWidget {
//!         sku: "B-1".into(), name: "bolt".into(), status: Status::Active, weight: Some(12.5),
//!     })
//!     .await?;
//! assert!(bolt.id > 0);
//! session.commit().await?;
//!
//! let repo = WidgetRepository::new(&db);
//! let page = repo
//!     .find(
//!         Widget::STATUS.eq(Status::Active),
//!         PageRequest::new(10).order_by(Widget::CREATED_AT.desc()),
//!     )
//!     .await?;
//! assert_eq!(page.total, 1);
//! assert_eq!(repo.heavier_than(10.0).await?[0].sku, "B-1");
//! # Ok(()) }
//! ```
//!
//! Backends are cargo features: `postgres`, `sqlite` and `mysql` (all on by default); `derive`
//! (on by default) re-exports the derives. What each backend can do, and where the framework
//! falls back, is [`Backend::capabilities`].
// `deny`, not `forbid`: `backend::sqlite::switch_off_double_quoted_strings` holds the crate's one
// FFI call.
#![deny(unsafe_code)]
// With fewer backends compiled in, helpers shared by the others go unused.
#![cfg_attr(
    not(all(feature = "postgres", feature = "sqlite", feature = "mysql")),
    allow(unused, irrefutable_let_patterns)
)]
#![deny(missing_docs)]

// Lets the derives, which name `::repo_core`, be used in this crate's own tests.
extern crate self as repo_core;

// The README's code runs as a doctest of this crate, so it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

// Layers, bottom first; a module names only modules of its own layer or below
// (`tests/layers.rs` holds this order; the README's "Layout" describes it).
//
// Values: what a column holds and how conditions on it are written, in each dialect.
pub mod aggregate;
mod conflict_action;
pub mod dialect;
pub mod error;
pub mod field;
pub mod field_types;
pub mod filter;
mod from_row;
mod keys;
pub mod order;
pub mod retry;
pub mod row;
mod schema_description;
mod schema_difference;
mod storage;
pub mod telemetry;
mod text;
mod value;
// Entity: what `#[derive(Repository)]` declares.
pub mod conflict;
pub mod entity;
mod new_entity;
// Statements: SQL built from an entity, a filter and a dialect; no I/O.
pub mod cursor;
pub mod page;
pub mod schema;
mod statements;
// Backend: the drivers.
pub mod backend;
// Execution: the pool, sessions, running statements.
pub mod db;
pub mod exec;
mod read_cache;
pub mod session;
mod settings;
mod transaction;
// Repository: the generic operations.
pub mod repository;
// Features, each built on the repository: the audit log, leases, table setup and checks.
pub mod audit;
pub mod cache;
pub mod lease;
pub mod migration;
mod setup;
pub mod verify;

pub use audit::{AuditEntry, AuditOperation, AuditRepository};
pub use backend::db_enum;
pub use conflict::{Conflict, ConflictAction};
pub use cursor::Cursor;
pub use db::{ConsistencyToken, Db, DbOptions, ReadFrom, ReplicaReads, Synchronous};
pub use dialect::{Backend, Capabilities, Isolation, UpsertSyntax};
pub use entity::{
    Audit, CachePolicy, ColumnDef, ColumnRole, Entity, Key, KeyPart, NoKey, StatementCache,
    Writable,
};
pub use error::{Error, Result};
pub use exec::Conn;
pub use field::{DbEnum, DbField, Decoding};
pub use filter::{Assignment, Column, Filter, Nulls, Order};
pub use from_row::FromDbRow;
pub use lease::Lease;
pub use migration::{
    Change, ChangeClass, DiffOptions, Migration, MigrationStep, Precheck, TableMigration,
};
pub use page::{KeysetPage, KeysetRequest, MAX_PAGE_LIMIT, Page, PageRequest};
pub use repository::{BaseRepository, BulkWrite, Guarded, Repository, UpdateReturning};
pub use retry::{RetryPolicy, TransactionOptions};
pub use row::ColumnInfo;
pub use row::Row;
pub use schema_description::{ColumnDescription, EnumDescription, FieldType, TableDescription};
pub use schema_difference::{SchemaDifference, TypeClass};
pub use session::Session;
pub use statements::{RunnableStatement, Statement};
pub use verify::Declaration;

#[cfg(feature = "derive")]
pub use repo_derive::{DbEnum, FromRow, Repository};

/// The decimal type of `Decimal` fields (feature `decimal`).
#[cfg(feature = "decimal")]
pub use rust_decimal;
/// The sea-query and sqlx this crate builds on, for custom queries.
pub use sea_query;
pub use sqlx;

/// What a user of the framework imports: `use repo_core::prelude::*;`.
///
/// Besides the framework's types and derives it brings what custom queries are written with:
/// sea-query's statement builders ([`Query`](sea_query::Query), [`Expr`](sea_query::Expr),
/// [`ExprTrait`](sea_query::ExprTrait), [`Cond`](sea_query::Cond)), the portable aggregates
/// ([`count_rows`](crate::aggregate::count_rows) and the `sum`/`avg`/`min`/`max` methods of
/// typed columns) and `#[derive(FromRow)]` for their result rows.
///
/// There is one `Order` here: **sea-query's sort direction**, `Order::Asc` / `Order::Desc`,
/// as in `select.order_by(column, Order::Desc)`. The framework's typed sort key,
/// [`repo_core::Order<E>`](crate::Order) (what [`PageRequest::order_by`](crate::PageRequest::order_by)
/// takes), is never written by name: it comes from `Column::asc()` / `Column::desc()`.
pub mod prelude {
    #[cfg(feature = "derive")]
    pub use crate::FromRow;
    pub use crate::aggregate::count_rows;
    pub use crate::{
        BaseRepository, BulkWrite, Conflict, Cursor, Db, DbEnum, DbOptions, Entity, Error, Filter,
        FromDbRow, Guarded, KeysetPage, KeysetRequest, Page, PageRequest, Repository, Session,
        UpdateReturning,
    };
    pub use chrono::{DateTime, Utc};
    pub use sea_query::{Cond, Expr, ExprTrait, Order, Query};
}

/// Paths generated code names; not public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::conflict::{ConflictAction, Numeric, Ordered};
    pub use crate::entity::{
        Audit, CachePolicy, ColumnDef, ColumnRole, Entity, KeyPart, NoKey, StatementCache, Writable,
    };
    pub use crate::error::{Error, Result};
    pub use crate::exec::Conn;
    pub use crate::field::{AutoKey, DbEnum, DbField, DeletedAt, Timestamp, VersionNumber, json};
    pub use crate::filter::Column;
    pub use crate::from_row::FromDbRow;
    pub use crate::new_entity::NewField;
    pub use crate::repository::{BaseRepository, Repository};
    pub use crate::row::Row;
    pub use crate::value::compare_value;
    pub use crate::{db_enum, impl_sqlx_for_db_enum};
    pub use sea_query::{ColumnType, Value};
    pub use serde_json::Value as JsonValue;
    pub use sqlx;
    pub use sqlx::Error as SqlxError;
    pub use std::option::Option;
    pub use std::result::Result as StdResult;
    pub use std::vec::Vec;
}
