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
pub async fn migrate(db: &Db) -> Result<()> {
    let result = if let Some(pool) = db.postgres_pool() {
        POSTGRES.run(pool).await
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
