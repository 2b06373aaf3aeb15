//! Inserting new entities from their generated input types (`NewX`): the caller supplies the
//! fields it owns, the database generates the key and the repository sets the timestamps.

use std::fmt::Debug;

use repo_core::prelude::*;
use repo_core::repository::now;
use repo_tests::entities::*;

repo_tests::on_every_backend!(
    insert_new_returns_the_stored_row,
    bulk_insert_new_writes_every_row,
    bulk_insert_new_is_atomic,
    insert_new_without_generated_fields,
    insert_new_in_a_session_and_through_the_trait,
);

async fn insert_new_returns_the_stored_row(db: Db) {
    db.create_schema::<Widget>().await.unwrap();
    let repo = WidgetRepository::new(&db);
    let mut new = NewWidget::new("N-1");
    new.qty = 9;
    new.weight = Some(1.5);
    new.tags = Some(vec!["new".into()]);
    let before = now();
    let stored = repo.insert_new(new.clone()).await.unwrap();
    let after = now();

    assert!(stored.id > 0, "a generated key: {}", stored.id);
    assert!(stored.created_at >= before && stored.created_at <= after);
    assert_eq!(stored.updated_at, stored.created_at);
    let second = repo.insert_new(NewWidget::new("N-2")).await.unwrap();
    assert!(second.id > stored.id, "keys ascend");

    // Every field the caller supplied is stored as given.
    let expected = Widget {
        id: stored.id,
        created_at: stored.created_at,
        updated_at: stored.updated_at,
        ..Widget::from_new(new)
    };
    assert_eq!(stored, expected);
    assert_eq!(repo.get(stored.id).await.unwrap(), stored);
}

async fn bulk_insert_new_writes_every_row(db: Db) {
    db.create_schema::<Reading>().await.unwrap();
    let repo = ReadingRepository::new(&db);
    let new: Vec<NewReading> = (1..=5)
        .map(|seq| NewReading::new("s-1", seq, seq as f64 / 2.0))
        .collect();
    let before = now();
    assert_eq!(repo.bulk_insert_new(new.clone()).await.unwrap(), 5);
    assert_eq!(repo.bulk_insert_new(Vec::new()).await.unwrap(), 0);

    let mut stored = repo.find_all(Filter::all()).await.unwrap();
    stored.sort_by_key(|r| r.seq);
    assert_eq!(stored.len(), 5);
    for (row, new) in stored.iter().zip(new) {
        assert!(row.id > 0);
        assert!(row.created_at >= before);
        assert_eq!(row.updated_at, row.created_at);
        let expected = Reading {
            id: row.id,
            created_at: row.created_at,
            updated_at: row.updated_at,
            ..Reading::from_new(new)
        };
        assert_eq!(*row, expected);
    }
}

async fn bulk_insert_new_is_atomic(db: Db) {
    db.create_schema::<Widget>().await.unwrap();
    let repo = WidgetRepository::new(&db);
    // The third row repeats the unique `sku` of the first: nothing is written.
    let batch = ["B-1", "B-2", "B-1"].map(NewWidget::new);
    let error = repo.bulk_insert_new(batch).await.unwrap_err();
    assert!(matches!(error, Error::Conflict { .. }), "{error:?}");
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 0);
}

async fn insert_new_without_generated_fields(db: Db) {
    db.create_schema::<Account>().await.unwrap();
    db.create_schema::<Label>().await.unwrap();

    // No generated key and no timestamps: `NewAccount` has every field of `Account`.
    let new = NewAccount {
        id: "acc-1".into(),
        email: "ann@example.org".into(),
        name: "Ann".into(),
        balance: 120,
    };
    let account = Account {
        id: "acc-1".into(),
        email: "ann@example.org".into(),
        name: "Ann".into(),
        balance: 120,
    };
    assert_eq!(Account::from_new(new.clone()), account);
    let repo = AccountRepository::new(&db);
    assert_eq!(repo.insert_new(new).await.unwrap(), account);
    assert_eq!(repo.get("acc-1").await.unwrap(), account);

    // A key supplied by the application stays in the input; only `created_at` is left out.
    let repo = LabelRepository::new(&db);
    let before = now();
    let label = repo
        .insert_new(NewLabel {
            name: "red".into(),
            uses: 3,
        })
        .await
        .unwrap();
    assert_eq!((label.name.as_str(), label.uses), ("red", 3));
    assert!(label.created_at >= before);
    assert_eq!(repo.get("red").await.unwrap(), label);
}

/// Anything implementing the base operations inserts new entities.
async fn insert_through<R: BaseRepository<Score>>(repo: &R, player: &str, score: i64) -> Score {
    repo.insert_new(NewScore {
        player: player.into(),
        score,
    })
    .await
    .unwrap()
}

async fn insert_new_in_a_session_and_through_the_trait(db: Db) {
    db.create_schema::<Score>().await.unwrap();

    let session = db.begin().await.unwrap();
    let kept = insert_through(&ScoreRepository::new(&session), "ann", 10).await;
    session.commit().await.unwrap();

    let session = db.begin().await.unwrap();
    let dropped = insert_through(&ScoreRepository::new(&session), "bob", 20).await;
    session.rollback().await.unwrap();

    let repo = ScoreRepository::new(&db);
    assert_eq!(repo.get(kept.id).await.unwrap(), kept);
    assert!(repo.find_by_id(dropped.id).await.unwrap().is_none());
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 1);
}

/// The input types implement `Debug`, `Clone` and `PartialEq` when their field types do.
#[test]
fn input_types_implement_debug_clone_and_eq() {
    fn debug_clone_eq<T: Debug + Clone + PartialEq>() {}
    debug_clone_eq::<NewWidget>();
    debug_clone_eq::<NewReading>();
    debug_clone_eq::<NewAccount>();
    debug_clone_eq::<NewLabel>();
    debug_clone_eq::<NewScore>();

    let new = NewScore {
        player: "ann".into(),
        score: 1,
    };
    let score = Score::from_new(new.clone());
    assert_eq!((score.id, score.player, score.score), (0, new.player, 1));

    let reading = Reading::new("s", 1, 0.5);
    assert_eq!(reading.id, 0);
    assert_eq!(reading.created_at, DateTime::<Utc>::UNIX_EPOCH);
    assert_eq!(reading.updated_at, DateTime::<Utc>::UNIX_EPOCH);
}
