//! Read replicas, on a real PostgreSQL hot standby (127.0.0.1:5433) and a real MariaDB GTID
//! replica (127.0.0.1:3307) of the servers under test (`bash .ci/services.sh up pg-replica
//! mariadb-replica` starts them). Each backend's phases run in order in one test, since they
//! change the replica (its apply delay, stopping it) for everyone using it:
//!
//! 1. under lag (PostgreSQL `recovery_min_apply_delay` 500 ms, MariaDB `MASTER_DELAY` 1 s),
//!    10,000 write-then-read pairs by 16 callers, each reading on a replica with its own
//!    consistency token: no read is stale;
//! 2. the same without tokens (negative control): stale reads, so the lag is real;
//! 3. without lag: tokens still give no stale read, and replicas serve reads (most of them on
//!    PostgreSQL);
//! 4. the replica stopped while 16 readers read: no error reaches them, their reads move to
//!    the primary and back once the replica returns.
//!
//! Every read is checked against the value its caller wrote just before.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use repo_core::cache::CacheOptions;
use repo_core::prelude::*;
use repo_core::{Backend, ConsistencyToken, ReadFrom, ReplicaReads};

/// A row each caller owns and rewrites.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "notes")]
pub struct Note {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub body: String,
    pub revision: i64,
}

const CALLERS: usize = 16;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_postgres() {
    replicas_on(Backend::Postgres, "replicas").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_mysql() {
    replicas_on(Backend::MySql, "replicas").await;
}

async fn replicas_on(backend: Backend, test: &str) {
    let primary_url = repo_tests::fresh_url(backend, test).await;
    let replica_url = repo_tests::replica_url(backend, &primary_url).await;
    let replica = ReplicaAdmin::connect(backend, &replica_url).await;
    replica.delay(Duration::ZERO).await;
    let db = Db::connect_with(
        &primary_url,
        DbOptions::new()
            .replica(replica_url.clone())
            .read_from(ReadFrom::ReplicaPreferred),
    )
    .await
    .expect("connect with a replica");
    db.create_schema::<Note>().await.unwrap();
    let repo = NoteRepository::new(&db);
    let mut ids = Vec::new();
    for caller in 0..CALLERS {
        let note = repo
            .insert_new(NewNote {
                body: format!("caller {caller}"),
                revision: 0,
            })
            .await
            .unwrap();
        ids.push(note.id);
    }
    replica.wait_for_rows("notes", CALLERS as i64).await;
    let name = format!("{backend:?}");

    // 1. Under lag, with tokens: never stale.
    let lag = match backend {
        Backend::Postgres => Duration::from_millis(500),
        _ => Duration::from_secs(1),
    };
    replica.delay(lag).await;
    let with_tokens = pairs(&db, &ids, 10_000, true).await;
    println!("{name}, {lag:?} lag, with tokens: {with_tokens}");
    assert_eq!(with_tokens.stale, 0, "{name}: stale reads with tokens");
    assert_eq!(with_tokens.errors, 0);

    // 2. The same without tokens: the lag is real.
    let without = pairs(&db, &ids, 1_000, false).await;
    println!("{name}, {lag:?} lag, without tokens: {without}");
    assert!(
        without.stale > 0,
        "{name}: no stale read without tokens, so the replica did not lag"
    );
    assert!(without.reads.on_replica > 0);

    // 2b. A cached entity read on a replica without a token: the cache fills from the
    // primary, so the lag never reaches it.
    cached_reads_stay_fresh(&primary_url, &replica_url, &replica, &name).await;

    // 3. No lag: tokens hold, and the replica serves.
    replica.delay(Duration::ZERO).await;
    let caught_up = pairs(&db, &ids, 2_000, true).await;
    println!("{name}, no lag, with tokens: {caught_up}");
    assert_eq!(caught_up.stale, 0, "{name}: stale reads with tokens");
    // A MariaDB replica applies one transaction at a time and falls behind sixteen writers
    // by more than the wait at times: those reads go to the primary.
    assert!(
        caught_up.reads.on_replica * 5 > caught_up.count as u64,
        "{name}: a replica without lag served under a fifth of the reads: {caught_up}"
    );

    // 4. The replica stops while callers read.
    replica_stopped_mid_run(&db, &ids, backend, &name).await;

    // A token carried across requests, as a web application keeps it in a cookie.
    let caller = db.with_consistency_token(None).unwrap();
    let written = NoteRepository::new(&caller)
        .update(&Note {
            id: ids[0],
            body: "carried".into(),
            revision: 1_000_000,
        })
        .await
        .unwrap();
    let cookie = caller
        .consistency_token()
        .expect("a token after a write")
        .to_string();
    let next_request = db
        .with_consistency_token(Some(cookie.parse::<ConsistencyToken>().unwrap()))
        .unwrap()
        .on_replica();
    let read = NoteRepository::new(&next_request)
        .get(ids[0])
        .await
        .unwrap();
    assert_eq!(read, written);
    let other_kind: ConsistencyToken = match backend {
        Backend::Postgres => "gtid:0-1-1".parse().unwrap(),
        _ => "lsn:0/1".parse().unwrap(),
    };
    let refused = db.with_consistency_token(Some(other_kind)).unwrap_err();
    assert!(matches!(&refused, Error::Validation { field, .. } if field == "consistency_token"));

    // A session reads and writes on the primary, and its commit moves the handle's token.
    let caller = db.with_consistency_token(None).unwrap().on_replica();
    let session = caller.begin().await.unwrap();
    let in_session = NoteRepository::new(&session);
    let mut note = in_session.get(ids[1]).await.unwrap();
    note.revision += 1;
    in_session.update(&note).await.unwrap();
    assert_eq!(
        in_session.get(ids[1]).await.unwrap().revision,
        note.revision
    );
    assert!(caller.consistency_token().is_none());
    session.commit().await.unwrap();
    assert!(caller.consistency_token().is_some());
    let read = NoteRepository::new(&caller).get(ids[1]).await.unwrap();
    assert_eq!(read.revision, note.revision);
    db.close().await;
}

/// A row of a `#[repo(cache)]` entity.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "cached_notes", cache)]
pub struct CachedNote {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub revision: i64,
}

/// Under replica lag, writes to a cached entity each followed by a read on a replica handle
/// that has no token (so it may read a stale replica): every read sees the write, because a
/// miss fills the cache from the primary.
async fn cached_reads_stay_fresh(
    primary_url: &str,
    replica_url: &str,
    replica: &ReplicaAdmin,
    name: &str,
) {
    let db = Db::connect_with(
        primary_url,
        DbOptions::new()
            .replica(replica_url.to_owned())
            .cache(CacheOptions::in_process().namespace(repo_tests::cache_namespace())),
    )
    .await
    .unwrap();
    db.create_schema::<CachedNote>().await.unwrap();
    let writer = CachedNoteRepository::new(&db);
    let note = writer
        .insert_new(NewCachedNote { revision: 0 })
        .await
        .unwrap();
    // Once the replica has the row (it may read the replica from then on), it lags again.
    replica.wait_for_rows("cached_notes", 1).await;
    let mut stale = 0;
    for revision in 1..=50 {
        // A filtered write: the cache forgets the table, and the read after it misses.
        writer
            .update_where(
                CachedNote::ID.eq(note.id),
                [CachedNote::REVISION.set(revision)],
            )
            .await
            .unwrap();
        let reader = db.with_consistency_token(None).unwrap().on_replica();
        let read = CachedNoteRepository::new(&reader)
            .get(note.id)
            .await
            .unwrap();
        if read.revision != revision {
            stale += 1;
        }
    }
    println!("{name}, cached entity under lag, no token: {stale} stale of 50");
    assert_eq!(
        stale, 0,
        "{name}: a cache fill stored a replica's stale row"
    );
    db.close().await;
}

/// What a run of write-then-read pairs saw.
struct PairRun {
    count: usize,
    stale: u64,
    errors: u64,
    reads: ReplicaReads,
    took: Duration,
}

impl std::fmt::Display for PairRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let asked = Ord::max(self.reads.on_replica + self.reads.on_primary, 1);
        write!(
            f,
            "{} pairs in {:.1?}: {} stale, {} errors; replicas served {} of {} reads ({:.1}%, {} after a wait), the primary {}, {} failed over",
            self.count,
            self.took,
            self.stale,
            self.errors,
            self.reads.on_replica,
            asked,
            self.reads.on_replica as f64 * 100.0 / asked as f64,
            self.reads.waited,
            self.reads.on_primary,
            self.reads.failed_over,
        )
    }
}

fn reads_since(before: ReplicaReads, after: ReplicaReads) -> ReplicaReads {
    let mut reads = ReplicaReads::default();
    reads.on_replica = after.on_replica - before.on_replica;
    reads.on_primary = after.on_primary - before.on_primary;
    reads.waited = after.waited - before.waited;
    reads.failed_over = after.failed_over - before.failed_over;
    reads
}

/// `total` pairs shared by one caller per row: write the row's next revision, then read it on
/// a replica, with the caller's token (`tokens`) or as a caller with none.
async fn pairs(db: &Db, ids: &[i64], total: usize, tokens: bool) -> PairRun {
    let before = db.replica_reads();
    let started = Instant::now();
    let stale = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for &id in ids {
        let (db, stale, errors) = (db.clone(), Arc::clone(&stale), Arc::clone(&errors));
        let rounds = total / ids.len();
        tasks.push(tokio::spawn(async move {
            let caller = db.with_consistency_token(None).unwrap();
            // Its own writes and the read of the row it starts from on the primary.
            let on_primary = caller.on_primary();
            let writer = NoteRepository::new(&on_primary);
            let mut note = writer.get(id).await.unwrap();
            for _ in 0..rounds {
                note.revision += 1;
                note = match writer.update(&note).await {
                    Ok(note) => note,
                    Err(error) => {
                        eprintln!("write: {error}");
                        errors.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                };
                let reader = if tokens {
                    caller.on_replica()
                } else {
                    db.with_consistency_token(None).unwrap().on_replica()
                };
                match NoteRepository::new(&reader).get(id).await {
                    Ok(read) if read.revision == note.revision => {}
                    Ok(read) => {
                        assert!(read.revision < note.revision, "a revision never written");
                        stale.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(error) => {
                        eprintln!("read: {error}");
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    PairRun {
        count: total / ids.len() * ids.len(),
        stale: stale.load(Ordering::Relaxed),
        errors: errors.load(Ordering::Relaxed),
        reads: reads_since(before, db.replica_reads()),
        took: started.elapsed(),
    }
}

/// Sixteen callers read (half with a token of an earlier write) while the replica is stopped
/// and started again: no error, reads on the primary meanwhile, on the replica again after.
async fn replica_stopped_mid_run(db: &Db, ids: &[i64], backend: Backend, name: &str) {
    let done = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let reads = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for (n, &id) in ids.iter().enumerate() {
        let (db, done, errors, reads) = (
            db.clone(),
            Arc::clone(&done),
            Arc::clone(&errors),
            Arc::clone(&reads),
        );
        tasks.push(tokio::spawn(async move {
            let caller = db.with_consistency_token(None).unwrap().on_replica();
            let repo = NoteRepository::new(&caller);
            if n % 2 == 0 {
                let note = repo.get(id).await.unwrap();
                repo.update(&note).await.unwrap();
            }
            while !done.load(Ordering::Relaxed) {
                match repo.get(id).await {
                    Ok(_) => reads.fetch_add(1, Ordering::Relaxed),
                    Err(error) => {
                        eprintln!("read while the replica stopped: {error}");
                        errors.fetch_add(1, Ordering::Relaxed)
                    }
                };
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = db.replica_reads();
    assert!(
        before.on_replica > 0,
        "{name}: no read on the replica before it stopped"
    );
    replica_script(backend, &["stop"]).await;
    let stopped = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let while_down = db.replica_reads();
    let down = reads_since(before, while_down);
    replica_script(backend, &["start"]).await;
    // Back on the replica within 30 s of its start.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut back = None;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if db.replica_reads().on_replica > while_down.on_replica + 100 {
            back = Some(stopped.elapsed());
            break;
        }
    }
    done.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let all = reads_since(before, db.replica_reads());
    println!(
        "{name}, replica stopped: {} reads, {} errors; while down: {down:?}; over the run: {all:?}; replica serving again {:.1?} after it was stopped",
        reads.load(Ordering::Relaxed),
        errors.load(Ordering::Relaxed),
        back,
    );
    assert_eq!(
        errors.load(Ordering::Relaxed),
        0,
        "{name}: errors reached callers"
    );
    assert!(
        down.on_primary > 100,
        "{name}: reads did not move to the primary: {down:?}"
    );
    assert!(
        back.is_some(),
        "{name}: reads did not come back to the replica"
    );
}

/// Run the project's script that controls the replica of `backend`.
async fn replica_script(backend: Backend, arguments: &[&str]) {
    let script = match backend {
        Backend::Postgres => "pg-replica.sh",
        _ => "mariadb-replica.sh",
    };
    let path = format!("{}/../.ci/{script}", env!("CARGO_MANIFEST_DIR"));
    let status = tokio::process::Command::new("bash")
        .arg(&path)
        .args(arguments)
        .status()
        .await
        .expect("run the replica script");
    assert!(
        status.success(),
        "bash {path} {arguments:?} failed: {status}"
    );
}

/// Plain SQL on the replica itself: its apply delay, and whether it has replayed a write.
enum ReplicaAdmin {
    Postgres(sqlx::PgPool),
    MySql(sqlx::MySqlPool),
}

impl ReplicaAdmin {
    async fn connect(backend: Backend, url: &str) -> Self {
        match backend {
            Backend::Postgres => Self::Postgres(sqlx::PgPool::connect(url).await.unwrap()),
            _ => Self::MySql(sqlx::MySqlPool::connect(url).await.unwrap()),
        }
    }

    /// Apply the primary's changes no sooner than `lag` after it made them.
    async fn delay(&self, lag: Duration) {
        match self {
            Self::Postgres(pool) => {
                let ms = lag.as_millis();
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "ALTER SYSTEM SET recovery_min_apply_delay = '{ms}ms'"
                )))
                .execute(pool)
                .await
                .unwrap();
                sqlx::raw_sql("SELECT pg_reload_conf()")
                    .execute(pool)
                    .await
                    .unwrap();
                for _ in 0..100 {
                    let (setting,): (String,) = sqlx::query_as(
                        "SELECT setting FROM pg_settings WHERE name = 'recovery_min_apply_delay'",
                    )
                    .fetch_one(pool)
                    .await
                    .unwrap();
                    if setting == ms.to_string() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            Self::MySql(pool) => {
                let seconds = lag.as_secs();
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                    "STOP SLAVE; CHANGE MASTER TO master_delay = {seconds}; START SLAVE"
                )))
                .execute(pool)
                .await
                .unwrap();
            }
        }
        // Whatever the delay held back is applied by the time it is lifted.
        if lag.is_zero() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Wait until the replica has `count` rows in `table`.
    async fn wait_for_rows(&self, table: &str, count: i64) {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let seen: Option<i64> = match self {
                Self::Postgres(pool) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
                    .fetch_one(pool)
                    .await
                    .ok(),
                Self::MySql(pool) => sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
                    .fetch_one(pool)
                    .await
                    .ok(),
            };
            if seen == Some(count) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the replica did not replay {table} in 30 s (it has {seen:?})"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Bad replica settings are refused before anything connects.
#[tokio::test]
async fn replicas_are_refused_where_they_cannot_work() {
    let sqlite = repo_tests::sqlite_fresh_url("replicas_refused");
    let error = Db::connect_with(&sqlite, DbOptions::new().replica("sqlite::memory:"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, Error::Validation { field, .. } if field == "replica"),
        "{error:?}"
    );
    let postgres = repo_tests::postgres_fresh_url("replicas_refused").await;
    let error = Db::connect_with(
        &postgres,
        DbOptions::new().replica("mysql://root@127.0.0.1:3307/test"),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&error, Error::Validation { field, .. } if field == "replica"),
        "{error:?}"
    );
    // A replica that is down when the Db connects is no error: reads use the primary.
    let db = Db::connect_with(
        &postgres,
        DbOptions::new()
            .replica("postgres://postgres@127.0.0.1:1/test")
            .read_from(ReadFrom::ReplicaPreferred),
    )
    .await
    .unwrap();
    db.create_schema::<Note>().await.unwrap();
    let repo = NoteRepository::new(&db);
    let note = repo
        .insert_new(NewNote {
            body: "x".into(),
            revision: 7,
        })
        .await
        .unwrap();
    assert_eq!(repo.get(note.id).await.unwrap().revision, 7);
    assert_eq!(db.replica_reads().on_replica, 0);
    assert!(db.replica_reads().on_primary >= 1);
}
