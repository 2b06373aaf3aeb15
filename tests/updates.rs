//! Updates that return rows, guarded updates and claims, on every backend: with `UPDATE …
//! RETURNING` where the backend has it, else locked, updated by key and read back in one
//! transaction. Every assertion reads the rows back.

use std::collections::BTreeMap;

use repo_core::Guarded;
use repo_core::prelude::*;
use repo_tests::entities::*;

repo_tests::on_every_backend!(
    fetch_updated_returns_the_rows_as_stored,
    fetch_updated_in_a_session_is_undone_with_it,
    guarded_updates_say_what_happened,
    concurrent_claims_never_share_a_row,
    concurrent_guarded_updates_let_exactly_one_win,
);

async fn seed(db: &Db, n: i64) -> Vec<Score> {
    db.create_schema::<Score>().await.unwrap();
    let repo = ScoreRepository::new(db);
    let rows: Vec<Score> = (0..n)
        .map(|i| Score {
            id: 0,
            player: format!("p{i}"),
            score: i % 10,
        })
        .collect();
    repo.bulk_insert(&rows).await.unwrap();
    repo.find_all(Filter::all()).await.unwrap()
}

fn by_id(rows: Vec<Score>) -> BTreeMap<i64, Score> {
    rows.into_iter().map(|row| (row.id, row)).collect()
}

async fn fetch_updated_returns_the_rows_as_stored(db: Db) {
    let before = by_id(seed(&db, 40).await);
    let repo = ScoreRepository::new(&db);

    let mut update = repo.update_returning();
    update
        .value(Score::SCORE, Score::SCORE.expr().add(100))
        .value(Score::PLAYER, "raised")
        .cond_where(repo.condition(Score::SCORE.lt(3)));
    let changed = by_id(repo.fetch_updated(update).await.unwrap());

    let expected: Vec<i64> = before
        .values()
        .filter(|s| s.score < 3)
        .map(|s| s.id)
        .collect();
    assert_eq!(changed.keys().copied().collect::<Vec<_>>(), expected);
    let stored = by_id(repo.find_all(Filter::all()).await.unwrap());
    for (id, row) in &changed {
        assert_eq!(row.score, before[id].score + 100);
        assert_eq!(row.player, "raised");
        assert_eq!(&stored[id], row, "returned as stored");
    }
    for (id, row) in &stored {
        if !changed.contains_key(id) {
            assert_eq!(row, &before[id], "rows outside the condition are untouched");
        }
    }

    // No row matches: nothing returned, nothing written.
    let mut update = repo.update_returning();
    update
        .value(Score::PLAYER, "nobody")
        .cond_where(repo.condition(Score::SCORE.gt(1_000)));
    assert!(repo.fetch_updated(update).await.unwrap().is_empty());
    assert_eq!(by_id(repo.find_all(Filter::all()).await.unwrap()), stored);

    // One row by key.
    let first = *stored.keys().next().unwrap();
    let mut update = repo.update_returning();
    update
        .value(Score::SCORE, 7)
        .cond_where(repo.condition(Score::ID.eq(first)));
    let one = repo.fetch_updated_one(update).await.unwrap().unwrap();
    assert_eq!(one.score, 7);
    assert_eq!(repo.get(first).await.unwrap(), one);
}

async fn fetch_updated_in_a_session_is_undone_with_it(db: Db) {
    let before = seed(&db, 10).await;
    {
        let session = db.begin().await.unwrap();
        let repo = ScoreRepository::new(&session);
        let mut update = repo.update_returning();
        update
            .value(Score::PLAYER, "changed")
            .cond_where(repo.condition(Filter::all()));
        assert_eq!(repo.fetch_updated(update).await.unwrap().len(), 10);
        // A statement that fails in the middle of the unit of work.
        let bad = repo
            .fetch_entities_statement(repo_core::Statement::new(
                "SELECT no_such_column FROM scores",
                vec![],
            ))
            .await;
        assert!(bad.is_err());
        session.rollback().await.unwrap();
    }
    let repo = ScoreRepository::new(&db);
    assert_eq!(repo.find_all(Filter::all()).await.unwrap(), before);

    let session = db.begin().await.unwrap();
    let in_session = ScoreRepository::new(&session);
    let mut update = in_session.update_returning();
    update
        .value(Score::PLAYER, "committed")
        .cond_where(in_session.condition(Score::SCORE.eq(1)));
    let changed = in_session.fetch_updated(update).await.unwrap();
    assert_eq!(changed.len(), 1);
    session.commit().await.unwrap();
    assert_eq!(
        repo.find_all(Score::PLAYER.eq("committed")).await.unwrap(),
        changed
    );
}

async fn guarded_updates_say_what_happened(db: Db) {
    let rows = seed(&db, 3).await;
    let repo = ScoreRepository::new(&db);
    let target = rows[1].clone();
    let raise = |id: i64| {
        let mut update = repo.update_returning();
        update
            .value(Score::SCORE, Score::SCORE.expr().add(50))
            .cond_where(repo.condition(Score::ID.eq(id)));
        update
    };

    match repo
        .update_guarded(raise(target.id), Score::SCORE.lt(50))
        .await
        .unwrap()
    {
        Guarded::Updated(row) => assert_eq!(row.score, target.score + 50),
        other => panic!("expected Updated, got {other:?}"),
    }
    // Now the guard no longer holds: refused, and the row as it is comes back unchanged.
    let stored = repo.get(target.id).await.unwrap();
    match repo
        .update_guarded(raise(target.id), Score::SCORE.lt(50))
        .await
        .unwrap()
    {
        Guarded::Refused(row) => assert_eq!(row, stored),
        other => panic!("expected Refused, got {other:?}"),
    }
    assert_eq!(repo.get(target.id).await.unwrap(), stored);
    assert_eq!(
        repo.update_guarded(raise(-1), Score::SCORE.lt(50))
            .await
            .unwrap(),
        Guarded::Missing
    );
}

/// 16 tasks claim from one pool of rows until none is left: every row is claimed by exactly
/// one task, and each claimed row carries its claimer's name.
async fn concurrent_claims_never_share_a_row(db: Db) {
    let rows = seed(&db, 400).await;
    let mut tasks = Vec::new();
    for worker in 0..16 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let repo = ScoreRepository::new(&db);
            let name = format!("worker-{worker}");
            let mut claimed = Vec::new();
            loop {
                let mut update = repo.update_returning();
                update
                    .value(Score::PLAYER, name.as_str())
                    .cond_where(repo.condition(Score::PLAYER.starts_with("p")));
                let batch = repo.claim(update, 7).await.expect("a claim");
                if batch.is_empty() {
                    break;
                }
                assert!(batch.len() <= 7);
                claimed.extend(batch.into_iter().map(|row| (row.id, row.player)));
            }
            (name, claimed)
        }));
    }
    let mut owner: BTreeMap<i64, String> = BTreeMap::new();
    for task in tasks {
        let (name, claimed) = task.await.unwrap();
        for (id, player) in claimed {
            assert_eq!(player, name, "a claimed row comes back as claimed");
            assert!(
                owner.insert(id, name.clone()).is_none(),
                "row {id} claimed twice"
            );
        }
    }
    assert_eq!(owner.len(), rows.len(), "every row claimed");
    let repo = ScoreRepository::new(&db);
    let stored = repo.find_all(Filter::all()).await.unwrap();
    for row in stored {
        assert_eq!(owner[&row.id], row.player, "stored claimer of {}", row.id);
    }

    // Claims take the lowest keys first.
    let mut update = repo.update_returning();
    update
        .value(Score::PLAYER, "again")
        .cond_where(repo.condition(Filter::all()));
    let mut first = repo.claim(update, 3).await.unwrap();
    first.sort_by_key(|row| row.id);
    let lowest: Vec<i64> = repo
        .find(Filter::all(), PageRequest::new(3).order_by(Score::ID.asc()))
        .await
        .unwrap()
        .items
        .iter()
        .map(|row| row.id)
        .collect();
    assert_eq!(first.iter().map(|row| row.id).collect::<Vec<_>>(), lowest);
}

/// 16 tasks try the same guarded transition at once: exactly one is applied.
async fn concurrent_guarded_updates_let_exactly_one_win(db: Db) {
    let rows = seed(&db, 1).await;
    let id = rows[0].id;
    let mut tasks = Vec::new();
    for worker in 0..16_i64 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let repo = ScoreRepository::new(&db);
            let mut update = repo.update_returning();
            update
                .value(Score::SCORE, 1_000 + worker)
                .cond_where(repo.condition(Score::ID.eq(id)));
            repo.update_guarded(update, Score::SCORE.lt(1_000))
                .await
                .expect("a guarded update")
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Guarded::Updated(row) => winners.push(row),
            Guarded::Refused(row) => assert!(row.score >= 1_000),
            Guarded::Missing => panic!("the row exists"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let stored = ScoreRepository::new(&db).get(id).await.unwrap();
    assert_eq!(stored, winners[0]);
}
