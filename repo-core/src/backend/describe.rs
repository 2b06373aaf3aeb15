//! Reading what the connected database says about a table's columns before anything is
//! written to it: their types as the driver sees them, NOT NULL, and whether a trigger can
//! change an inserted row (see [`ColumnInfo`]).

use super::{Lent, Pool, Tx};
use crate::dialect::dispatch;
use crate::row::ColumnInfo;

/// What the database says about a table before a write that returns its rows.
#[derive(Debug)]
pub(crate) struct TableDescription {
    /// The entity's columns, in the order they were asked for.
    pub(crate) columns: Vec<ColumnInfo>,
    /// Whether each of those columns is NOT NULL.
    pub(crate) not_null: Vec<bool>,
    /// A trigger may change a row before it is inserted, so an insert can return values the
    /// caller did not write.
    pub(crate) changes_inserts: bool,
}

/// The request: `select` is `SELECT <columns> FROM <table>` in the backend's dialect.
pub(crate) struct Table<'a> {
    pub(crate) schema: Option<&'a str>,
    pub(crate) name: &'a str,
    /// The table's name quoted and qualified as PostgreSQL reads it.
    pub(crate) quoted: &'a str,
    pub(crate) columns: &'a [&'static str],
    pub(crate) select: &'a str,
}

/// Reading a table's description on one backend, on one of its connections.
pub(crate) trait Describe: sqlx::Database {
    async fn describe(
        connection: &mut Self::Connection,
        table: &Table<'_>,
    ) -> Result<TableDescription, sqlx::Error>;
}

/// Each column's NOT NULL, by name, and whether a row trigger may change an insert's values.
type Constraints = (Vec<(String, bool)>, bool);

/// A backend whose driver describes a statement's result columns when preparing it; the rest
/// from its catalog (`constraints`).
macro_rules! describe_with_prepare {
    ($db:ty, $variant:ident, $constraints:expr) => {
        impl Describe for $db {
            async fn describe(
                connection: &mut Self::Connection,
                table: &Table<'_>,
            ) -> Result<TableDescription, sqlx::Error> {
                use sqlx::{Column as _, Executor as _, Statement as _};
                let statement = (&mut *connection)
                    .prepare(sqlx::AssertSqlSafe(table.select.to_owned()).into_sql_str())
                    .await?;
                let columns = statement
                    .columns()
                    .iter()
                    .map(|column| ColumnInfo::$variant(column.type_info().clone()))
                    .collect();
                let (nullability, changes_inserts): Constraints =
                    $constraints(&mut *connection, table).await?;
                Ok(TableDescription {
                    columns,
                    not_null: not_null(table, &nullability),
                    changes_inserts,
                })
            }
        }
    };
}

/// Whether each column of `table` is NOT NULL, from `(name, not null)` pairs.
fn not_null(table: &Table<'_>, found: &[(String, bool)]) -> Vec<bool> {
    table
        .columns
        .iter()
        .map(|name| {
            found
                .iter()
                .any(|(column, not_null)| column == name && *not_null)
        })
        .collect()
}

use sqlx::SqlSafeStr as _;

/// Each column's NOT NULL, and whether a `BEFORE INSERT … FOR EACH ROW` trigger (which may
/// change `NEW`) sits on the table.
#[cfg(feature = "postgres")]
async fn postgres_constraints(
    connection: &mut sqlx::PgConnection,
    table: &Table<'_>,
) -> Result<Constraints, sqlx::Error> {
    // tgtype bits: 1 row-level, 2 before, 4 insert.
    let rows: Vec<(String, bool, bool)> = sqlx::query_as(
        "SELECT a.attname::text, a.attnotnull, EXISTS (SELECT 1 FROM pg_trigger \
         WHERE tgrelid = to_regclass($1) AND NOT tgisinternal AND tgtype & 7 = 7) \
         FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 \
         AND NOT a.attisdropped",
    )
    .bind(table.quoted)
    .fetch_all(connection)
    .await?;
    let triggers = rows.first().is_some_and(|row| row.2);
    Ok((
        rows.into_iter().map(|(n, nn, _)| (n, nn)).collect(),
        triggers,
    ))
}

#[cfg(feature = "mysql")]
async fn mysql_constraints(
    connection: &mut sqlx::MySqlConnection,
    table: &Table<'_>,
) -> Result<Constraints, sqlx::Error> {
    let rows: Vec<(String, i64, i64)> = sqlx::query_as(
        "SELECT CAST(COLUMN_NAME AS CHAR), IS_NULLABLE = 'NO', (SELECT COUNT(*) \
         FROM information_schema.TRIGGERS t WHERE t.EVENT_OBJECT_SCHEMA = c.TABLE_SCHEMA \
         AND t.EVENT_OBJECT_TABLE = c.TABLE_NAME AND t.ACTION_TIMING = 'BEFORE' \
         AND t.EVENT_MANIPULATION = 'INSERT') \
         FROM information_schema.COLUMNS c \
         WHERE c.TABLE_SCHEMA = COALESCE(?, DATABASE()) AND c.TABLE_NAME = ?",
    )
    .bind(table.schema)
    .bind(table.name)
    .fetch_all(connection)
    .await?;
    let triggers = rows.first().is_some_and(|row| row.2 > 0);
    Ok((
        rows.into_iter().map(|(n, nn, _)| (n, nn != 0)).collect(),
        triggers,
    ))
}

#[cfg(feature = "postgres")]
describe_with_prepare!(sqlx::Postgres, postgres, postgres_constraints);
#[cfg(feature = "mysql")]
describe_with_prepare!(sqlx::MySql, mysql, mysql_constraints);

#[cfg(feature = "sqlite")]
impl Describe for sqlx::Sqlite {
    /// SQLite's declared types, from `pragma_table_info`. A trigger cannot change what an
    /// insert returns there: `RETURNING` reports the row the statement itself wrote.
    async fn describe(
        connection: &mut Self::Connection,
        table: &Table<'_>,
    ) -> Result<TableDescription, sqlx::Error> {
        let declared: Vec<(String, String, bool, i64)> =
            sqlx::query_as("SELECT name, type, \"notnull\", pk FROM pragma_table_info(?, ?)")
                .bind(table.name)
                .bind(table.schema.unwrap_or("main"))
                .fetch_all(&mut *connection)
                .await?;
        let key_columns = declared.iter().filter(|column| column.3 > 0).count();
        let columns = table
            .columns
            .iter()
            .map(|name| {
                declared
                    .iter()
                    .find(|(column, ..)| column == name)
                    .map(|(_, declared, _, pk)| {
                        let rowid =
                            *pk > 0 && key_columns == 1 && declared.eq_ignore_ascii_case("INTEGER");
                        ColumnInfo::sqlite(declared.clone(), rowid)
                    })
                    .ok_or_else(|| sqlx::Error::ColumnNotFound((*name).to_owned()))
            })
            .collect::<Result<_, _>>()?;
        let nullability: Vec<(String, bool)> =
            declared.into_iter().map(|(n, _, nn, _)| (n, nn)).collect();
        Ok(TableDescription {
            columns,
            not_null: not_null(table, &nullability),
            changes_inserts: false,
        })
    }
}

impl Pool {
    /// The description of `table`, read on a connection of the pool.
    pub(crate) async fn describe(
        &self,
        table: &Table<'_>,
    ) -> Result<TableDescription, sqlx::Error> {
        dispatch!(Pool, self, |conns, D| {
            let mut lent = Lent::acquire(conns).await?;
            let described = <D as Describe>::describe(&mut lent, table).await;
            lent.settled();
            lent.finish(described).await
        })
    }
}

impl Tx {
    /// The description of `table`, read inside the transaction.
    pub(crate) async fn describe(
        &mut self,
        table: &Table<'_>,
    ) -> Result<TableDescription, sqlx::Error> {
        let described = dispatch!(Tx, &mut *self, |tx, D| <D as Describe>::describe(
            &mut **tx, table
        )
        .await);
        self.settled();
        described
    }
}
