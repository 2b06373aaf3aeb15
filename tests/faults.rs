//! Connections lost under the framework, through a relay that breaks them as a restarted
//! server or a failed network does: reads and units of work that had not sent their `COMMIT`
//! run again on a fresh connection; a write whose connection was lost after it was sent is an
//! `Error::OutcomeUnknown`, never run again; connections a restart left dead are found by a
//! ping before a write is sent on them. On PostgreSQL, MariaDB, and PostgreSQL through
//! `PgBouncer` in the pooler mode (where every call is a transaction, so a write cut before its
//! `COMMIT` runs again too). SQLite has no link to lose. Rows are counted with plain SQL on a
//! connection that does not go through the relay.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use repo_core::prelude::*;
use repo_core::{DbOptions, Error};
use repo_tests::relay::Relay;

/// A row whose key the database draws, so a write run twice would leave two rows.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "notes")]
pub struct Note {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub body: String,
}

fn note(body: &str) -> NewNote {
    NewNote {
        body: body.to_owned(),
    }
}

/// Where the tests run: a pool through the relay, and one straight to the server.
struct Setup {
    relay: Arc<Relay>,
    db: Db,
    direct: Db,
}

#[derive(Debug, Clone, Copy)]
enum Server {
    Postgres,
    MySql,
    /// PostgreSQL through `PgBouncer`, in the pooler mode.
    Pooled,
}

impl Setup {
    async fn new(server: Server, test: &str, options: DbOptions) -> Self {
        let url = match server {
            Server::Postgres => repo_tests::postgres_fresh_url(test).await,
            Server::MySql => repo_tests::mysql_fresh_url(test).await,
            Server::Pooled => {
                format!(
                    "{}&pooler=transaction",
                    repo_tests::pgbouncer_fresh_url(test).await
                )
            }
        };
        let (relay, relayed) = Relay::in_front_of(&url).await;
        let direct = Db::connect(&url).await.expect("the server under test");
        direct.create_schema::<Note>().await.unwrap();
        let db = Db::connect_with(&relayed, options)
            .await
            .expect("the server, through the relay");
        Self {
            relay: Arc::new(relay),
            db,
            direct,
        }
    }

    /// Rows with `body`, counted with plain SQL, not through the relay.
    async fn count(&self, body: &str) -> i64 {
        repo_tests::scalar(
            &self.direct,
            &format!("SELECT COUNT(*) FROM notes WHERE body = '{body}'"),
        )
        .await
    }

    async fn count_all(&self) -> i64 {
        repo_tests::scalar(&self.direct, "SELECT COUNT(*) FROM notes").await
    }

    /// Let the pool's connections settle (sqlx pings each one it takes back, which is a
    /// request the relay would count).
    async fn settle() {
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

macro_rules! on_every_server {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Server::Postgres, concat!("faults_", stringify!($name))).await;
                }
            )*
        }
        mod mysql {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Server::MySql, concat!("faults_", stringify!($name))).await;
                }
            )*
        }
        mod pooled_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Server::Pooled, concat!("faultsp_", stringify!($name))).await;
                }
            )*
        }
    };
}

on_every_server!(
    a_read_whose_connection_is_cut_runs_again,
    a_write_cut_after_it_was_sent_is_never_run_twice,
    a_unit_of_work_cut_before_its_commit_runs_again_whole,
    a_commit_cut_after_it_was_sent_is_outcome_unknown,
    a_bulk_write_cut_midway_runs_again_whole,
    connections_a_restart_killed_are_pinged_before_a_write,
    sixteen_tasks_through_repeated_cuts_lose_nothing_silently,
);

async fn a_read_whose_connection_is_cut_runs_again(server: Server, test: &str) {
    let setup = Setup::new(server, test, DbOptions::new()).await;
    let repo = NoteRepository::new(&setup.db);
    for body in ["a", "b", "c"] {
        repo.insert_new(note(body)).await.unwrap();
    }
    let before = repo.find_all(Filter::all()).await.unwrap();
    Setup::settle().await;
    // Outside a pooler a prepared read is one request; through one, the call's own BEGIN,
    // its statement (prepared each time) and COMMIT are several.
    let cut_at: [u64; 3] = if setup.db.through_transaction_pooler() {
        [1, 2, 3]
    } else {
        [1, 1, 1]
    };
    for requests in cut_at {
        setup.relay.cut_after_request(requests);
        let after = repo.find_all(Filter::all()).await.unwrap();
        assert_eq!(after, before, "cut at request {requests}");
        assert!(!setup.relay.armed(), "request {requests} was never sent");
        Setup::settle().await;
    }
    assert_eq!(setup.relay.cuts(), 3);
}

async fn a_write_cut_after_it_was_sent_is_never_run_twice(server: Server, test: &str) {
    let setup = Setup::new(server, test, DbOptions::new()).await;
    let repo = NoteRepository::new(&setup.db);
    // Prepared (the first write of a table describes it first), so the write is one request.
    for _ in 0..2 {
        repo.insert_new(note("warm")).await.unwrap();
    }
    Setup::settle().await;
    for requests in 1..=3 {
        let body = format!("cut-{requests}");
        setup.relay.cut_after_request(requests);
        let written = repo.insert_new(note(&body)).await;
        assert!(!setup.relay.armed());
        // Landed once: never run a second time.
        assert_eq!(setup.count(&body).await, 1, "{body}: {written:?}");
        let pooled = setup.db.through_transaction_pooler();
        match (pooled, written) {
            // Every call through the pooler is a transaction: cut before its COMMIT, it ran
            // again.
            (true, Ok(stored)) => assert_eq!(stored.body, body),
            // Outside a transaction the server committed it alone; the reply was lost.
            (false, Err(Error::OutcomeUnknown { .. })) => {}
            (_, other) => panic!("{body}: {other:?}"),
        }
        Setup::settle().await;
        if !pooled {
            // Only the first request of a call on the pool is the write itself.
            break;
        }
    }
}

async fn a_unit_of_work_cut_before_its_commit_runs_again_whole(server: Server, test: &str) {
    let setup = Setup::new(server, test, DbOptions::new()).await;
    let runs = Arc::new(AtomicU32::new(0));
    setup
        .db
        .transaction(|session| {
            let (relay, runs) = (Arc::clone(&setup.relay), Arc::clone(&runs));
            Box::pin(async move {
                let run = runs.fetch_add(1, Ordering::SeqCst) + 1;
                let repo = NoteRepository::new(session);
                repo.insert_new(note("first")).await?;
                if run == 1 {
                    relay.cut_after_request(1);
                }
                repo.insert_new(note("second")).await?;
                Ok(())
            })
        })
        .await
        .unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(setup.relay.cuts(), 1);
    assert_eq!(setup.count("first").await, 1);
    assert_eq!(setup.count("second").await, 1);

    // A session the caller holds: the statement's error says the unit may run again, and
    // nothing of it is written.
    Setup::settle().await;
    let session = setup.db.begin().await.unwrap();
    let repo = NoteRepository::new(&session);
    repo.insert_new(note("held")).await.unwrap();
    setup.relay.cut_after_request(1);
    let error = repo.insert_new(note("held too")).await.unwrap_err();
    assert!(error.is_retryable(), "{error:?}");
    assert!(error.is_connection_lost(), "{error:?}");
    let error = session.commit().await.unwrap_err();
    assert!(
        matches!(
            error,
            Error::SessionAborted {
                retryable: true,
                ..
            }
        ),
        "{error:?}"
    );
    assert_eq!(setup.count("held").await, 0);
    assert_eq!(setup.count("held too").await, 0);
}

async fn a_commit_cut_after_it_was_sent_is_outcome_unknown(server: Server, test: &str) {
    let setup = Setup::new(server, test, DbOptions::new()).await;
    let runs = Arc::new(AtomicU32::new(0));
    let outcome = setup
        .db
        .transaction(|session| {
            let (relay, runs) = (Arc::clone(&setup.relay), Arc::clone(&runs));
            Box::pin(async move {
                runs.fetch_add(1, Ordering::SeqCst);
                NoteRepository::new(session)
                    .insert_new(note("committed"))
                    .await?;
                // The next request is the COMMIT.
                relay.cut_after_request(1);
                Ok(())
            })
        })
        .await;
    assert!(
        matches!(outcome, Err(Error::OutcomeUnknown { .. })),
        "{outcome:?}"
    );
    assert!(outcome.unwrap_err().to_string().contains("may or may not"));
    assert_eq!(runs.load(Ordering::SeqCst), 1, "run again after its COMMIT");
    // The server had it: committed, once.
    assert_eq!(setup.count("committed").await, 1);
    // The pool goes on.
    let repo = NoteRepository::new(&setup.db);
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 1);
}

async fn a_bulk_write_cut_midway_runs_again_whole(server: Server, test: &str) {
    let setup = Setup::new(server, test, DbOptions::new()).await;
    let repo = NoteRepository::new(&setup.db);
    let rows: Vec<NewNote> = (0..500).map(|i| note(&format!("bulk-{i}"))).collect();
    // Begun, then cut in its first statement: rolled back by the server, run again whole.
    setup.relay.cut_after_request(2);
    let inserted = repo.bulk_insert_new(rows).await.unwrap();
    assert_eq!(inserted, 500);
    assert_eq!(setup.relay.cuts(), 1);
    assert_eq!(setup.count_all().await, 500);
    assert_eq!(setup.count("bulk-499").await, 1);
}

async fn connections_a_restart_killed_are_pinged_before_a_write(server: Server, test: &str) {
    // With the ping of long-idle connections off, only the loss itself tells the pool.
    let options = DbOptions::new()
        .min_connections(4)
        .max_connections(4)
        .ping_idle_after(Duration::MAX);
    let setup = Setup::new(server, test, options).await;
    let repo = NoteRepository::new(&setup.db);
    warm(&repo).await;
    setup.relay.cut_all();
    let mut unknown = Vec::new();
    for i in 0..8 {
        let body = format!("after-{i}");
        match repo.insert_new(note(&body)).await {
            Ok(_) => assert_eq!(setup.count(&body).await, 1),
            Err(Error::OutcomeUnknown { .. }) => unknown.push(body),
            Err(other) => panic!("{body}: {other:?}"),
        }
    }
    // The first write met a dead connection (outside the pooler mode, where its statement
    // is the first thing sent, its outcome is unknown); every connection idle since was
    // pinged, found dead and replaced.
    assert!(unknown.len() <= 1, "{unknown:?}");
    for body in &unknown {
        // Sent to a connection that was already gone: it never reached the server.
        assert_eq!(setup.count(body).await, 0);
    }
    assert_eq!(setup.count_all().await, 8 - unknown.len() as i64);

    // By default a connection idle for a second is pinged: after a pause as long as a
    // restart, no write meets a dead connection at all.
    let setup = Setup::new(
        server,
        &format!("{test}_2"),
        DbOptions::new().min_connections(4).max_connections(4),
    )
    .await;
    let repo = NoteRepository::new(&setup.db);
    warm(&repo).await;
    setup.relay.cut_all();
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    for i in 0..8 {
        repo.insert_new(note(&format!("paused-{i}"))).await.unwrap();
    }
    assert_eq!(setup.count_all().await, 8);
}

/// Open every connection of the pool (four calls at once), then let them go idle.
async fn warm(repo: &NoteRepository<'_>) {
    let calls = (0..4).map(|_| repo.count(Filter::all()));
    for counted in futures_util::future::join_all(calls).await {
        counted.unwrap();
    }
    Setup::settle().await;
}

async fn sixteen_tasks_through_repeated_cuts_lose_nothing_silently(server: Server, test: &str) {
    let setup = Arc::new(Setup::new(server, test, DbOptions::new().max_connections(8)).await);
    let cutter = {
        let setup = Arc::clone(&setup);
        tokio::spawn(async move {
            for _ in 0..6 {
                tokio::time::sleep(Duration::from_millis(120)).await;
                setup.relay.cut_all();
            }
        })
    };
    let unknown = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for task in 0..16 {
        let (setup, unknown) = (Arc::clone(&setup), Arc::clone(&unknown));
        tasks.push(tokio::spawn(async move {
            let repo = NoteRepository::new(&setup.db);
            let mut outcomes = Vec::new();
            for i in 0..12 {
                let body = format!("t{task}-{i}");
                let written = repo.insert_new(note(&body)).await;
                // Reads never fail: they run again.
                repo.count(Filter::all()).await.unwrap();
                match written {
                    Ok(stored) => {
                        assert_eq!(stored.body, body);
                        outcomes.push((body, true));
                    }
                    Err(Error::OutcomeUnknown { .. }) => {
                        unknown.fetch_add(1, Ordering::SeqCst);
                        outcomes.push((body, false));
                    }
                    Err(other) => panic!("{body}: {other:?}"),
                }
            }
            outcomes
        }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.extend(task.await.unwrap());
    }
    cutter.await.unwrap();
    assert!(setup.relay.cuts() > 0);
    let mut stored = 0;
    for (body, acknowledged) in &outcomes {
        let count = setup.count(body).await;
        if *acknowledged {
            assert_eq!(count, 1, "{body}: acknowledged, stored {count} times");
        } else {
            // Landed once or not at all.
            assert!(count <= 1, "{body}: unknown, stored {count} times");
        }
        stored += count;
    }
    assert_eq!(setup.count_all().await, stored, "rows no call wrote");
    eprintln!(
        "{server:?}: {} writes, {} with an unknown outcome, {} connections cut",
        outcomes.len(),
        unknown.load(Ordering::SeqCst),
        setup.relay.cuts()
    );
}
