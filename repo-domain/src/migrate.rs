//! The versioned migrations of the domain schema, embedded in the binary.
//!
//! `migrations/postgres/`, `migrations/sqlite/` and `migrations/mysql/` hold sqlx-format migrations
//! (`NNNN_name.sql`); [`migrate`] applies the ones for the database's backend that have not
//! run yet, recording them in `_sqlx_migrations`. On PostgreSQL everything is created
//! unqualified, in the first schema of the connection's `search_path`.

use repo_core::{Backend, Db, Error, Result};
use sqlx::migrate::Migrator;

/// The PostgreSQL migrations.
pub static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");

/// The SQLite migrations.
pub static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");

/// The MySQL/MariaDB migrations.
pub static MYSQL: Migrator = sqlx::migrate!("./migrations/mysql");

/// The migrations of each backend this crate has them for.
static MIGRATORS: [(Backend, &Migrator); 3] = [
    (Backend::Postgres, &POSTGRES),
    (Backend::Sqlite, &SQLITE),
    (Backend::MySql, &MYSQL),
];

/// The migrations for `backend`, if this crate has them.
#[must_use]
pub fn migrator(backend: Backend) -> Option<&'static Migrator> {
    MIGRATORS
        .iter()
        .find(|(b, _)| *b == backend)
        .map(|(_, migrator)| *migrator)
}

/// Bring `db`'s schema up to date: apply every migration of its backend not applied yet.
/// Running it again changes nothing.
///
/// Through a transaction pooler ([`Db::through_transaction_pooler`]) every migration runs in one
/// transaction on one server connection, serialized by a transaction-level advisory lock
/// (sqlx's own lock is a session lock, which a pooler would leave held on a server connection
/// it hands to others).
pub async fn migrate(db: &Db) -> Result<()> {
    let result = if let Some(pool) = db.postgres_pool() {
        if let Some(preamble) = db.transaction_preamble() {
            migrate_through_pooler(pool, preamble).await
        } else {
            POSTGRES.run(pool).await
        }
    } else if let Some(pool) = db.sqlite_pool() {
        SQLITE.run(pool).await
    } else if let Some(pool) = db.mysql_pool() {
        MYSQL.run(pool).await
    } else {
        return Err(Error::validation(
            "db",
            "the domain migrations exist for PostgreSQL, SQLite and MySQL/MariaDB only",
        ));
    };
    result.map_err(|e| match e {
        sqlx::migrate::MigrateError::Execute(e) => Error::Database(e),
        other => Error::Database(sqlx::Error::Migrate(Box::new(other))),
    })
}

/// [`POSTGRES`] applied in one transaction, through a transaction pooler.
async fn migrate_through_pooler(
    pool: &sqlx::PgPool,
    preamble: &str,
) -> std::result::Result<(), sqlx::migrate::MigrateError> {
    /// The advisory lock's key: any constant the migrations of this crate alone take.
    const LOCK: i64 = 0x7265_706f_646f_6d61;
    let mut migrator = sqlx::migrate!("./migrations/postgres");
    migrator.set_locking(false);
    let mut tx = pool.begin().await?;
    // The server connection is this transaction's alone until it ends: it starts as the
    // framework's own do (prepared statements another client left dropped, the settings
    // made), and those sqlx prepares here go before the end.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "{preamble}; SELECT pg_advisory_xact_lock({LOCK})"
    )))
    .execute(&mut *tx)
    .await?;
    migrator.run(&mut *tx).await?;
    sqlx::raw_sql("DEALLOCATE ALL").execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(())
}
