//! Calls cut off mid-flight (a `tokio::time::timeout` dropping their future) at points from
//! 1 µs to 1 s, on every backend: a session whose statement was cut off returns
//! `Error::SessionAborted` from `commit()` promptly and writes nothing; on the pool, the
//! connection of a cut-off statement is never handed out again, so every later call answers.

use std::time::Duration;

use repo_core::prelude::*;
use repo_core::{DbOptions, Error};
use repo_tests::entities::*;

/// An audited row: its write and its log entries stand or fall together.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "ledger", audit)]
pub struct Ledger {
    #[repo(primary_key)]
    pub id: String,
    pub cents: i64,
}

/// Longer than any call here takes: a call still waiting after it hangs.
const PROMPT: Duration = Duration::from_secs(10);

/// Where calls are cut off: before anything is sent, while statements are on the wire, after
/// they ended.
const CUT_OFF_AFTER_MICROS: [u64; 14] = [
    1, 5, 20, 50, 100, 250, 500, 1_000, 2_000, 5_000, 10_000, 50_000, 200_000, 1_000_000,
];

macro_rules! with_options {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = repo_tests::sqlite_with(stringify!($name), super::options()).await;
                    super::$name(db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = repo_tests::postgres_with(stringify!($name), super::options()).await;
                    super::$name(db).await;
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = repo_tests::mysql_with(stringify!($name), super::options()).await;
                    super::$name(db).await;
                }
            )*
        }
    };
}

with_options!(
    a_session_whose_statement_was_cut_off_commits_nothing,
    a_session_whose_audited_write_was_cut_off_commits_nothing,
    calls_cut_off_on_the_pool_never_leave_a_connection_behind,
    sixteen_tasks_cutting_calls_off_leave_the_pool_whole,
);

/// Two connections and a short acquire timeout: one connection lost to a hung return, and
/// the calls after it fail instead of waiting.
fn options() -> DbOptions {
    DbOptions::new()
        .max_connections(2)
        .acquire_timeout(Duration::from_secs(5))
}

fn account(id: &str, balance: i64) -> Account {
    Account {
        id: id.to_owned(),
        email: format!("{id}@example.com"),
        name: format!("name of {id}"),
        balance,
    }
}

fn batch(run: u64) -> Vec<Account> {
    (0..2_000)
        .map(|i| account(&format!("r{run}-{i:05}"), i))
        .collect()
}

/// The accounts stored, counted with plain SQL, after a read through the framework's pool
/// answered (a connection left hanging would keep it waiting). Not compared: on SQLite a
/// statement cut off on the pool still finishes in its connection's thread meanwhile.
async fn stored(db: &Db) -> u64 {
    tokio::time::timeout(PROMPT, AccountRepository::new(db).count(Filter::all()))
        .await
        .expect("a read after a cut-off call answers")
        .unwrap();
    plain_count(db, "SELECT COUNT(*) FROM accounts").await
}

async fn plain_count(db: &Db, sql: &str) -> u64 {
    let counted = tokio::time::timeout(PROMPT, repo_tests::scalar(db, sql))
        .await
        .expect("plain SQL answers");
    u64::try_from(counted).unwrap()
}

async fn a_session_whose_statement_was_cut_off_commits_nothing(db: Db) {
    db.create_schema::<Account>().await.unwrap();
    let (mut committed, mut aborted) = (0, 0);
    for (run, micros) in CUT_OFF_AFTER_MICROS.into_iter().enumerate() {
        let run = run as u64;
        let session = db.begin().await.unwrap();
        let repo = AccountRepository::new(&session);
        repo.insert(&account(&format!("first-{run}"), 1))
            .await
            .unwrap();
        let rows = batch(run);
        let cut_off = tokio::time::timeout(Duration::from_micros(micros), repo.bulk_insert(&rows))
            .await
            .is_err();
        let before = stored(&db).await;
        let outcome = tokio::time::timeout(PROMPT, session.commit())
            .await
            .unwrap_or_else(|_| panic!("{micros} µs: commit() never returned"));
        let added = stored(&db).await - before;
        match outcome {
            Ok(()) => {
                committed += 1;
                // Cut off before anything was sent: the bulk write never started.
                let expected = if cut_off { 1 } else { 1 + rows.len() as u64 };
                assert_eq!(added, expected, "{micros} µs: committed rows");
            }
            Err(Error::SessionAborted { cause, .. }) => {
                aborted += 1;
                assert!(cut_off, "{micros} µs: aborted without a cut-off: {cause}");
                assert_eq!(added, 0, "{micros} µs: an aborted session wrote rows");
            }
            Err(other) => panic!("{micros} µs: {other}"),
        }
    }
    // The last runs finish their write; some early one is cut off on the wire.
    assert!(committed >= 1, "{committed} committed");
    assert!(
        aborted >= 1,
        "{aborted} aborted: no run was cut off mid-statement"
    );
}

async fn a_session_whose_audited_write_was_cut_off_commits_nothing(db: Db) {
    db.create_schema::<Ledger>().await.unwrap();
    let (mut committed, mut aborted) = (0, 0);
    for (run, micros) in CUT_OFF_AFTER_MICROS.into_iter().enumerate() {
        let session = db.begin_as("clerk").await.unwrap();
        let repo = LedgerRepository::new(&session);
        let rows: Vec<Ledger> = (0..1_000)
            .map(|i| Ledger {
                id: format!("r{run}-{i:05}"),
                cents: i,
            })
            .collect();
        let _ = tokio::time::timeout(Duration::from_micros(micros), repo.bulk_upsert(&rows)).await;
        match tokio::time::timeout(PROMPT, session.commit())
            .await
            .unwrap_or_else(|_| panic!("{micros} µs: commit() never returned"))
        {
            Ok(()) => committed += 1,
            Err(Error::SessionAborted { .. }) => aborted += 1,
            Err(other) => panic!("{micros} µs: {other}"),
        }
        let read = tokio::time::timeout(PROMPT, LedgerRepository::new(&db).count(Filter::all()))
            .await
            .expect("a read after a cut-off call answers")
            .unwrap();
        let rows = plain_count(&db, "SELECT COUNT(*) FROM ledger").await;
        assert_eq!(read, rows, "the framework and plain SQL count alike");
        let entries = plain_count(&db, "SELECT COUNT(*) FROM repo_audit").await;
        assert_eq!(
            entries, rows,
            "{micros} µs: every row with its entry, no other"
        );
    }
    assert!(committed >= 1, "{committed} committed");
    assert!(aborted >= 1, "{aborted} aborted");
}

async fn calls_cut_off_on_the_pool_never_leave_a_connection_behind(db: Db) {
    db.create_schema::<Account>().await.unwrap();
    let repo = AccountRepository::new(&db);
    let mut reported = 0u64;
    let mut cut_off = 0u64;
    for round in 0..6u64 {
        for (i, micros) in CUT_OFF_AFTER_MICROS.into_iter().enumerate() {
            let run = round * 100 + i as u64;
            let limit = Duration::from_micros(micros / (round + 1) + 1);
            // A single-row write, a bulk write and a read, each cut off somewhere.
            match tokio::time::timeout(limit, repo.insert(&account(&format!("one-{run}"), 1))).await
            {
                Ok(done) => {
                    done.unwrap();
                    reported += 1;
                }
                Err(_) => cut_off += 1,
            }
            let rows = batch(run);
            match tokio::time::timeout(limit, repo.bulk_insert(&rows)).await {
                Ok(done) => {
                    done.unwrap();
                    reported += rows.len() as u64;
                }
                Err(_) => cut_off += 1,
            }
            let _ = tokio::time::timeout(limit, repo.find_all(Filter::all())).await;
            // Every call after answers, on either connection of the two.
            for _ in 0..3 {
                stored(&db).await;
            }
        }
    }
    assert!(cut_off > 0, "no call was cut off");
    let total = stored(&db).await;
    // A write cut off may have landed whole, never in part.
    assert!(
        total >= reported,
        "{total} rows stored, {reported} reported"
    );
    let partial = AccountRepository::new(&db)
        .find_all(Filter::all())
        .await
        .unwrap()
        .iter()
        .filter(|a| a.id.starts_with('r'))
        .fold(
            std::collections::BTreeMap::<String, u64>::new(),
            |mut runs, a| {
                *runs
                    .entry(a.id[..a.id.find('-').unwrap()].to_owned())
                    .or_default() += 1;
                runs
            },
        )
        .into_iter()
        .filter(|(_, n)| *n != 2_000)
        .collect::<Vec<_>>();
    assert!(
        partial.is_empty(),
        "bulk writes stored in part: {partial:?}"
    );
}

async fn sixteen_tasks_cutting_calls_off_leave_the_pool_whole(db: Db) {
    db.create_schema::<Account>().await.unwrap();
    // Sixteen tasks on two connections, each cutting its own calls off at every point: in
    // the queue for a connection, on the wire, after the end.
    let mut tasks = Vec::new();
    for task in 0..16u64 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let repo = AccountRepository::new(&db);
            let (mut reported, mut cut_off) = (0u64, 0u64);
            for (i, micros) in CUT_OFF_AFTER_MICROS.into_iter().enumerate() {
                let run = 10_000 + task * 100 + i as u64;
                let limit = Duration::from_micros(micros * (task % 4 + 1));
                let rows: Vec<Account> = batch(run).into_iter().take(200).collect();
                match tokio::time::timeout(limit, repo.bulk_insert(&rows)).await {
                    Ok(done) => {
                        done.unwrap();
                        reported += rows.len() as u64;
                    }
                    Err(_) => cut_off += 1,
                }
                let _ = tokio::time::timeout(limit, repo.count(Filter::all())).await;
            }
            (reported, cut_off)
        }));
    }
    let (mut reported, mut cut_off) = (0, 0);
    for task in tasks {
        let (r, c) = task.await.unwrap();
        reported += r;
        cut_off += c;
    }
    assert!(cut_off > 0, "no call was cut off");
    // Every later call answers; each bulk write stood whole or not at all.
    let total = stored(&db).await;
    assert!(
        total >= reported,
        "{total} rows stored, {reported} reported"
    );
    assert_eq!(total % 200, 0, "a bulk write stood in part: {total} rows");
    let runs = plain_count(
        &db,
        "SELECT COUNT(*) FROM (SELECT substr(id, 1, 6) AS run FROM accounts GROUP BY 1 \
         HAVING COUNT(*) <> 200) AS partial",
    )
    .await;
    assert_eq!(runs, 0, "bulk writes stored in part");
}
