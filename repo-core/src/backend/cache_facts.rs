//! What a read cache asks the database: which database this is (so two databases never share
//! entries, and every connection to one does), and which tables change when a row of another
//! is deleted or its key updated (foreign keys with a cascading action).

use super::{Lent, Pool};
use crate::dialect::dispatch;

impl Pool {
    /// The database's identity: the same for every connection to it however the URL names the
    /// server, different for two databases. `url` serves where the server cannot tell (a SQLite
    /// file is known by its path; an in-memory database is its pool's alone).
    pub(crate) async fn identity(&self, url: &str) -> Result<String, sqlx::Error> {
        dispatch!(Pool, self, |conns, D| {
            let mut lent = Lent::acquire(conns).await?;
            let found = <D as CacheFacts>::identity(&mut lent, url).await;
            lent.settled();
            lent.finish(found).await
        })
    }

    /// The tables a foreign key of `table` (in `schema`, else the connection's) references with
    /// a cascading action (`CASCADE`, `SET NULL`, `SET DEFAULT`): deleting one of their rows, or
    /// changing its key, changes rows of `table`.
    pub(crate) async fn cascading_parents(
        &self,
        schema: Option<&str>,
        table: &str,
    ) -> Result<Vec<String>, sqlx::Error> {
        dispatch!(Pool, self, |conns, D| {
            let mut lent = Lent::acquire(conns).await?;
            let found = <D as CacheFacts>::cascading_parents(&mut lent, schema, table).await;
            lent.settled();
            lent.finish(found).await
        })
    }
}

pub(crate) trait CacheFacts: sqlx::Database {
    async fn identity(conn: &mut Self::Connection, url: &str) -> Result<String, sqlx::Error>;
    async fn cascading_parents(
        conn: &mut Self::Connection,
        schema: Option<&str>,
        table: &str,
    ) -> Result<Vec<String>, sqlx::Error>;
}

#[cfg(feature = "postgres")]
impl CacheFacts for sqlx::Postgres {
    async fn identity(conn: &mut Self::Connection, _url: &str) -> Result<String, sqlx::Error> {
        // The cluster's system identifier is the same on every address of the server (and on
        // its physical replicas, which hold the same rows); reading it needs pg_monitor, so
        // without it the server's own address stands in. The search path is part of it: the
        // same unqualified name is another table under another path.
        // Asked only where it may be read: a refused call would abort the transaction the
        // question runs in (through a transaction pooler).
        let (database, schemas, server): (String, String, String) = sqlx::query_as(
            "SELECT current_database()::text, current_schemas(false)::text, \
             CASE WHEN has_function_privilege('pg_control_system()', 'EXECUTE') \
             THEN (SELECT system_identifier::text FROM pg_control_system()) \
             ELSE coalesce(host(inet_server_addr()), 'socket') || ':' || current_setting('port') \
             END",
        )
        .fetch_one(&mut *conn)
        .await?;
        Ok(format!("postgres:{server}/{database}/{schemas}"))
    }

    async fn cascading_parents(
        conn: &mut Self::Connection,
        schema: Option<&str>,
        table: &str,
    ) -> Result<Vec<String>, sqlx::Error> {
        let qualified = match schema {
            Some(schema) => format!("{}.{}", quote(schema), quote(table)),
            None => quote(table),
        };
        sqlx::query_scalar(
            "SELECT DISTINCT parent.relname::text FROM pg_constraint c \
             JOIN pg_class parent ON parent.oid = c.confrelid \
             WHERE c.contype = 'f' AND c.conrelid = to_regclass($1) \
             AND (c.confdeltype IN ('c', 'n', 'd') OR c.confupdtype IN ('c', 'n', 'd'))",
        )
        .bind(qualified)
        .fetch_all(&mut *conn)
        .await
    }
}

#[cfg(feature = "postgres")]
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(feature = "mysql")]
impl CacheFacts for sqlx::MySql {
    async fn identity(conn: &mut Self::Connection, _url: &str) -> Result<String, sqlx::Error> {
        // MariaDB has no server UUID; its host name and port name the server as it sees
        // itself, whatever address the client used.
        let (host, port, database): (String, i64, Option<String>) =
            sqlx::query_as("SELECT @@hostname, CAST(@@port AS SIGNED), DATABASE()")
                .fetch_one(&mut *conn)
                .await?;
        Ok(format!(
            "mysql:{host}:{port}/{}",
            database.unwrap_or_default()
        ))
    }

    async fn cascading_parents(
        conn: &mut Self::Connection,
        schema: Option<&str>,
        table: &str,
    ) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT DISTINCT CAST(REFERENCED_TABLE_NAME AS CHAR) \
             FROM information_schema.REFERENTIAL_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? \
             AND (DELETE_RULE IN ('CASCADE', 'SET NULL', 'SET DEFAULT') \
                  OR UPDATE_RULE IN ('CASCADE', 'SET NULL', 'SET DEFAULT'))",
        )
        .bind(schema)
        .bind(table)
        .fetch_all(&mut *conn)
        .await
    }
}

#[cfg(feature = "sqlite")]
impl CacheFacts for sqlx::Sqlite {
    async fn identity(conn: &mut Self::Connection, url: &str) -> Result<String, sqlx::Error> {
        let file: Option<String> =
            sqlx::query_scalar("SELECT file FROM pragma_database_list WHERE name = 'main'")
                .fetch_optional(&mut *conn)
                .await?;
        if let Some(file) = file.filter(|f| !f.is_empty()) {
            return Ok(format!("sqlite:{file}"));
        }
        // An in-memory or temporary database exists for its pool alone.
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut nonce)
            .map_err(|e| sqlx::Error::Configuration(e.to_string().into()))?;
        let nonce = nonce.iter().fold(String::new(), |mut out, b| {
            use std::fmt::Write as _;
            let _ = write!(out, "{b:02x}");
            out
        });
        Ok(format!("sqlite:{url}#{nonce}"))
    }

    async fn cascading_parents(
        conn: &mut Self::Connection,
        schema: Option<&str>,
        table: &str,
    ) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT DISTINCT \"table\" FROM pragma_foreign_key_list(?, ?) \
             WHERE on_delete IN ('CASCADE', 'SET NULL', 'SET DEFAULT') \
                OR on_update IN ('CASCADE', 'SET NULL', 'SET DEFAULT')",
        )
        .bind(table)
        .bind(schema.unwrap_or("main"))
        .fetch_all(&mut *conn)
        .await
    }
}
