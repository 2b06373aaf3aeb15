//! What a backend's catalog says about one table, in terms every backend shares: read by the
//! backend files, compared with an entity declaration by [`crate::verify`].

use super::Pool;
use crate::dialect::dispatch;
use crate::schema_description::TableDescription;
pub use crate::schema_difference::TypeClass;

/// One column as the catalog describes it.
#[derive(Debug, Clone)]
pub(crate) struct CatalogColumn {
    pub(crate) name: String,
    /// The column's type as the database names it (`character varying(255)`, `datetime(6)`,
    /// the declared type on SQLite).
    pub(crate) type_name: String,
    pub(crate) nullable: bool,
    /// The database fills the column when an insert leaves it out (a default, an identity or
    /// auto-increment, a generated column).
    pub(crate) has_default: bool,
    pub(crate) class: TypeClass,
    /// Other classes the framework stores in this column type on this backend (text for enums
    /// on SQLite, a BLOB for an embedding, ...).
    pub(crate) serves: &'static [TypeClass],
    /// The collation of a text column that does not compare text byte by byte with trailing
    /// spaces counting (MariaDB's PAD SPACE collations such as `utf8mb4_bin`, and those that
    /// ignore case); `None` for one that does, for other columns, and where the backend's
    /// catalog is not read for it (PostgreSQL, SQLite).
    pub(crate) inexact_collation: Option<String>,
}

impl CatalogColumn {
    /// Whether a field of class `declared` can live in this column.
    pub(crate) fn holds(&self, declared: TypeClass) -> bool {
        declared == TypeClass::Other || self.class == declared || self.serves.contains(&declared)
    }
}

/// One table as the catalog describes it.
#[derive(Debug, Clone, Default)]
pub(crate) struct CatalogTable {
    pub(crate) columns: Vec<CatalogColumn>,
    /// The primary key's columns, in key order (empty when there is none).
    pub(crate) primary_key: Vec<String>,
    /// The columns of every unique constraint or full unique index, the primary key included.
    pub(crate) unique_keys: Vec<Vec<String>>,
}

impl Pool {
    /// The catalog's description of `table` in `schema` (else the connection's); `None` when
    /// there is no such table.
    pub(crate) async fn catalog(
        &self,
        schema: Option<&str>,
        table: &str,
    ) -> Result<Option<CatalogTable>, sqlx::Error> {
        dispatch!(Pool, self, |conns, D| {
            let mut lent = super::Lent::acquire(conns).await?;
            let found = <D as Catalog>::catalog(&mut lent, schema, table).await;
            lent.settled();
            lent.finish(found).await
        })
    }

    /// The tables and views of `schema` (else the connection's), sorted by name: each name
    /// and whether it is a view.
    pub(crate) async fn relations(
        &self,
        schema: Option<&str>,
    ) -> Result<Vec<(String, bool)>, sqlx::Error> {
        dispatch!(Pool, self, |conns, D| {
            let mut lent = super::Lent::acquire(conns).await?;
            let found = <D as Catalog>::relations(&mut lent, schema).await;
            lent.settled();
            lent.finish(found).await
        })
    }

    /// Every table and view of `schema` (else the connection's), by name, described for
    /// declaring entities; `only`, when given, keeps those named.
    pub(crate) async fn describe_tables(
        &self,
        schema: Option<&str>,
        only: Option<&[String]>,
    ) -> Result<Vec<TableDescription>, sqlx::Error> {
        dispatch!(Pool, self, |conns, D| {
            let mut lent = super::Lent::acquire(conns).await?;
            let found = async {
                let mut tables = Vec::new();
                for (name, view) in <D as Catalog>::relations(&mut lent, schema).await? {
                    if only.is_some_and(|only| !only.contains(&name)) {
                        continue;
                    }
                    let table = <D as Catalog>::describe(&mut lent, schema, &name, view).await?;
                    tables.push(table);
                }
                Ok(tables)
            }
            .await;
            lent.settled();
            lent.finish(found).await
        })
    }
}

/// Reading a table's description from a backend's catalog.
pub(crate) trait Catalog: sqlx::Database {
    async fn catalog(
        conn: &mut Self::Connection,
        schema: Option<&str>,
        table: &str,
    ) -> Result<Option<CatalogTable>, sqlx::Error>;

    /// The tables and views of `schema` (else the connection's), sorted by name: each name
    /// and whether it is a view.
    async fn relations(
        conn: &mut Self::Connection,
        schema: Option<&str>,
    ) -> Result<Vec<(String, bool)>, sqlx::Error>;

    /// The table or view `name` of `schema`, described for declaring an entity.
    async fn describe(
        conn: &mut Self::Connection,
        schema: Option<&str>,
        name: &str,
        view: bool,
    ) -> Result<TableDescription, sqlx::Error>;
}
