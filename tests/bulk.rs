//! Bulk writes: chunked (under the bind limit, or as arrays on PostgreSQL), atomic, on every
//! backend.

use repo_core::prelude::*;
use repo_core::{Backend, DbOptions, Error, RetryPolicy};
use repo_tests::entities::*;

repo_tests::on_every_backend!(
    bulk_upsert_beyond_one_statement_reads_back_every_row,
    bulk_writes_at_the_chunk_edges,
    failing_last_chunk_leaves_nothing_written,
    failing_bulk_in_a_session_keeps_the_session_usable,
    bulk_upsert_duplicates_in_one_batch_last_wins,
    empty_batch_sends_nothing,
    upsert_without_a_key_is_rejected,
    concurrent_shuffled_bulk_upserts_never_deadlock,
    text_that_looks_like_syntax_is_stored_as_given,
    rows_per_statement_is_how_a_batch_is_cut,
);

async fn bulk_upsert_beyond_one_statement_reads_back_every_row(db: Db) {
    db.create_schema::<Reading>().await.unwrap();
    let repo = ReadingRepository::new(&db);
    let rows: Vec<Reading> = (0..50_000)
        .map(|i| Reading::new(&format!("s{}", i % 50), i, i as f64 / 10.0))
        .collect();
    assert!(
        rows.len() > repo.rows_per_statement(BulkWrite::Upsert),
        "needs several statements"
    );
    assert_eq!(repo.bulk_upsert(&rows).await.unwrap(), 50_000);
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 50_000);

    // Every row is there with its values.
    let stored = repo.find_all(Filter::all()).await.unwrap();
    let mut by_key: Vec<(String, i64, f64, Option<String>, bool)> = stored
        .iter()
        .map(|r| (r.sensor.clone(), r.seq, r.value, r.note.clone(), r.flagged))
        .collect();
    by_key.sort_by_key(|row| row.1);
    for (row, want) in by_key.iter().zip(&rows) {
        assert_eq!(
            row,
            &(
                want.sensor.clone(),
                want.seq,
                want.value,
                want.note.clone(),
                want.flagged
            )
        );
    }

    // Again with new values: every row updated in place, none added.
    let changed: Vec<Reading> = rows
        .iter()
        .map(|r| Reading {
            value: r.value + 1000.0,
            ..r.clone()
        })
        .collect();
    assert_eq!(repo.bulk_upsert(&changed).await.unwrap(), 50_000);
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 50_000);
    assert_eq!(repo.count(Reading::VALUE.lt(1000.0)).await.unwrap(), 0);
    let one = repo
        .find_one(Reading::SENSOR.eq("s7").and(Reading::SEQ.eq(49_957_i64)))
        .await
        .unwrap()
        .unwrap();
    assert!((one.value - (4995.7 + 1000.0)).abs() < 1e-9);
}

async fn bulk_writes_at_the_chunk_edges(db: Db) {
    db.create_schema::<Reading>().await.unwrap();
    let repo = ReadingRepository::new(&db);
    let n = repo.rows_per_statement(BulkWrite::Insert);
    for (sensor, count) in [("exact", n), ("one-more", n + 1), ("one-less", n - 1)] {
        let rows: Vec<Reading> = (0..count as i64)
            .map(|i| Reading::new(sensor, i, 1.0))
            .collect();
        assert_eq!(repo.bulk_insert(&rows).await.unwrap(), count as u64);
        assert_eq!(
            repo.count(Reading::SENSOR.eq(sensor)).await.unwrap(),
            count as u64
        );
    }
    let returned = repo
        .bulk_upsert_returning(
            &(0..(n + 2) as i64)
                .map(|i| Reading::new("returning", i, 2.0))
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    assert_eq!(returned.len(), n + 2);
    let mut seqs: Vec<i64> = returned.iter().map(|r| r.seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..(n + 2) as i64).collect::<Vec<_>>());
    assert!(
        returned
            .iter()
            .all(|r| r.id > 0 && r.created_at > DateTime::UNIX_EPOCH)
    );
}

async fn failing_last_chunk_leaves_nothing_written(db: Db) {
    db.create_schema::<Reading>().await.unwrap();
    db.create_schema::<Account>().await.unwrap();
    let repo = ReadingRepository::new(&db);
    let n = repo.rows_per_statement(BulkWrite::Insert);
    // The last row repeats the first row's unique key: the last chunk fails.
    let mut rows: Vec<Reading> = (0..(2 * n + 10) as i64)
        .map(|i| Reading::new("a", i, 0.0))
        .collect();
    rows.push(Reading::new("a", 0, 9.9));
    let err = repo.bulk_insert(&rows).await.unwrap_err();
    assert!(err.is_conflict(), "{err:?}");
    assert_eq!(
        repo.count(Filter::all()).await.unwrap(),
        0,
        "no chunk of the batch stays"
    );

    // Upsert: conflicts on its own key are updates, but the primary key of another row is not.
    let accounts = AccountRepository::new(&db);
    let per = accounts.rows_per_statement(BulkWrite::Upsert);
    let mut batch: Vec<Account> = (0..per + 5)
        .map(|i| Account {
            id: format!("id-{i}"),
            email: format!("{i}@example.org"),
            name: format!("n{i}"),
            balance: i as i64,
        })
        .collect();
    batch.push(Account {
        id: "id-0".into(),
        email: "fresh@example.org".into(),
        name: "clash".into(),
        balance: 0,
    });
    match accounts.bulk_upsert(&batch).await {
        Err(Error::Conflict { constraint, .. }) => assert_eq!(constraint, "accounts_pkey"),
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(accounts.count(Filter::all()).await.unwrap(), 0);
}

async fn failing_bulk_in_a_session_keeps_the_session_usable(db: Db) {
    db.create_schema::<Reading>().await.unwrap();
    let session = db.begin().await.unwrap();
    let repo = ReadingRepository::new(&session);
    repo.insert(&Reading::new("kept", 1, 1.0)).await.unwrap();
    let n = repo.rows_per_statement(BulkWrite::Insert);
    let mut rows: Vec<Reading> = (0..(n + 3) as i64)
        .map(|i| Reading::new("b", i, 0.0))
        .collect();
    rows.push(Reading::new("kept", 1, 5.0));
    assert!(repo.bulk_insert(&rows).await.unwrap_err().is_conflict());
    // The session still works and still holds its earlier write.
    repo.insert(&Reading::new("after", 1, 1.0)).await.unwrap();
    session.commit().await.unwrap();
    let repo = ReadingRepository::new(&db);
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 2);
    assert_eq!(repo.count(Reading::SENSOR.eq("b")).await.unwrap(), 0);
}

async fn bulk_upsert_duplicates_in_one_batch_last_wins(db: Db) {
    db.create_schema::<Reading>().await.unwrap();
    let repo = ReadingRepository::new(&db);
    let rows = vec![
        Reading::new("d", 1, 1.0),
        Reading::new("d", 2, 2.0),
        Reading::new("d", 1, 3.0),
    ];
    assert_eq!(repo.bulk_upsert(&rows).await.unwrap(), 2);
    let stored = repo.find_all(Reading::SENSOR.eq("d")).await.unwrap();
    let mut values: Vec<(i64, f64)> = stored.iter().map(|r| (r.seq, r.value)).collect();
    values.sort_by_key(|v| v.0);
    assert_eq!(values, vec![(1, 3.0), (2, 2.0)]);
}

async fn empty_batch_sends_nothing(db: Db) {
    db.create_schema::<Reading>().await.unwrap();
    let repo = ReadingRepository::new(&db);
    db.close().await; // a statement sent now would fail
    assert_eq!(repo.bulk_upsert(&[]).await.unwrap(), 0);
    assert_eq!(repo.bulk_insert(&[]).await.unwrap(), 0);
    assert!(repo.bulk_upsert_returning(&[]).await.unwrap().is_empty());
}

/// An entity with a generated key and no unique key has nothing to upsert on.
#[derive(Debug, Clone, Repository)]
#[repo(table = "events")]
struct Event {
    #[repo(primary_key, auto)]
    id: i64,
    kind: String,
}

async fn upsert_without_a_key_is_rejected(db: Db) {
    db.create_schema::<Event>().await.unwrap();
    let repo = EventRepository::new(&db);
    let event = Event {
        id: 0,
        kind: "x".into(),
    };
    assert!(repo.upsert(&event).await.unwrap_err().is_validation());
    assert!(
        repo.bulk_upsert(std::slice::from_ref(&event))
            .await
            .unwrap_err()
            .is_validation()
    );
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 0);
    assert_eq!(repo.insert(&event).await.unwrap().kind, "x");
}

/// 16 tasks upsert the same 2,000 keys at once, each in its own shuffled order and with its
/// own values. Batches are written in key order, so none deadlocks another: every call
/// succeeds, and as each batch is atomic the stored rows are exactly one writer's batch (the
/// last to commit), never a mix.
async fn concurrent_shuffled_bulk_upserts_never_deadlock(db: Db) {
    db.create_schema::<Reading>().await.unwrap();
    let keys = 2_000_i64;
    let mut tasks = Vec::new();
    for writer in 0..16_i64 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            // A permutation of 0..keys of the writer's own (multiplier coprime with 2,000).
            let step = [
                7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67,
            ][writer as usize];
            let batch: Vec<Reading> = (0..keys)
                .map(|i| (i * step + writer * 101) % keys)
                .map(|seq| Reading::new("shared", seq, writer as f64))
                .collect();
            ReadingRepository::new(&db).bulk_upsert(&batch).await
        }));
    }
    for task in tasks {
        let written = task.await.unwrap().expect("no deadlock, no error");
        assert_eq!(written, keys as u64);
    }
    let rows = ReadingRepository::new(&db)
        .find_all(Filter::all())
        .await
        .unwrap();
    assert_eq!(rows.len(), keys as usize);
    let last = rows[0].value;
    assert!(
        rows.iter().all(|r| (r.value - last).abs() < f64::EPSILON),
        "one writer's batch, not a mix"
    );
    let mut seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (0..keys).collect::<Vec<_>>());
}

/// A crowd with retries turned off, over keys that exist already: 16 tasks each upsert 20
/// batches of 50 rows, windows of the same 500 keys starting at different places in
/// descending order, and every call must succeed at its first attempt, every key holding a
/// value some batch wrote. (Concurrent first inserts of the same new keys can deadlock on
/// MariaDB's unique-index locks; the retry policy covers those.)
async fn crowded_bulk_upserts_succeed_without_retries(db: Db) {
    const KEYS: i64 = 500;
    db.create_schema::<Reading>().await.unwrap();
    let existing: Vec<Reading> = (0..KEYS)
        .map(|seq| Reading::new("shared", seq, -1.0))
        .collect();
    ReadingRepository::new(&db)
        .bulk_insert(&existing)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for writer in 0..16_i64 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let repo = ReadingRepository::new(&db);
            for batch in 0..20_i64 {
                let start = (writer * 37 + batch * 53) % KEYS;
                // Descending, so windows meet each other's keys in opposite orders.
                let rows: Vec<Reading> = (0..50)
                    .rev()
                    .map(|i| Reading::new("shared", (start + i) % KEYS, writer as f64))
                    .collect();
                repo.bulk_upsert(&rows).await?;
            }
            Ok::<_, Error>(())
        }));
    }
    for task in tasks {
        task.await
            .unwrap()
            .expect("no deadlock at the first attempt");
    }
    let rows = ReadingRepository::new(&db)
        .find_all(Filter::all())
        .await
        .unwrap();
    assert_eq!(rows.len(), KEYS as usize);
    assert!(rows.iter().all(|r| (-1.0..16.0).contains(&r.value)));
    assert!(rows.iter().filter(|r| r.value >= 0.0).count() > 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crowded_bulk_upserts_without_retries_sqlite() {
    let options = DbOptions::new().retry(RetryPolicy::never());
    crowded_bulk_upserts_succeed_without_retries(
        repo_tests::sqlite_with("no_retry", options).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crowded_bulk_upserts_without_retries_postgres() {
    let options = DbOptions::new().retry(RetryPolicy::never());
    crowded_bulk_upserts_succeed_without_retries(
        repo_tests::postgres_with("no_retry", options).await,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crowded_bulk_upserts_without_retries_mysql() {
    let options = DbOptions::new().retry(RetryPolicy::never());
    crowded_bulk_upserts_succeed_without_retries(repo_tests::mysql_with("no_retry", options).await)
        .await;
}

/// Text that means something in SQL, in array literals or in JSON, in every text column of a
/// bulk write (PostgreSQL binds it inside arrays): each row reads back exactly as written.
async fn text_that_looks_like_syntax_is_stored_as_given(db: Db) {
    db.create_schema::<Reading>().await.unwrap();
    let repo = ReadingRepository::new(&db);
    let hostile = [
        "",
        "NULL",
        "null",
        "{}",
        "{a,b}",
        "{\"x\": 1}",
        "a,b",
        "quote ' and \" and \\ backslash",
        "(1, 2)",
        "$1",
        "?",
        "'); DROP TABLE readings; --",
        "line\nbreak\ttab",
        "ünïcödé ✓ 𝄞",
        "   padded   ",
    ];
    let rows: Vec<Reading> = hostile
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let mut row = Reading::new(text, i as i64, i as f64);
            (*text).clone_into(&mut row.unit);
            row.note = (i % 2 == 0).then(|| (*text).to_owned());
            row
        })
        .collect();
    assert_eq!(repo.bulk_insert(&rows).await.unwrap(), rows.len() as u64);
    let stored = |rows: Vec<Reading>| {
        let mut rows: Vec<(String, i64, String, Option<String>)> = rows
            .into_iter()
            .map(|r| (r.sensor, r.seq, r.unit, r.note))
            .collect();
        rows.sort_by_key(|r| r.1);
        rows
    };
    let expected = stored(rows.clone());
    assert_eq!(
        stored(repo.find_all(Filter::all()).await.unwrap()),
        expected
    );
    // The same keys again, upserted with the text moved to the other columns.
    let again: Vec<Reading> = rows
        .iter()
        .map(|r| {
            let mut row = r.clone();
            row.unit = format!("{}|{}", r.unit, r.seq);
            row.note = r.note.is_none().then(|| r.sensor.clone());
            row
        })
        .collect();
    let returned = repo.bulk_upsert_returning(&again).await.unwrap();
    assert_eq!(stored(returned), stored(again.clone()));
    assert_eq!(
        stored(repo.find_all(Filter::all()).await.unwrap()),
        stored(again)
    );
    assert_eq!(
        repo.count(Filter::all()).await.unwrap(),
        hostile.len() as u64
    );
}

/// Column names holding the words a bulk statement's text is built around.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "odd_names", unique(code))]
pub struct OddNames {
    #[repo(primary_key)]
    pub code: String,
    #[repo(column = "a RETURNING b")]
    pub returning: i64,
    #[repo(column = "c ON CONFLICT d")]
    pub conflict: i64,
}

// Not on MariaDB yet: its rewriting of generated SQL cuts the text at these words too.
#[tokio::test]
async fn column_names_holding_sql_words_sqlite() {
    column_names_holding_sql_words_are_written_and_read(repo_tests::sqlite("odd_names").await)
        .await;
}

#[tokio::test]
async fn column_names_holding_sql_words_postgres() {
    column_names_holding_sql_words_are_written_and_read(repo_tests::postgres("odd_names").await)
        .await;
}

async fn column_names_holding_sql_words_are_written_and_read(db: Db) {
    db.create_schema::<OddNames>().await.unwrap();
    let repo = OddNamesRepository::new(&db);
    let rows: Vec<OddNames> = (0..25)
        .map(|i| OddNames {
            code: format!("c{i:02}"),
            returning: i,
            conflict: -i,
        })
        .collect();
    assert_eq!(repo.bulk_insert(&rows).await.unwrap(), 25);
    let changed: Vec<OddNames> = rows
        .iter()
        .map(|r| OddNames {
            returning: r.returning * 10,
            ..r.clone()
        })
        .collect();
    let mut returned = repo.bulk_upsert_returning(&changed).await.unwrap();
    returned.sort_by(|a, b| a.code.cmp(&b.code));
    assert_eq!(returned, changed);
    let mut stored = repo.find_all(Filter::all()).await.unwrap();
    stored.sort_by(|a, b| a.code.cmp(&b.code));
    assert_eq!(stored, changed);
}

/// A generated key and a unique key: on MariaDB a bulk upsert binds the key once more a row.
#[derive(Debug, Clone, Repository)]
#[repo(table = "cut_samples", unique(code))]
struct Sample {
    #[repo(primary_key, auto)]
    id: i64,
    code: String,
    value: f64,
    note: Option<String>,
}

/// An array column: PostgreSQL binds rows of placeholders, under its bind limit.
#[derive(Debug, Clone, Repository)]
#[repo(table = "cut_vectors")]
struct Vector {
    #[repo(primary_key)]
    key: i64,
    embedding: Option<Vec<f32>>,
}

/// The INSERT statements into `table` among `sent`: the rows each wrote.
fn rows_written(sent: &[repo_tests::sent::Statement], table: &str) -> Vec<u64> {
    sent.iter()
        .filter(|s| s.sql.contains("INSERT INTO") && s.sql.contains(table))
        .map(|s| s.rows_affected)
        .collect()
}

/// `rows_per_statement` is how many rows one bulk statement carries, as the driver reports
/// what the database wrote: a batch of one row more goes as two statements, of that many
/// rows and of one, for inserts and upserts, with and without array binding.
async fn rows_per_statement_is_how_a_batch_is_cut(db: Db) {
    // Other tests run statements meanwhile, but none on these tables.
    let recording = repo_tests::sent::record().await;
    db.create_schema::<Sample>().await.unwrap();
    db.create_schema::<Vector>().await.unwrap();
    let samples = SampleRepository::new(&db);
    let vectors = VectorRepository::new(&db);
    let sample = |i: usize| Sample {
        id: 0,
        code: format!("c{i}"),
        value: i as f64,
        note: i.is_multiple_of(2).then(|| format!("n{i}")),
    };
    let vector = |i: usize| Vector {
        key: i as i64,
        embedding: Some(vec![i as f32, 0.5]),
    };
    let limit = db.backend().max_bind_parameters();
    let (insert, upsert) = (
        samples.rows_per_statement(BulkWrite::Insert),
        samples.rows_per_statement(BulkWrite::Upsert),
    );
    match db.backend() {
        Backend::Postgres => assert_eq!((insert, upsert), (10_000, 10_000)),
        Backend::MySql => assert_eq!((insert, upsert), (limit / 3, limit / 4)),
        _ => assert_eq!((insert, upsert), (limit / 3, limit / 3)),
    }
    assert_eq!(vectors.rows_per_statement(BulkWrite::Insert), limit / 2);

    recording.clear();
    let n = insert + 1;
    let batch: Vec<Sample> = (0..n).map(sample).collect();
    assert_eq!(samples.bulk_insert(&batch).await.unwrap(), n as u64);
    let sent = recording.take();
    assert_eq!(rows_written(&sent, "cut_samples"), [insert as u64, 1]);

    // An upsert of new codes after them: every row is an insert, however the database counts.
    let n = upsert + 1;
    let batch: Vec<Sample> = (insert + 1..insert + 1 + n).map(sample).collect();
    assert_eq!(samples.bulk_upsert(&batch).await.unwrap(), n as u64);
    assert_eq!(
        rows_written(&recording.take(), "cut_samples"),
        [upsert as u64, 1]
    );
    assert_eq!(
        samples.count(Filter::all()).await.unwrap(),
        (insert + 1 + upsert + 1) as u64
    );

    let (insert, upsert) = (
        vectors.rows_per_statement(BulkWrite::Insert),
        vectors.rows_per_statement(BulkWrite::Upsert),
    );
    let batch: Vec<Vector> = (0..=insert).map(vector).collect();
    assert_eq!(
        vectors.bulk_insert(&batch).await.unwrap(),
        (insert + 1) as u64
    );
    assert_eq!(
        rows_written(&recording.take(), "cut_vectors"),
        [insert as u64, 1]
    );
    let batch: Vec<Vector> = (insert + 1..=insert + 1 + upsert).map(vector).collect();
    assert_eq!(
        vectors.bulk_upsert(&batch).await.unwrap(),
        (upsert + 1) as u64
    );
    assert_eq!(
        rows_written(&recording.take(), "cut_vectors"),
        [upsert as u64, 1]
    );
    assert_eq!(
        vectors.count(Filter::all()).await.unwrap(),
        (insert + 1 + upsert + 1) as u64
    );
}
