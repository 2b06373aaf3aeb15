//! Conflict actions of upserts (keep, add, greatest, least, replace), declared on the entity
//! and given per call, single and bulk, on every backend: asserted on the rows read back.

use repo_core::prelude::*;
use repo_core::{Conflict, Error};

repo_tests::on_every_backend!(
    declared_actions_on_single_upserts,
    declared_actions_on_bulk_upserts,
    per_call_actions_override_the_declared_ones,
    per_call_actions_on_an_entity_without_declared_ones,
    versions_and_soft_deleted_rows_with_actions,
    concurrent_adds_lose_no_increment,
    a_failing_row_writes_nothing,
    per_call_actions_on_keys_are_refused,
    actions_where_the_conflict_key_is_not_a_generated_key,
);

/// Every declared action; `code` is a second unique key, so a row can fail on it.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "tallies", unique(name))]
pub struct Tally {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub name: String,
    #[repo(unique)]
    pub code: String,
    #[repo(on_conflict = "add")]
    pub hits: i64,
    #[repo(on_conflict = "greatest")]
    pub peak: Option<i64>,
    #[repo(on_conflict = "least")]
    pub low: Option<i64>,
    #[repo(on_conflict = "keep")]
    pub first_note: Option<String>,
    pub note: Option<String>,
    #[repo(on_conflict = "greatest")]
    pub last_seen: DateTime<Utc>,
}

/// No declared action, and a key the application supplies.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "hits")]
pub struct Hit {
    #[repo(primary_key)]
    pub key: i64,
    pub count: i64,
    pub best: Option<i32>,
    pub note: Option<String>,
}

/// Actions next to a version and a soft-delete column.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "visits", unique(path))]
pub struct Visit {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub path: String,
    #[repo(on_conflict = "add")]
    pub count: i64,
    #[repo(on_conflict = "keep")]
    pub first_referrer: Option<String>,
    #[repo(version)]
    pub version: i64,
    #[repo(soft_delete)]
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A supplied primary key and another conflict key: on MariaDB the upsert is `INSERT …
/// SELECT`, and the primary key of a different row can clash.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "stocks", unique(code))]
pub struct Stock {
    #[repo(primary_key)]
    pub id: i64,
    pub code: String,
    #[repo(on_conflict = "add")]
    pub quantity: i64,
    #[repo(on_conflict = "least")]
    pub price: Option<f64>,
}

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap()
}

fn tally(name: &str, hits: i64, peak: Option<i64>, low: Option<i64>, note: &str) -> Tally {
    Tally {
        id: 0,
        name: name.into(),
        code: format!("c-{name}"),
        hits,
        peak,
        low,
        first_note: Some(note.into()),
        note: Some(note.into()),
        last_seen: at(hits),
    }
}

async fn stored_tally(db: &Db, name: &str) -> Tally {
    TallyRepository::new(db)
        .find_one(Tally::NAME.eq(name))
        .await
        .unwrap()
        .expect("the row is there")
}

/// What a test compares of a tally: hits, peak, low, first note, note, last seen (seconds).
type Columns<'a> = (
    i64,
    Option<i64>,
    Option<i64>,
    Option<&'a str>,
    Option<&'a str>,
    i64,
);

/// Every column but the generated key and the codes.
fn columns(t: &Tally) -> Columns<'_> {
    (
        t.hits,
        t.peak,
        t.low,
        t.first_note.as_deref(),
        t.note.as_deref(),
        t.last_seen.timestamp() - 1_700_000_000,
    )
}

async fn declared_actions_on_single_upserts(db: Db) {
    db.create_schema::<Tally>().await.unwrap();
    let repo = TallyRepository::new(&db);
    let first = repo
        .upsert(&tally("a", 5, None, Some(5), "one"))
        .await
        .unwrap();
    assert_eq!(
        columns(&first),
        (5, None, Some(5), Some("one"), Some("one"), 5)
    );

    // add; greatest over a NULL takes the incoming value; least ignores an incoming NULL;
    // keep keeps; replace replaces (with NULL too); an earlier time leaves the later one.
    let mut second = tally("a", 2, Some(3), None, "two");
    second.note = None;
    let returned = repo.upsert(&second).await.unwrap();
    let stored = stored_tally(&db, "a").await;
    assert_eq!(returned, stored);
    assert_eq!(
        columns(&stored),
        (7, Some(3), Some(5), Some("one"), None, 5)
    );
    assert_eq!(stored.id, first.id);

    // The greater and the lesser of two values.
    repo.upsert(&tally("a", 9, Some(1), Some(2), "three"))
        .await
        .unwrap();
    let stored = stored_tally(&db, "a").await;
    assert_eq!(
        columns(&stored),
        (16, Some(3), Some(2), Some("one"), Some("three"), 9)
    );

    // Both sides NULL stay NULL.
    repo.upsert(&tally("b", 1, None, None, "b")).await.unwrap();
    repo.upsert(&tally("b", 1, None, None, "b")).await.unwrap();
    let stored = stored_tally(&db, "b").await;
    assert_eq!(columns(&stored), (2, None, None, Some("b"), Some("b"), 1));
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 2);
}

async fn declared_actions_on_bulk_upserts(db: Db) {
    db.create_schema::<Tally>().await.unwrap();
    let repo = TallyRepository::new(&db);
    let rows: Vec<Tally> = (0..300)
        .map(|i| tally(&format!("k{i:03}"), 1, None, Some(i), "first"))
        .collect();
    assert_eq!(repo.bulk_upsert(&rows).await.unwrap(), 300);

    // Again, shuffled, with a duplicate key in the batch: the last of the two is written once.
    let mut again: Vec<Tally> = (0..300)
        .rev()
        .map(|i| tally(&format!("k{i:03}"), 2, Some(i), Some(1000), "second"))
        .collect();
    again.push(tally("k007", 10, Some(70), Some(0), "last"));
    assert_eq!(repo.bulk_upsert(&again).await.unwrap(), 300);
    for i in [0_i64, 6, 299] {
        let stored = stored_tally(&db, &format!("k{i:03}")).await;
        assert_eq!(
            columns(&stored),
            (3, Some(i), Some(i), Some("first"), Some("second"), 2)
        );
    }
    let seven = stored_tally(&db, "k007").await;
    assert_eq!(
        columns(&seven),
        (11, Some(70), Some(0), Some("first"), Some("last"), 10)
    );

    // Returning the stored rows, actions applied.
    let returned = repo
        .bulk_upsert_returning(&[tally("k001", 4, Some(-1), None, "x")])
        .await
        .unwrap();
    assert_eq!(returned.len(), 1);
    assert_eq!(
        columns(&returned[0]),
        (7, Some(1), Some(1), Some("first"), Some("x"), 4)
    );
    assert_eq!(returned[0], stored_tally(&db, "k001").await);
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 300);
}

async fn per_call_actions_override_the_declared_ones(db: Db) {
    db.create_schema::<Tally>().await.unwrap();
    let repo = TallyRepository::new(&db);
    repo.upsert(&tally("a", 5, Some(5), Some(5), "one"))
        .await
        .unwrap();
    // hits replaced instead of added, peak the least, note kept; the others as declared.
    let conflict = || {
        Conflict::new()
            .replace(Tally::HITS)
            .least(Tally::PEAK)
            .keep(Tally::NOTE)
    };
    let returned = repo
        .upsert_with(&tally("a", 2, Some(3), Some(9), "two"), conflict())
        .await
        .unwrap();
    let stored = stored_tally(&db, "a").await;
    assert_eq!(returned, stored);
    assert_eq!(
        columns(&stored),
        (2, Some(3), Some(5), Some("one"), Some("one"), 5)
    );

    // The same in bulk.
    let rows: Vec<Tally> = (0..200)
        .map(|i| tally(&format!("k{i:03}"), 4, Some(i), Some(i), "one"))
        .collect();
    repo.bulk_upsert(&rows).await.unwrap();
    let again: Vec<Tally> = (0..200)
        .map(|i| tally(&format!("k{i:03}"), 1, Some(100), Some(100), "two"))
        .collect();
    assert_eq!(
        repo.bulk_upsert_with(&again, conflict()).await.unwrap(),
        200
    );
    let stored = stored_tally(&db, "k150").await;
    assert_eq!(
        columns(&stored),
        (1, Some(100), Some(100), Some("one"), Some("one"), 4)
    );
    let stored = stored_tally(&db, "k020").await;
    assert_eq!(
        columns(&stored),
        (1, Some(20), Some(20), Some("one"), Some("one"), 4)
    );

    // An empty override is the declared behaviour.
    let returned = repo
        .bulk_upsert_returning_with(&[tally("k020", 3, None, None, "x")], Conflict::new())
        .await
        .unwrap();
    assert_eq!(
        columns(&returned[0]),
        (4, Some(20), Some(20), Some("one"), Some("x"), 4)
    );
    // Per-call actions leave the declared statements alone.
    repo.upsert(&tally("a", 1, None, None, "three"))
        .await
        .unwrap();
    let stored = stored_tally(&db, "a").await;
    assert_eq!(
        columns(&stored),
        (3, Some(3), Some(5), Some("one"), Some("three"), 5)
    );
}

fn hit(key: i64, count: i64, best: Option<i32>, note: Option<&str>) -> Hit {
    Hit {
        key,
        count,
        best,
        note: note.map(Into::into),
    }
}

async fn per_call_actions_on_an_entity_without_declared_ones(db: Db) {
    db.create_schema::<Hit>().await.unwrap();
    let repo = HitRepository::new(&db);
    let conflict = || {
        Conflict::new()
            .add(Hit::COUNT)
            .greatest(Hit::BEST)
            .keep(Hit::NOTE)
    };
    repo.upsert_with(&hit(1, 1, None, Some("a")), conflict())
        .await
        .unwrap();
    let stored = repo
        .upsert_with(&hit(1, 2, Some(4), Some("b")), conflict())
        .await
        .unwrap();
    assert_eq!(stored, hit(1, 3, Some(4), Some("a")));
    let stored = repo
        .upsert_with(&hit(1, 2, None, None), conflict())
        .await
        .unwrap();
    assert_eq!(stored, hit(1, 5, Some(4), Some("a")));
    assert_eq!(
        repo.find_by_id(1_i64).await.unwrap(),
        Some(hit(1, 5, Some(4), Some("a")))
    );

    // Without an override, the upsert replaces as ever.
    repo.upsert(&hit(1, 1, None, None)).await.unwrap();
    assert_eq!(
        repo.find_by_id(1_i64).await.unwrap(),
        Some(hit(1, 1, None, None))
    );

    // In bulk: NULL counts add as nothing, both NULL stays NULL.
    let rows = [hit(2, 1, None, None), hit(3, 1, Some(1), Some("x"))];
    assert_eq!(repo.bulk_upsert_with(&rows, conflict()).await.unwrap(), 2);
    let rows = [hit(2, 1, None, Some("y")), hit(3, 1, Some(0), Some("y"))];
    let mut returned = repo
        .bulk_upsert_returning_with(&rows, conflict())
        .await
        .unwrap();
    returned.sort_by_key(|h| h.key);
    assert_eq!(
        returned,
        [hit(2, 2, None, None), hit(3, 2, Some(1), Some("x"))]
    );
    assert_eq!(
        repo.find_by_id(2_i64).await.unwrap(),
        Some(hit(2, 2, None, None))
    );

    // Over several statements: full chunks and the last one are built for this call.
    let per_chunk = repo.rows_per_statement(BulkWrite::Upsert);
    let rows: Vec<Hit> = (0..(2 * per_chunk + 3) as i64)
        .map(|i| hit(1000 + i, i, Some(1), None))
        .collect();
    for _ in 0..2 {
        let written = repo.bulk_upsert_with(&rows, conflict()).await.unwrap();
        assert_eq!(written, rows.len() as u64);
    }
    assert_eq!(
        repo.count(Hit::KEY.gte(1000_i64)).await.unwrap(),
        rows.len() as u64
    );
    let mut wrong = repo
        .find_all(Hit::KEY.gte(1000_i64))
        .await
        .unwrap()
        .into_iter()
        .filter(|h| h.count != 2 * (h.key - 1000));
    assert_eq!(wrong.next(), None);
}

fn visit(path: &str, count: i64, referrer: &str, version: i64) -> Visit {
    Visit {
        id: 0,
        path: path.into(),
        count,
        first_referrer: Some(referrer.into()),
        version,
        deleted_at: None,
    }
}

async fn versions_and_soft_deleted_rows_with_actions(db: Db) {
    db.create_schema::<Visit>().await.unwrap();
    let repo = VisitRepository::new(&db);
    assert_eq!(
        repo.bulk_upsert(&[visit("/a", 1, "x", 0), visit("/b", 1, "x", 0)])
            .await
            .unwrap(),
        2
    );
    // Bulk upserts add 1 to the version, without checking it.
    repo.bulk_upsert(&[visit("/a", 2, "y", 0)]).await.unwrap();
    let a = repo.find_one(Visit::PATH.eq("/a")).await.unwrap().unwrap();
    assert_eq!(
        (a.count, a.first_referrer.as_deref(), a.version),
        (3, Some("x"), 1)
    );

    // A single upsert checks the version the entity holds.
    let stale = repo.upsert(&visit("/a", 5, "z", 0)).await.unwrap_err();
    assert!(matches!(stale, Error::StaleVersion { .. }), "{stale:?}");
    let a = repo.upsert(&visit("/a", 5, "z", 1)).await.unwrap();
    assert_eq!(
        (a.count, a.first_referrer.as_deref(), a.version),
        (8, Some("x"), 2)
    );

    // A soft-deleted row is revived with the incoming values: nothing to add to or keep.
    assert!(repo.delete(a.id).await.unwrap());
    let revived = repo
        .upsert_with(&visit("/a", 4, "w", 0), Conflict::new().add(Visit::COUNT))
        .await
        .unwrap();
    assert_eq!(
        (
            revived.id,
            revived.count,
            revived.first_referrer.as_deref(),
            revived.deleted_at
        ),
        (a.id, 4, Some("w"), None)
    );
    let b = repo.find_one(Visit::PATH.eq("/b")).await.unwrap().unwrap();
    assert!(repo.delete(b.id).await.unwrap());
    repo.bulk_upsert(&[visit("/b", 6, "v", 0), visit("/a", 1, "v", 0)])
        .await
        .unwrap();
    let b = repo.find_one(Visit::PATH.eq("/b")).await.unwrap().unwrap();
    assert_eq!((b.count, b.first_referrer.as_deref()), (6, Some("v")));
    let a = repo.find_one(Visit::PATH.eq("/a")).await.unwrap().unwrap();
    assert_eq!((a.count, a.first_referrer.as_deref()), (5, Some("w")));
    assert_eq!(repo.with_deleted().count(Filter::all()).await.unwrap(), 2);
}

async fn concurrent_adds_lose_no_increment(db: Db) {
    db.create_schema::<Hit>().await.unwrap();
    let keys = 200_i64;
    let mut tasks = Vec::new();
    for writer in 0..16_i64 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            // A permutation of 0..keys of the writer's own (multiplier coprime with 200).
            let step =
                [1, 3, 7, 9, 11, 13, 17, 19, 21, 23, 27, 29, 31, 33, 37, 39][writer as usize];
            let batch: Vec<Hit> = (0..keys)
                .map(|i| (i * step + writer * 13) % keys)
                .map(|key| hit(key, 1, None, None))
                .collect();
            let repo = HitRepository::new(&db);
            let mut attempts = 0;
            loop {
                match repo
                    .bulk_upsert_with(&batch, Conflict::new().add(Hit::COUNT))
                    .await
                {
                    Err(error) if error.is_retryable() && attempts < 5 => attempts += 1,
                    other => break other,
                }
            }
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().expect("every batch written"), 200);
    }
    let rows = HitRepository::new(&db)
        .find_all(Filter::all())
        .await
        .unwrap();
    assert_eq!(rows.len(), keys as usize);
    assert!(
        rows.iter().all(|h| h.count == 16),
        "lost increments: {:?}",
        rows.iter().filter(|h| h.count != 16).collect::<Vec<_>>()
    );
}

async fn a_failing_row_writes_nothing(db: Db) {
    db.create_schema::<Tally>().await.unwrap();
    let repo = TallyRepository::new(&db);
    let rows: Vec<Tally> = (0..10)
        .map(|i| tally(&format!("k{i}"), 1, Some(i), Some(i), "one"))
        .collect();
    repo.bulk_upsert(&rows).await.unwrap();
    let before = repo.find_all(Filter::all()).await.unwrap();

    // A new row in the middle (by key order) whose second unique key is another row's.
    let mut again: Vec<Tally> = (0..10)
        .map(|i| tally(&format!("k{i}"), 1, Some(100), Some(-1), "two"))
        .collect();
    let mut clash = tally("k4x", 1, None, None, "clash");
    clash.code = "c-k0".into();
    again.insert(5, clash);
    for conflict in [None, Some(Conflict::new().least(Tally::PEAK))] {
        let error = match conflict {
            None => repo.bulk_upsert(&again).await.unwrap_err(),
            Some(conflict) => repo.bulk_upsert_with(&again, conflict).await.unwrap_err(),
        };
        assert!(error.is_conflict(), "{error:?}");
        assert_eq!(repo.find_all(Filter::all()).await.unwrap(), before);
    }
    let error = repo
        .upsert_with(&again[5], Conflict::new().keep(Tally::CODE))
        .await
        .unwrap_err();
    assert!(error.is_conflict(), "{error:?}");
    assert_eq!(repo.find_all(Filter::all()).await.unwrap(), before);
}

async fn per_call_actions_on_keys_are_refused(db: Db) {
    db.create_schema::<Visit>().await.unwrap();
    let repo = VisitRepository::new(&db);
    let row = visit("/a", 1, "x", 0);
    let refused = [
        Conflict::new().keep(Visit::PATH),
        Conflict::new().keep(Visit::ID),
        Conflict::new().add(Visit::VERSION),
        Conflict::new().keep(Visit::DELETED_AT),
    ];
    for conflict in refused {
        let error = repo
            .bulk_upsert_with(std::slice::from_ref(&row), conflict.clone())
            .await
            .unwrap_err();
        assert!(error.is_validation(), "{error:?}");
        let error = repo.upsert_with(&row, conflict).await.unwrap_err();
        assert!(error.is_validation(), "{error:?}");
    }
    assert_eq!(repo.with_deleted().count(Filter::all()).await.unwrap(), 0);
}

fn stock(id: i64, code: &str, quantity: i64, price: Option<f64>) -> Stock {
    Stock {
        id,
        code: code.into(),
        quantity,
        price,
    }
}

async fn actions_where_the_conflict_key_is_not_a_generated_key(db: Db) {
    db.create_schema::<Stock>().await.unwrap();
    let repo = StockRepository::new(&db);
    repo.bulk_upsert(&[stock(1, "a", 5, Some(2.5)), stock(2, "b", 1, None)])
        .await
        .unwrap();
    // The existing row of each code is updated, whatever primary key the incoming row holds.
    let stored = repo.upsert(&stock(9, "a", 3, Some(4.0))).await.unwrap();
    assert_eq!(stored, stock(1, "a", 8, Some(2.5)));
    repo.bulk_upsert(&[stock(7, "b", 2, Some(1.5)), stock(3, "c", 1, None)])
        .await
        .unwrap();
    let mut rows = repo.find_all(Filter::all()).await.unwrap();
    rows.sort_by_key(|s| s.id);
    assert_eq!(
        rows,
        [
            stock(1, "a", 8, Some(2.5)),
            stock(2, "b", 3, Some(1.5)),
            stock(3, "c", 1, None)
        ]
    );
    let stored = repo
        .upsert_with(
            &stock(0, "c", 4, Some(9.0)),
            Conflict::new().replace(Stock::QUANTITY),
        )
        .await
        .unwrap();
    assert_eq!(stored, stock(3, "c", 4, Some(9.0)));

    // A new code on the primary key of another row is a conflict, and nothing is written.
    let error = repo
        .bulk_upsert_with(
            &[stock(2, "d", 1, None), stock(1, "a", 1, None)],
            Conflict::new().keep(Stock::PRICE),
        )
        .await
        .unwrap_err();
    assert!(error.is_conflict(), "{error:?}");
    assert_eq!(
        repo.find_by_id(1_i64).await.unwrap(),
        Some(stock(1, "a", 8, Some(2.5)))
    );
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 3);
}
