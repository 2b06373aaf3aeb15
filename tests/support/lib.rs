//! Shared test support: real databases for every test, and the entities the tests declare.
//!
//! PostgreSQL tests use `REPO_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`;
//! each test gets a schema of its own, so tests run in parallel without sharing tables. SQLite
//! tests each get a fresh database file in the system temp directory. MariaDB tests use
//! `REPO_TEST_MYSQL_URL`, default `mysql://root@127.0.0.1:3306/test`; each test gets a database
//! of its own on that server, named after the URL's database and the test.

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
    postgres_with(test, repo_core::DbOptions::default()).await
}

/// [`postgres`] with pool options.
pub async fn postgres_with(test: &str, options: repo_core::DbOptions) -> Db {
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
    Db::connect_with(&scoped, options)
        .await
        .unwrap_or_else(|e| unreachable(&url, &e))
}

/// A pool on a fresh SQLite database file named after `test`.
pub async fn sqlite(test: &str) -> Db {
    sqlite_with(test, repo_core::DbOptions::default()).await
}

/// [`sqlite`] with pool options.
pub async fn sqlite_with(test: &str, options: repo_core::DbOptions) -> Db {
    let path = std::env::temp_dir().join(format!("repo-test-{}-{test}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Db::connect_with(&format!("sqlite://{}", path.display()), options)
        .await
        .expect("open a SQLite file")
}

/// The MariaDB server the tests use unless `REPO_TEST_MYSQL_URL` names another.
pub const DEFAULT_MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/test";

/// The MySQL/MariaDB URL under test.
#[must_use]
pub fn mysql_url() -> String {
    std::env::var("REPO_TEST_MYSQL_URL").unwrap_or_else(|_| DEFAULT_MYSQL_URL.to_owned())
}

fn mysql_unreachable(url: &str, error: &dyn std::fmt::Display) -> ! {
    panic!(
        "MariaDB is not reachable at {url}: {error}\n\
         Start the local server with `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd` \
         (as root; `mysql -uroot -e 'CREATE DATABASE test'` if the database is missing), \
         or point REPO_TEST_MYSQL_URL at another server (MariaDB 10.6 or later)."
    )
}

/// A pool on a fresh MariaDB database named after `test`.
pub async fn mysql(test: &str) -> Db {
    mysql_with(test, repo_core::DbOptions::default()).await
}

/// [`mysql`] with pool options.
pub async fn mysql_with(test: &str, options: repo_core::DbOptions) -> Db {
    let url = mysql_url();
    let admin = Db::connect(&url)
        .await
        .unwrap_or_else(|e| mysql_unreachable(&url, &e));
    let pool = admin.mysql_pool().expect("a MySQL URL");
    // Named after the URL's database, so runs against different URLs never share one; at
    // most 64 characters.
    let base = url
        .split('?')
        .next()
        .and_then(|u| u.rsplit('/').next())
        .unwrap_or("t");
    let database: String = format!("{base}_{test}").chars().take(64).collect();
    // Tables a test creates by hand compare text as the generated schema's do: byte by byte,
    // trailing spaces included (NO PAD).
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS `{database}`; \
         CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_nopad_bin"
    )))
    .execute(pool)
    .await
    .unwrap_or_else(|e| mysql_unreachable(&url, &e));
    admin.close().await;
    let (base, query) = url
        .split_once('?')
        .map_or((url.as_str(), None), |(b, q)| (b, Some(q)));
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    let scoped = match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    };
    Db::connect_with(&scoped, options)
        .await
        .unwrap_or_else(|e| mysql_unreachable(&url, &e))
}

/// Run each listed `async fn(Db)` once on SQLite, PostgreSQL and MariaDB, as the tests
/// `sqlite::<name>`, `postgres::<name>` and `mysql::<name>`.
#[macro_export]
macro_rules! on_every_backend {
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
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::mysql(stringify!($name)).await).await;
                }
            )*
        }
    };
}

/// Rows one bulk statement of `E` writes on `backend`, as the README says: on PostgreSQL
/// 10,000 (one array a column), elsewhere the bind limit over the inserted column count.
#[must_use]
pub fn rows_per_bulk_statement<E: repo_core::Entity>(backend: repo_core::Backend) -> usize {
    if backend == repo_core::Backend::Postgres {
        return 10_000;
    }
    let width = E::COLUMNS
        .iter()
        .filter(|c| !(c.auto && c.role == repo_core::ColumnRole::PrimaryKey))
        .count();
    backend.max_bind_parameters() / width
}

/// Run SQL text (one or more statements) on `db`'s pool, whichever backend it is: for tests
/// that set up or change data behind the repositories' back.
pub async fn raw_sql(db: &Db, sql: &str) -> Result<(), sqlx::Error> {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    if let Some(pool) = db.postgres_pool() {
        sqlx::raw_sql(sql).execute(pool).await.map(drop)
    } else if let Some(pool) = db.mysql_pool() {
        sqlx::raw_sql(sql).execute(pool).await.map(drop)
    } else {
        let pool = db
            .sqlite_pool()
            .expect("a PostgreSQL, MySQL or SQLite pool");
        sqlx::raw_sql(sql).execute(pool).await.map(drop)
    }
}

/// The one integer `sql` selects (a count, a maximum), read with plain sqlx on `db`'s pool.
pub async fn scalar(db: &Db, sql: &str) -> i64 {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    let read = if let Some(pool) = db.postgres_pool() {
        sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await
    } else if let Some(pool) = db.mysql_pool() {
        sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await
    } else {
        let pool = db
            .sqlite_pool()
            .expect("a PostgreSQL, MySQL or SQLite pool");
        sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await
    };
    read.expect("one integer")
}

/// A keyset cursor taken apart, to forge hostile ones from: its JSON body (`{"k": …, "v":
/// [values]}`), the body as the cursor encodes it, and the signature.
pub struct CursorParts {
    /// The decoded body.
    pub json: serde_json::Value,
    /// The body as it stands in the cursor (base64url).
    pub body: String,
    /// The signature after the `.`.
    pub tag: String,
}

impl CursorParts {
    /// Take `cursor` apart.
    #[must_use]
    pub fn of(cursor: &repo_core::Cursor) -> Self {
        use base64::Engine as _;
        let (body, tag) = cursor.as_str().split_once('.').expect("body.tag");
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(body)
            .expect("base64url body");
        Self {
            json: serde_json::from_slice(&decoded).expect("a JSON body"),
            body: body.to_owned(),
            tag: tag.to_owned(),
        }
    }

    /// Cursor text holding `json` under the original signature: an edited cursor.
    #[must_use]
    pub fn with_body(&self, json: &serde_json::Value) -> String {
        use base64::Engine as _;
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json.to_string());
        format!("{body}.{}", self.tag)
    }
}
