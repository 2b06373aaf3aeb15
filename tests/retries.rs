//! Units of work that meet a deadlock, a serialization failure or a busy database run again
//! (`Db::transaction`), and finish with every effect applied once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use repo_core::prelude::*;
use repo_core::{Isolation, RetryPolicy, TransactionOptions};
use repo_tests::entities::*;
use tokio::sync::Barrier;

repo_tests::on_every_backend!(errors_that_are_not_retryable_return_at_once);

/// Deadlocks need row locks taken one by one: PostgreSQL and MariaDB.
mod deadlocks_are_retried_to_success {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let db = repo_tests::postgres("deadlocks_are_retried_to_success").await;
        super::deadlocks_are_retried_to_success(db).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mysql() {
        let db = repo_tests::mysql("deadlocks_are_retried_to_success").await;
        super::deadlocks_are_retried_to_success(db).await;
    }
}

/// SQLite takes the write lock as a unit of work begins: contention is a busy database.
mod busy_database_is_retried_to_success {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        let options =
            repo_core::DbOptions::new().busy_timeout(std::time::Duration::from_millis(20));
        super::busy_sqlite_is_retried_to_success(options, "busy_database_is_retried_to_success")
            .await;
    }
}

/// REPEATABLE READ raises serialization failures on PostgreSQL (MariaDB waits instead).
mod serialization_failures_are_retried {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        let db = repo_tests::postgres("serialization_failures_are_retried").await;
        super::serialization_failures_are_retried(db).await;
    }
}

async fn two_scores(db: &Db) -> (i64, i64) {
    db.create_schema::<Score>().await.unwrap();
    let repo = ScoreRepository::new(db);
    let a = repo
        .insert(&Score {
            id: 0,
            player: "a".into(),
            score: 0,
        })
        .await
        .unwrap();
    let b = repo
        .insert(&Score {
            id: 0,
            player: "b".into(),
            score: 0,
        })
        .await
        .unwrap();
    (a.id, b.id)
}

async fn bump(session: &Session, id: i64) -> repo_core::Result<usize> {
    let repo = ScoreRepository::new(session);
    let mut update = repo.update_returning();
    update
        .value(Score::SCORE, Score::SCORE.expr().add(1))
        .cond_where(repo.condition(Score::ID.eq(id)));
    Ok(repo.fetch_updated(update).await?.len())
}

/// Two units of work that lock the same two rows in opposite orders: a deadlock, and the
/// database fails one of them. Each finishes, one of them on a second run, and both rows carry
/// both increments.
async fn deadlocks_are_retried_to_success(db: Db) {
    let (a, b) = two_scores(&db).await;
    let barrier = Arc::new(Barrier::new(2));
    let attempts = Arc::new(AtomicU32::new(0));
    let side = |first: i64, second: i64| {
        let (db, barrier, attempts) = (db.clone(), barrier.clone(), attempts.clone());
        tokio::spawn(async move {
            let mut mine = 0;
            db.transaction(|session| {
                mine += 1;
                let (mine, barrier) = (mine, barrier.clone());
                attempts.fetch_add(1, Ordering::SeqCst);
                Box::pin(async move {
                    bump(session, first).await?;
                    if mine == 1 {
                        // Both hold their first row: each now wants the other's.
                        barrier.wait().await;
                    }
                    bump(session, second).await?;
                    Ok(mine)
                })
            })
            .await
        })
    };
    let (one, two) = (side(a, b), side(b, a));
    let one = one.await.unwrap().expect("side one finishes");
    let two = two.await.unwrap().expect("side two finishes");
    assert_eq!(
        one + two,
        3,
        "exactly one side ran again: {one} and {two} runs"
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    let repo = ScoreRepository::new(&db);
    assert_eq!(repo.get(a).await.unwrap().score, 2);
    assert_eq!(repo.get(b).await.unwrap().score, 2);
}

/// Two units of work on SQLite with a busy timeout shorter than the other's work: the one that
/// begins second finds the database locked. Without retries that is a retryable error; with
/// them both finish, and both rows carry both increments.
async fn busy_sqlite_is_retried_to_success(options: DbOptions, name: &str) {
    let db = repo_tests::sqlite_with(name, options).await;
    let (a, b) = two_scores(&db).await;
    let run = |policy: RetryPolicy| {
        let side = |first: i64, second: i64| {
            let db = db.clone();
            tokio::spawn(async move {
                db.transaction_with(TransactionOptions::new().retry(policy), |session| {
                    Box::pin(async move {
                        bump(session, first).await?;
                        // The session took the write lock as it began: hold it longer than the
                        // other's busy timeout.
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        bump(session, second).await
                    })
                })
                .await
            })
        };
        (side(a, b), side(b, a))
    };

    let (one, two) = run(RetryPolicy::never());
    let results = [one.await.unwrap(), two.await.unwrap()];
    let failed: Vec<&Error> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(failed.len(), 1, "{results:?}");
    assert!(failed[0].is_retryable(), "{:?}", failed[0]);
    let repo = ScoreRepository::new(&db);
    assert_eq!(repo.get(a).await.unwrap().score, 1, "only the winner wrote");

    let policy =
        RetryPolicy::attempts(30).delays(Duration::from_millis(20), Duration::from_millis(100));
    let (one, two) = run(policy);
    one.await.unwrap().expect("side one finishes");
    two.await.unwrap().expect("side two finishes");
    assert_eq!(repo.get(a).await.unwrap().score, 3);
    assert_eq!(repo.get(b).await.unwrap().score, 3);
}

/// Two REPEATABLE READ units of work read the same row, then both update it: the second
/// updater fails with a serialization failure (40001), is rolled back, and runs again.
async fn serialization_failures_are_retried(db: Db) {
    let (a, _) = two_scores(&db).await;
    let barrier = Arc::new(Barrier::new(2));
    let attempts = Arc::new(AtomicU32::new(0));
    let side = |points: i64| {
        let (db, barrier, attempts) = (db.clone(), barrier.clone(), attempts.clone());
        tokio::spawn(async move {
            let mut mine = 0;
            let options = TransactionOptions::new().isolation(Isolation::RepeatableRead);
            db.transaction_with(options, |session| {
                mine += 1;
                let (mine, barrier) = (mine, barrier.clone());
                attempts.fetch_add(1, Ordering::SeqCst);
                Box::pin(async move {
                    let repo = ScoreRepository::new(session);
                    let read = repo.get(a).await?;
                    if mine == 1 {
                        barrier.wait().await;
                    }
                    let mut row = read.clone();
                    row.score = read.score + points;
                    repo.update(&row).await?;
                    Ok(mine)
                })
            })
            .await
        })
    };
    let (one, two) = (side(1), side(10));
    let (one, two) = (one.await.unwrap().unwrap(), two.await.unwrap().unwrap());
    assert_eq!(one + two, 3, "exactly one side ran twice");
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    // Both increments landed: the retry read the other's committed value.
    assert_eq!(ScoreRepository::new(&db).get(a).await.unwrap().score, 11);
}

async fn errors_that_are_not_retryable_return_at_once(db: Db) {
    let (a, _) = two_scores(&db).await;
    let mut runs = 0;
    let result: repo_core::Result<()> = db
        .transaction(|session| {
            runs += 1;
            Box::pin(async move {
                bump(session, a).await?;
                Err(Error::validation("amount", "refused by the caller"))
            })
        })
        .await;
    assert!(
        matches!(result, Err(Error::Validation { .. })),
        "{result:?}"
    );
    assert_eq!(runs, 1);
    assert_eq!(
        ScoreRepository::new(&db).get(a).await.unwrap().score,
        0,
        "rolled back"
    );

    db.create_schema::<Account>().await.unwrap();
    let taken = Account {
        id: "taken".into(),
        email: "taken@x".into(),
        name: "t".into(),
        balance: 0,
    };
    AccountRepository::new(&db).insert(&taken).await.unwrap();
    let mut runs = 0;
    let conflict = db
        .transaction(|session| {
            runs += 1;
            let again = taken.clone();
            Box::pin(async move { AccountRepository::new(session).insert(&again).await })
        })
        .await;
    assert!(conflict.unwrap_err().is_conflict());
    assert_eq!(runs, 1);
}
