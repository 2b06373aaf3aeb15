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
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS `{database}`; \
         CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
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

/// A keyset cursor's sealed bytes (its text, base64url-decoded), to make the hostile cursors a
/// client could send from: none of them was issued by the framework.
pub struct CursorBytes(pub Vec<u8>);

impl CursorBytes {
    /// The bytes of `cursor`.
    #[must_use]
    pub fn of(cursor: &repo_core::Cursor) -> Self {
        use base64::Engine as _;
        Self(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(cursor.as_str())
                .expect("a cursor is base64url"),
        )
    }

    fn text(bytes: &[u8]) -> String {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Every edit of the cursor a client could make without the key: each byte with one bit
    /// flipped (nonce, body and tag alike), the cursor cut short at several lengths, and
    /// lengthened by a byte.
    #[must_use]
    pub fn tampered(&self) -> Vec<String> {
        let bytes = &self.0;
        let mut out: Vec<String> = (0..bytes.len())
            .map(|at| {
                let mut edited = bytes.clone();
                edited[at] ^= 0x01;
                Self::text(&edited)
            })
            .collect();
        for len in [1, 24, 40, bytes.len() - 16, bytes.len() - 1] {
            out.push(Self::text(&bytes[..len.min(bytes.len() - 1)]));
        }
        let mut longer = bytes.clone();
        longer.push(0);
        out.push(Self::text(&longer));
        out
    }
}

/// Whether `cursor` shows `needle` to whoever holds it: in its text, in its text decoded from
/// base64url, or base64-encoded (URL-safe or standard) at any byte alignment inside its text,
/// as a readable body carried in the cursor would be.
#[must_use]
pub fn cursor_shows(cursor: &repo_core::Cursor, needle: &str) -> bool {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let text = cursor.as_str();
    if text.contains(needle) {
        return true;
    }
    if let Ok(bytes) = URL_SAFE_NO_PAD.decode(text)
        && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
    {
        return true;
    }
    // The characters of needle's base64 that depend on needle's bytes alone, at each of the
    // three alignments it can have inside a longer encoding.
    (0..3).any(|shift| {
        let padded = format!("{}{needle}", "\0".repeat(shift));
        [
            URL_SAFE_NO_PAD.encode(&padded),
            STANDARD_NO_PAD.encode(&padded),
        ]
        .iter()
        .any(|encoded| {
            let from = (shift * 4).div_ceil(3);
            let core = &encoded[from..encoded.len() - 1];
            core.len() >= 4 && text.contains(core)
        })
    })
}
