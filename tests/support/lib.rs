//! Shared test support: real databases for every test, and the entities the tests declare.
//!
//! PostgreSQL tests use `REPO_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`;
//! each test gets a schema of its own, so tests run in parallel without sharing tables. SQLite
//! tests each get a fresh database file in the system temp directory.

pub mod entities;

use repo_core::Db;

/// The PostgreSQL server the tests use unless `REPO_TEST_POSTGRES_URL` names another.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The PostgreSQL URL under test.
#[must_use]
pub fn postgres_url() -> String {
    std::env::var("REPO_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

fn unreachable(url: &str, error: &dyn std::fmt::Display) -> ! {
    panic!(
        "PostgreSQL is not reachable at {url}: {error}\n\
         Start the local server with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` \
         (and `createdb -U postgres test` if the database is missing), \
         or point REPO_TEST_POSTGRES_URL at another server."
    )
}

/// A pool on a fresh PostgreSQL schema named after `test`.
pub async fn postgres(test: &str) -> Db {
    let url = postgres_url();
    let admin = Db::connect(&url)
        .await
        .unwrap_or_else(|e| unreachable(&url, &e));
    let pool = admin.postgres_pool().expect("a PostgreSQL URL");
    let schema = format!("t_{test}");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE; CREATE SCHEMA \"{schema}\""
    )))
    .execute(pool)
    .await
    .unwrap_or_else(|e| unreachable(&url, &e));
    admin.close().await;
    let separator = if url.contains('?') { '&' } else { '?' };
    let scoped = format!("{url}{separator}options=-c%20search_path%3D{schema}");
    Db::connect(&scoped)
        .await
        .unwrap_or_else(|e| unreachable(&url, &e))
}

/// A pool on a fresh SQLite database file named after `test`.
pub async fn sqlite(test: &str) -> Db {
    let path = std::env::temp_dir().join(format!("repo-test-{}-{test}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Db::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("open a SQLite file")
}

/// Run each listed `async fn(Db)` once on SQLite and once on PostgreSQL, as the tests
/// `sqlite::<name>` and `postgres::<name>`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::sqlite(stringify!($name)).await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::postgres(stringify!($name)).await).await;
                }
            )*
        }
    };
}
