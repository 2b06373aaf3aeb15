//! Pool settings a user sets and can see: per-statement timeouts, SQL run on every new
//! connection, SQLite's `synchronous`.

use std::time::Duration;

use repo_core::prelude::*;
use repo_core::{Backend, Statement, Synchronous};

repo_tests::on_every_backend!(settings_apply_to_every_connection);

mod statement_timeout_is_a_typed_error {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let db = repo_tests::postgres("statement_timeout_is_a_typed_error").await;
        super::statement_timeout_is_a_typed_error(db, "SELECT pg_sleep(5)").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mysql() {
        let db = repo_tests::mysql("statement_timeout_is_a_typed_error").await;
        super::statement_timeout_is_a_typed_error(db, "SELECT SLEEP(5)").await;
    }
}

/// The same database through a pool with `options`.
async fn reopen(db: &Db, url: &str, options: DbOptions) -> Db {
    let _ = db;
    Db::connect_with(url, options).await.unwrap()
}

fn url_of(db: &Db, test: &str) -> String {
    match db.backend() {
        Backend::Postgres => {
            let url = repo_tests::postgres_url();
            let separator = if url.contains('?') { '&' } else { '?' };
            format!("{url}{separator}options=-c%20search_path%3Dt_{test}")
        }
        Backend::MySql => {
            let url = repo_tests::mysql_url();
            let (server, base) = url.rsplit_once('/').unwrap();
            format!("{server}/{base}_{test}")
        }
        _ => format!(
            "sqlite://{}",
            std::env::temp_dir()
                .join(format!("repo-test-{}-{test}.db", std::process::id()))
                .display()
        ),
    }
}

async fn statement_timeout_is_a_typed_error(db: Db, slow: &str) {
    let url = url_of(&db, "statement_timeout_is_a_typed_error");
    let limited = reopen(
        &db,
        &url,
        DbOptions::new().statement_timeout(Duration::from_millis(200)),
    )
    .await;
    let started = std::time::Instant::now();
    let result = repo_core::Conn::Db(&limited)
        .fetch_all(Statement::new(slow.to_owned(), vec![]))
        .await;
    assert!(
        matches!(result, Err(Error::Timeout { .. })),
        "a typed timeout: {result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "cancelled early"
    );
    assert!(!result.unwrap_err().is_retryable());
    // The connection stays usable.
    let one = repo_core::Conn::Db(&limited)
        .fetch_all(Statement::new("SELECT 1", vec![]))
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
}

async fn settings_apply_to_every_connection(db: Db) {
    let test = "settings_apply_to_every_connection";
    let url = url_of(&db, test);
    let (set, read, expected) = match db.backend() {
        Backend::Postgres => (
            "SET application_name = 'repo-settings'",
            "SELECT current_setting('application_name')",
            "repo-settings",
        ),
        Backend::MySql => (
            "SET @repo_marker = 'repo-settings'",
            "SELECT CAST(@repo_marker AS CHAR)",
            "repo-settings",
        ),
        _ => (
            "PRAGMA cache_size = -4321",
            "SELECT CAST(cache_size AS TEXT) FROM pragma_cache_size",
            "-4321",
        ),
    };
    let options = DbOptions::new()
        .max_connections(3)
        .on_connect(set)
        .sqlite_synchronous(Synchronous::Normal);
    let configured = reopen(&db, &url, options).await;
    // Several connections at once: each was set up.
    let mut reads = Vec::new();
    for _ in 0..3 {
        let db = configured.clone();
        reads.push(tokio::spawn(async move {
            let session = db.begin().await.unwrap();
            let rows = repo_core::Conn::Session(&session)
                .fetch_all(Statement::new(read, vec![]))
                .await
                .unwrap();
            let value: String = rows[0].try_get(0).unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            session.rollback().await.unwrap();
            value
        }));
    }
    for read in reads {
        assert_eq!(read.await.unwrap(), expected);
    }
    if db.backend() == Backend::Sqlite {
        let rows = repo_core::Conn::Db(&configured)
            .fetch_all(Statement::new(
                "SELECT synchronous FROM pragma_synchronous",
                vec![],
            ))
            .await
            .unwrap();
        assert_eq!(rows[0].try_get::<i64>(0).unwrap(), 1, "NORMAL");
    }
    // A setting that fails is an error at connect, not a silently different session.
    let broken = DbOptions::new()
        .on_connect("SELECT no_such_column")
        .acquire_timeout(Duration::from_secs(1));
    let broken = Db::connect_with(&url, broken).await;
    let failed = match broken {
        Err(_) => true,
        Ok(db) => repo_core::Conn::Db(&db)
            .fetch_all(Statement::new("SELECT 1", vec![]))
            .await
            .is_err(),
    };
    assert!(failed);
}
