//! Primary failover through a libpq multi-host URL, on a real `pg_auto_failover` formation (a
//! monitor on 127.0.0.1:5440, nodes on 5441 and 5442 with synchronous replication; `bash
//! .ci/services.sh up pg-auto-failover` starts it, `REPO_TEST_FAILOVER_URL` names another).
//!
//! Sixteen writers insert rows while the formation fails over (half of them on the pool, half
//! in units of work of `Db::transaction`): no error reaches them but writes whose outcome is
//! unknown, writing resumes within 10 s, and every acknowledged row is on the new primary
//! afterwards.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use repo_core::Statement;
use repo_core::prelude::*;

/// The formation's URL, as `pg_auto_failover` hands it out.
const DEFAULT_FAILOVER_URL: &str =
    "postgres://postgres@127.0.0.1:5441,127.0.0.1:5442/postgres?target_session_attrs=read-write";

#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "failover_events")]
pub struct Event {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub writer: i32,
    pub seq: i64,
}

async fn formation_url() -> String {
    let url =
        std::env::var("REPO_TEST_FAILOVER_URL").unwrap_or_else(|_| DEFAULT_FAILOVER_URL.into());
    for port in ["5441", "5442"] {
        if url.contains(&format!(":{port}"))
            && let Err(error) = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}")).await
        {
            panic!(
                "the pg_auto_failover node on 127.0.0.1:{port} is not reachable: {error}\n\
                 Start the formation with `bash .ci/services.sh up pg-auto-failover` (as root), \
                 or point REPO_TEST_FAILOVER_URL at another multi-host URL."
            );
        }
    }
    url
}

/// Whether the server the `Db`'s pool connects to is a standby.
async fn on_standby(db: &Db) -> bool {
    repo_tests::scalar(
        db,
        "SELECT CASE WHEN pg_is_in_recovery() THEN 1::bigint ELSE 0::bigint END",
    )
    .await
        == 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_multi_host_url_follows_the_primary_through_a_failover() {
    let url = formation_url().await;
    // The same URL's standby serves replica reads.
    let standby_url = url.replace("read-write", "standby");
    let db = Db::connect_with(&url, DbOptions::new().replica(standby_url.clone()))
        .await
        .expect("connect through the multi-host URL");
    assert!(!on_standby(&db).await, "read-write found a standby");
    let standby = Db::connect(&standby_url).await.unwrap();
    assert!(on_standby(&standby).await, "standby found the primary");
    standby.close().await;
    let refused = Db::connect(&url.replace("read-write", "leader"))
        .await
        .unwrap_err();
    assert!(matches!(&refused, Error::Validation { field, .. } if field == "target_session_attrs"));

    repo_tests::raw_sql(&db, "DROP TABLE IF EXISTS failover_events")
        .await
        .unwrap();
    db.create_schema::<Event>().await.unwrap();

    assert!(
        replica_serves(&db).await,
        "the standby of the multi-host URL served no replica read"
    );
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tasks = spawn_writers(&db, &tally, &stop);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let failover_started = Instant::now();
    let script = format!("{}/../.ci/pg-auto-failover.sh", env!("CARGO_MANIFEST_DIR"));
    let status = tokio::process::Command::new("bash")
        .arg(&script)
        .arg("failover")
        .status()
        .await
        .expect("run the formation's script");
    assert!(status.success(), "bash {script} failover failed: {status}");
    let failover_took = failover_started.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }

    let errors = tally.errors.lock().unwrap().clone();
    let acknowledged = tally.acknowledged.lock().unwrap().clone();
    let unknown = tally.unknown.load(std::sync::atomic::Ordering::Relaxed);
    let mut successes = tally.successes.lock().unwrap().clone();
    successes.sort();
    let longest_gap = successes
        .windows(2)
        .map(|pair| pair[1] - pair[0])
        .max()
        .unwrap_or_default();
    let after_failover = successes
        .iter()
        .filter(|at| **at > failover_started + failover_took)
        .count();
    // The writers' rows only: the replica checks insert rows of their own (writer -1).
    let stored = repo_tests::scalar(
        &db,
        "SELECT COUNT(*) FROM failover_events WHERE writer >= 0",
    )
    .await;
    let ids = acknowledged
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let present = repo_tests::scalar(
        &db,
        &format!("SELECT COUNT(*) FROM failover_events WHERE id IN ({ids})"),
    )
    .await;
    println!(
        "failover in {failover_took:.1?}: {} writes acknowledged, {unknown} outcome unknown, {} errors, {after_failover} after it; longest pause between acknowledged writes {longest_gap:.1?}; {stored} rows stored, {present} of the acknowledged present",
        acknowledged.len(),
        errors.len(),
    );
    assert!(errors.is_empty(), "errors reached the writers: {errors:?}");
    assert_eq!(
        present as usize,
        acknowledged.len(),
        "an acknowledged write is missing"
    );
    assert!(stored as u64 <= acknowledged.len() as u64 + unknown);
    assert!(after_failover > 0, "no write succeeded after the failover");
    assert!(
        longest_gap < Duration::from_secs(10),
        "writes paused {longest_gap:?}"
    );
    assert!(
        !on_standby(&db).await,
        "the pool still reads from a standby"
    );
    // The old primary, a standby now, serves replica reads in its turn.
    assert!(
        replica_serves(&db).await,
        "no replica read after the failover"
    );
    db.close().await;
}

/// Whether, within 20 s, a caller writes an event and reads it back on a replica (with its
/// token), served by the replica.
async fn replica_serves(db: &Db) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let caller = db.with_consistency_token(None).unwrap();
        let written = EventRepository::new(&caller)
            .insert_new(NewEvent { writer: -1, seq: 0 })
            .await
            .unwrap();
        let before = db.replica_reads().on_replica;
        let read = EventRepository::new(&caller.on_replica())
            .get(written.id)
            .await
            .unwrap();
        assert_eq!(read, written);
        if db.replica_reads().on_replica > before {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// What the writers saw.
#[derive(Default)]
struct Tally {
    acknowledged: Mutex<Vec<i64>>,
    successes: Mutex<Vec<Instant>>,
    unknown: std::sync::atomic::AtomicU64,
    errors: Mutex<Vec<String>>,
}

/// Sixteen writers inserting events until `stop`.
fn spawn_writers(
    db: &Db,
    tally: &Arc<Tally>,
    stop: &Arc<std::sync::atomic::AtomicBool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..16)
        .map(|writer| {
            let (db, tally, stop) = (db.clone(), Arc::clone(tally), Arc::clone(stop));
            tokio::spawn(async move {
                let repo = EventRepository::new(&db);
                let mut seq = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    seq += 1;
                    let written = if writer % 2 == 0 {
                        repo.insert_new(NewEvent { writer, seq }).await
                    } else {
                        insert_in_unit_of_work(&db, writer, seq).await
                    };
                    match written {
                        Ok(event) => {
                            tally.acknowledged.lock().unwrap().push(event.id);
                            tally.successes.lock().unwrap().push(Instant::now());
                        }
                        Err(error) if error.is_outcome_unknown() => {
                            tally
                                .unknown
                                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        Err(error) => tally.errors.lock().unwrap().push(error.to_string()),
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        })
        .collect()
}

/// Insert an event and read it back in one unit of work, which runs again when it meets a
/// lost connection or a demoted primary.
async fn insert_in_unit_of_work(db: &Db, writer: i32, seq: i64) -> repo_core::Result<Event> {
    db.transaction(|session| {
        Box::pin(async move {
            let repo = EventRepository::new(session);
            let event = repo.insert_new(NewEvent { writer, seq }).await?;
            repo.get(event.id).await
        })
    })
    .await
}

/// A unit of work whose write a read-only server refuses (SQLSTATE 25006, what a demoted
/// primary answers) runs again on a pool that follows the primary, and is written once. The
/// first attempt meets the refusal a node a failover demoted gives (`REFUSE_AS_READ_ONLY`:
/// the same SQLSTATE, raised on purpose, since a real failover rarely lands between a
/// session's statements).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_unit_of_work_refused_as_read_only_runs_again_on_the_primary() {
    let url = formation_url().await;
    let db = Db::connect(&url)
        .await
        .expect("connect through the multi-host URL");
    repo_tests::raw_sql(
        &db,
        "CREATE TABLE IF NOT EXISTS failover_refusals (id BIGSERIAL PRIMARY KEY, writer INT NOT NULL, seq BIGINT NOT NULL)",
    )
    .await
    .unwrap();
    let seq = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64;
    let attempts = std::sync::atomic::AtomicU32::new(0);
    let written = db
        .transaction(|session| {
            let attempt = attempts.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            Box::pin(async move {
                let repo = RefusalRepository::new(session);
                if attempt == 1 {
                    repo.conn()
                        .execute(Statement::new(REFUSE_AS_READ_ONLY, Vec::new()))
                        .await?;
                }
                repo.insert_new(NewRefusal { writer: 7, seq }).await
            })
        })
        .await
        .expect("the refused unit of work runs again");
    assert!(attempts.into_inner() >= 2, "the unit of work ran once");
    assert_eq!(written.seq, seq);
    let stored = repo_tests::scalar(
        &db,
        &format!("SELECT COUNT(*) FROM failover_refusals WHERE seq = {seq}"),
    )
    .await;
    assert_eq!(stored, 1, "the unit of work was not written exactly once");

    // On a single-host pool nothing would take the write elsewhere: the refusal returns.
    let single = Db::connect(&format!(
        "postgres://postgres@{}/postgres",
        primary_host(&db).await
    ))
    .await
    .unwrap();
    let refused = single
        .transaction(|session| {
            Box::pin(async move {
                let repo = RefusalRepository::new(session);
                repo.conn()
                    .execute(Statement::new(REFUSE_AS_READ_ONLY, Vec::new()))
                    .await?;
                repo.insert_new(NewRefusal { writer: 8, seq }).await
            })
        })
        .await
        .unwrap_err();
    assert!(!refused.is_retryable(), "{refused}");
    single.close().await;
    db.close().await;
}

/// What a hot standby answers a write with: SQLSTATE 25006, `read_only_sql_transaction`.
const REFUSE_AS_READ_ONLY: &str = "DO $$ BEGIN RAISE EXCEPTION 'cannot execute INSERT in a \
     read-only transaction' USING ERRCODE = '25006'; END $$";

#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "failover_refusals")]
pub struct Refusal {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub writer: i32,
    pub seq: i64,
}

/// `host:port` of the server the `Db`'s pool writes to.
async fn primary_host(db: &Db) -> String {
    let port = repo_tests::scalar(db, "SELECT inet_server_port()::bigint").await;
    format!("127.0.0.1:{port}")
}
