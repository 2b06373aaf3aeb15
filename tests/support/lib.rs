//! Shared test support: real databases for every test, and the entities the tests declare.
//!
//! PostgreSQL tests use `REPO_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`;
//! each test gets a schema of its own, so tests run in parallel without sharing tables. SQLite
//! tests each get a fresh database file in the system temp directory. MariaDB tests use
//! `REPO_TEST_MYSQL_URL`, default `mysql://root@127.0.0.1:3306/test`; each test gets a database
//! of its own on that server, named after the URL's database and the test.

pub mod entities;
pub mod relay;
pub mod spans;

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
    let scoped = postgres_fresh_url(test).await;
    Db::connect_with(&scoped, options)
        .await
        .unwrap_or_else(|e| unreachable(&postgres_url(), &e))
}

/// The URL of a fresh PostgreSQL schema named after `test` (on the search path).
pub async fn postgres_fresh_url(test: &str) -> String {
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
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

/// The `PgBouncer` (transaction pooling, in front of the PostgreSQL under test) the pooler tests
/// use unless `REPO_TEST_PGBOUNCER_URL` names another; `.ci/pgbouncer.sh start` starts it.
pub const DEFAULT_PGBOUNCER_URL: &str = "postgres://postgres@127.0.0.1:6432/test";

/// A URL through `PgBouncer` (without the pooler mode: the caller adds it) whose connections
/// see a fresh PostgreSQL schema named after `test` (made on the server directly); fails,
/// saying how to start it, when `PgBouncer` does not answer.
pub async fn pgbouncer_fresh_url(test: &str) -> String {
    let url =
        std::env::var("REPO_TEST_PGBOUNCER_URL").unwrap_or_else(|_| DEFAULT_PGBOUNCER_URL.into());
    let address = url
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("127.0.0.1:6432")
        .to_owned();
    if let Err(error) = tokio::net::TcpStream::connect(&address).await {
        panic!(
            "PgBouncer is not reachable at {address}: {error}\n\
             Start it with `bash .ci/pgbouncer.sh start` (transaction pooling on 127.0.0.1:6432 \
             in front of 127.0.0.1:5432), or point REPO_TEST_PGBOUNCER_URL at another."
        );
    }
    postgres_fresh_url(test).await;
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3Dt_{test}")
}

/// A pool on a fresh SQLite database file named after `test`.
pub async fn sqlite(test: &str) -> Db {
    sqlite_with(test, repo_core::DbOptions::default()).await
}

/// [`sqlite`] with pool options.
pub async fn sqlite_with(test: &str, options: repo_core::DbOptions) -> Db {
    Db::connect_with(&sqlite_fresh_url(test), options)
        .await
        .expect("open a SQLite file")
}

/// The URL of a fresh SQLite database file named after `test`.
#[must_use]
pub fn sqlite_fresh_url(test: &str) -> String {
    let path = std::env::temp_dir().join(format!("repo-test-{}-{test}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    format!("sqlite://{}", path.display())
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
    let scoped = mysql_fresh_url(test).await;
    Db::connect_with(&scoped, options)
        .await
        .unwrap_or_else(|e| mysql_unreachable(&mysql_url(), &e))
}

/// The URL of a fresh MariaDB database named after `test`.
pub async fn mysql_fresh_url(test: &str) -> String {
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
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

/// The URL of a fresh database named after `test` on `backend`.
pub async fn fresh_url(backend: repo_core::Backend, test: &str) -> String {
    match backend {
        repo_core::Backend::Postgres => postgres_fresh_url(test).await,
        repo_core::Backend::MySql => mysql_fresh_url(test).await,
        _ => sqlite_fresh_url(test),
    }
}

/// The Redis server the tests use unless `REPO_TEST_REDIS_URL` names another.
pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";

/// The Redis URL under test, once it answered a `PING`.
pub async fn redis_url() -> String {
    let url = std::env::var("REPO_TEST_REDIS_URL").unwrap_or_else(|_| DEFAULT_REDIS_URL.to_owned());
    let address = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap_or("127.0.0.1:6379")
        .to_owned();
    if let Err(error) = ping_redis(&address).await {
        panic!(
            "Redis is not reachable at {url}: {error}\n\
             Start the local server with `redis-server --daemonize yes --bind 127.0.0.1 --port 6379 \
             --save \"\" --appendonly no` (`apt-get install redis-server` if it is missing), \
             or point REPO_TEST_REDIS_URL at another server."
        );
    }
    url
}

/// Send `PING` to the Redis at `address` (`host:port`) and read `+PONG`.
pub async fn ping_redis(address: &str) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        tokio::net::TcpStream::connect(address),
    )
    .await
    .map_err(|_| std::io::Error::other("connect timed out"))??;
    stream.write_all(b"PING\r\n").await?;
    let mut answer = [0u8; 7];
    tokio::time::timeout(
        std::time::Duration::from_secs(2),
        stream.read_exact(&mut answer),
    )
    .await
    .map_err(|_| std::io::Error::other("no answer"))??;
    if &answer == b"+PONG\r\n" {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "answered {:?}",
            String::from_utf8_lossy(&answer)
        )))
    }
}

/// A namespace of this test process's own, for the Redis keys of its caches: runs of the same
/// tests in other processes share the server but not the entries.
#[must_use]
pub fn cache_namespace() -> String {
    format!("test-{}", std::process::id())
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

/// Run SQL text (one or more statements) on `db`'s pool, whichever backend it is: for tests
/// that set up or change data behind the repositories' back.
pub async fn raw_sql(db: &Db, sql: &str) -> Result<(), sqlx::Error> {
    if let Some(settings) = db.transaction_preamble() {
        // Through a transaction pooler: in one transaction, with the settings the framework
        // gives its own (the test's search path).
        let sql = sqlx::AssertSqlSafe(format!("BEGIN; {settings}; {sql}; COMMIT"));
        let pool = db.postgres_pool().expect("a pooler is for PostgreSQL");
        return sqlx::raw_sql(sql).execute(pool).await.map(drop);
    }
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

/// The rows `sql` selects on `db`'s PostgreSQL pool, read with plain sqlx: through a
/// transaction pooler in a transaction of their own, begun as the framework begins its own.
pub async fn pg_query_as<T>(db: &Db, sql: &str) -> Result<Vec<T>, sqlx::Error>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let pool = db.postgres_pool().expect("a PostgreSQL database");
    let query = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(sql.to_owned()));
    let Some(preamble) = db.transaction_preamble() else {
        return query.fetch_all(pool).await;
    };
    let mut tx = pool.begin().await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(preamble.to_owned()))
        .execute(&mut *tx)
        .await?;
    let rows = query.fetch_all(&mut *tx).await;
    if rows.is_ok() {
        sqlx::raw_sql("DEALLOCATE ALL").execute(&mut *tx).await?;
        tx.commit().await?;
    }
    rows
}

/// The one integer `sql` selects (a count, a maximum), read with plain sqlx on `db`'s pool.
pub async fn scalar(db: &Db, sql: &str) -> i64 {
    if let Some(settings) = db.transaction_preamble() {
        let pool = db.postgres_pool().expect("a pooler is for PostgreSQL");
        let mut tx = pool.begin().await.expect("a transaction");
        sqlx::raw_sql(sqlx::AssertSqlSafe(settings.to_owned()))
            .execute(&mut *tx)
            .await
            .expect("the framework's settings");
        let read = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_one(&mut *tx)
            .await
            .expect("one integer");
        sqlx::raw_sql("DEALLOCATE ALL")
            .execute(&mut *tx)
            .await
            .expect("statements dropped");
        tx.commit().await.expect("committed");
        return read;
    }
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

/// The statements the database drivers run, as sqlx reports each one (its `sqlx::query`
/// events): to count the statements a call sends and the rows each one wrote, on every
/// backend, from outside the framework.
pub mod sent {
    use std::sync::{Mutex, Once};

    use tracing::field::{Field, Visit};
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;

    /// One statement a driver ran.
    #[derive(Debug, Clone, Default)]
    pub struct Statement {
        /// Its text (sqlx's summary and, for a longer statement, the whole text).
        pub sql: String,
        /// The rows it changed, as the database reported them.
        pub rows_affected: u64,
        /// The rows it returned.
        pub rows_returned: u64,
    }

    static LOG: Mutex<Vec<Statement>> = Mutex::new(Vec::new());
    static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    static INSTALL: Once = Once::new();

    struct Fields<'a>(&'a mut Statement);

    impl Visit for Fields<'_> {
        fn record_str(&mut self, field: &Field, value: &str) {
            if matches!(field.name(), "summary" | "db.statement") {
                self.0.sql.push_str(value);
                self.0.sql.push(' ');
            }
        }
        fn record_u64(&mut self, field: &Field, value: u64) {
            match field.name() {
                "rows_affected" => self.0.rows_affected = value,
                "rows_returned" => self.0.rows_returned = value,
                _ => {}
            }
        }
        fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
    }

    struct Capture;

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            let mut statement = Statement::default();
            event.record(&mut Fields(&mut statement));
            LOG.lock().unwrap().push(statement);
        }
    }

    /// Statements are recorded while this lives; one recording at a time per test binary (the
    /// drivers report on the process's subscriber, from any thread).
    pub struct Recording {
        _turn: tokio::sync::MutexGuard<'static, ()>,
    }

    /// Start recording: from now on, every statement any driver runs in this process.
    pub async fn record() -> Recording {
        INSTALL.call_once(|| {
            let only_statements = tracing_subscriber::filter::filter_fn(|metadata| {
                metadata.target() == "sqlx::query"
            });
            let subscriber =
                tracing_subscriber::registry().with(Capture.with_filter(only_statements));
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber in a test binary that records statements");
        });
        let turn = ONE_AT_A_TIME.lock().await;
        LOG.lock().unwrap().clear();
        Recording { _turn: turn }
    }

    impl Recording {
        /// Forget the statements run so far.
        pub fn clear(&self) {
            LOG.lock().unwrap().clear();
        }

        /// The statements run since recording started (or since the last call), in order.
        #[must_use]
        pub fn take(&self) -> Vec<Statement> {
            std::mem::take(&mut *LOG.lock().unwrap())
        }
    }
}

/// The PostgreSQL streaming replica of the server under test, unless
/// `REPO_TEST_PG_REPLICA_URL` names another; `bash .ci/services.sh up pg-replica` starts it.
pub const DEFAULT_PG_REPLICA_URL: &str = "postgres://postgres@127.0.0.1:5433/test";

/// The MariaDB replica of the server under test, unless `REPO_TEST_MYSQL_REPLICA_URL` names
/// another; `bash .ci/services.sh up mariadb-replica` starts it.
pub const DEFAULT_MYSQL_REPLICA_URL: &str = "mysql://root@127.0.0.1:3307/test";

/// The URL of the replica of `backend`'s server under test, for the database (and schema)
/// `fresh_url` names on the primary; fails, saying how to start it, when the replica does not
/// answer.
pub async fn replica_url(backend: repo_core::Backend, fresh_url: &str) -> String {
    let (variable, default, service) = match backend {
        repo_core::Backend::Postgres => (
            "REPO_TEST_PG_REPLICA_URL",
            DEFAULT_PG_REPLICA_URL,
            "pg-replica",
        ),
        _ => (
            "REPO_TEST_MYSQL_REPLICA_URL",
            DEFAULT_MYSQL_REPLICA_URL,
            "mariadb-replica",
        ),
    };
    let replica = std::env::var(variable).unwrap_or_else(|_| default.to_owned());
    let address = replica
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
        .to_owned();
    if let Err(error) = tokio::net::TcpStream::connect(&address).await {
        panic!(
            "The {service} replica is not reachable at {address}: {error}\n\
             Start it with `bash .ci/services.sh up {service}` (as root), or point {variable} \
             at another replica of the server under test."
        );
    }
    let server = replica.split('?').next().unwrap_or_default();
    let server = server.rsplit_once('/').map_or(server, |(server, _)| server);
    // The database (and, on PostgreSQL, the schema option) of the primary's fresh URL.
    let (path, query) = fresh_url
        .rsplit_once('/')
        .map(|(_, rest)| rest)
        .unwrap_or_default()
        .split_once('?')
        .map_or(
            (fresh_url.rsplit('/').next().unwrap_or_default(), ""),
            |(p, q)| (p, q),
        );
    let database = match backend {
        repo_core::Backend::Postgres => replica
            .split('?')
            .next()
            .and_then(|u| u.rsplit('/').next())
            .unwrap_or("test")
            .to_owned(),
        _ => path.to_owned(),
    };
    let options: Vec<&str> = query
        .split('&')
        .filter(|pair| pair.starts_with("options="))
        .collect();
    if backend == repo_core::Backend::MySql {
        replica_caught_up(fresh_url, server).await;
    }
    if options.is_empty() {
        format!("{server}/{database}")
    } else {
        format!("{server}/{database}?{}", options.join("&"))
    }
}

/// Wait until the MariaDB replica at `server` has applied everything the primary of
/// `fresh_url` had logged (the fresh database included): a replica still replaying other
/// tests' DDL would not have it yet.
async fn replica_caught_up(fresh_url: &str, server: &str) {
    let primary = sqlx::MySqlPool::connect(fresh_url)
        .await
        .unwrap_or_else(|e| mysql_unreachable(fresh_url, &e));
    let position: String = sqlx::query_scalar("SELECT CAST(@@gtid_binlog_pos AS CHAR)")
        .fetch_one(&primary)
        .await
        .expect("the primary's binary log position");
    primary.close().await;
    let replica = sqlx::MySqlPool::connect(server)
        .await
        .unwrap_or_else(|e| panic!("the MariaDB replica at {server}: {e}"));
    let waited: i64 = sqlx::query_scalar("SELECT MASTER_GTID_WAIT(?, 120)")
        .bind(&position)
        .fetch_one(&replica)
        .await
        .expect("MASTER_GTID_WAIT");
    replica.close().await;
    assert_eq!(
        waited, 0,
        "the MariaDB replica at {server} did not reach the primary's position {position} in 120 s"
    );
}
