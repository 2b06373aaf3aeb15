//! Optimistic locking (`#[repo(version)]`) and soft delete (`#[repo(soft_delete)]`) on every
//! backend, each asserted on the rows the database holds afterwards.

use std::sync::Arc;

use futures_util::TryStreamExt as _;
use repo_core::prelude::*;
use repo_core::repository::now;
use repo_tests::entities::{
    Counter, CounterRepository, Document, DocumentRepository, Memo, MemoRepository, NewDocument,
};

repo_tests::on_every_backend!(
    two_sessions_updating_one_read_exactly_one_wins,
    sixteen_tasks_retrying_on_stale_versions_lose_no_update,
    stale_update_writes_nothing_and_missing_is_not_found,
    stale_delete_writes_nothing,
    stale_upsert_writes_nothing,
    stale_upsert_on_a_primary_key_with_an_i32_version,
    inserts_store_the_version_they_hold,
    update_where_adds_one_to_the_version_of_every_row_it_changes,
    bulk_upsert_adds_one_on_conflict,
    delete_marks_the_row_deleted_and_keeps_it,
    find_hides_deleted_rows,
    find_all_hides_deleted_rows,
    find_one_hides_deleted_rows,
    find_by_id_hides_deleted_rows,
    get_of_a_deleted_row_is_not_found,
    count_hides_deleted_rows,
    exists_hides_deleted_rows,
    stream_hides_deleted_rows,
    find_keyset_hides_deleted_rows,
    update_where_leaves_deleted_rows_alone,
    update_of_a_deleted_row_is_not_found,
    delete_where_leaves_deleted_rows_alone,
    with_deleted_and_only_deleted_views,
    custom_queries_see_the_view,
    restore_revives_a_deleted_row,
    purge_and_purge_where_remove_rows,
    a_deleted_row_keeps_its_unique_key_and_upsert_revives_it,
    soft_delete_without_a_version,
);

async fn setup(db: &Db) {
    db.create_schema::<Document>().await.unwrap();
    db.create_schema::<Counter>().await.unwrap();
    db.create_schema::<Memo>().await.unwrap();
}

/// The row as the table holds it, deleted or not: read with a statement of its own, outside
/// the repository's views.
async fn stored(db: &Db, id: i64) -> Option<Document> {
    let repo = DocumentRepository::new(db);
    let select = Query::select()
        .columns(Document::COLUMNS.iter().map(|c| c.name))
        .from(Document::TABLE)
        .and_where(Document::ID.expr().eq(id))
        .to_owned();
    repo.fetch_entity(&select).await.unwrap()
}

/// How many rows the table holds, deleted or not.
async fn rows_in_table(db: &Db) -> i64 {
    let select = Query::select()
        .expr(count_rows())
        .from(Document::TABLE)
        .to_owned();
    let (n,): (i64,) = DocumentRepository::new(db)
        .fetch_row(&select)
        .await
        .unwrap()
        .unwrap();
    n
}

/// Documents `a`, `b`, `c`, `d` (hits 1 to 4), of which `b` and `d` are soft-deleted.
async fn two_live_two_deleted(db: &Db) -> Vec<Document> {
    setup(db).await;
    let repo = DocumentRepository::new(db);
    let mut docs = Vec::new();
    for (hits, slug) in (1..).zip(["a", "b", "c", "d"]) {
        let new = NewDocument {
            hits,
            ..NewDocument::new(slug)
        };
        docs.push(repo.insert_new(new).await.unwrap());
    }
    assert!(repo.delete(docs[1].id).await.unwrap());
    assert!(repo.delete(docs[3].id).await.unwrap());
    docs
}

fn slugs(docs: &[Document]) -> Vec<&str> {
    docs.iter().map(|d| d.slug.as_str()).collect()
}

fn assert_stale(error: &Error, key: &str, version: i64) {
    match error {
        Error::StaleVersion {
            entity,
            key: k,
            expected,
        } => {
            assert!(["Document", "Counter"].contains(entity), "{entity}");
            assert_eq!(k, key);
            assert_eq!(*expected, version);
        }
        other => panic!("expected StaleVersion on {key}, got {other:?}"),
    }
}

// ----- optimistic locking ---------------------------------------------------------------------

async fn two_sessions_updating_one_read_exactly_one_wins(db: Db) {
    setup(&db).await;
    let doc = DocumentRepository::new(&db)
        .insert_new(NewDocument::new("race"))
        .await
        .unwrap();
    assert_eq!(doc.version, 0);
    let both_read = Arc::new(tokio::sync::Barrier::new(2));
    let tasks: Vec<_> = ["left", "right"]
        .into_iter()
        .map(|writer| {
            let (db, both_read) = (db.clone(), Arc::clone(&both_read));
            tokio::spawn(async move {
                let read = DocumentRepository::new(&db).get(doc.id).await.unwrap();
                both_read.wait().await;
                let session = db.begin().await.unwrap();
                let changed = Document {
                    title: format!("by {writer}"),
                    ..read
                };
                let result = DocumentRepository::new(&session).update(&changed).await;
                if result.is_ok() {
                    session.commit().await.unwrap();
                }
                result
            })
        })
        .collect();
    let mut won = Vec::new();
    let mut stale = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(row) => won.push(row),
            Err(error) => stale.push(error),
        }
    }
    assert_eq!((won.len(), stale.len()), (1, 1), "{stale:?}");
    assert_stale(&stale[0], &format!("id = {}", doc.id), 0);
    let winner = &won[0];
    assert_eq!(winner.version, 1);
    let row = stored(&db, doc.id).await.unwrap();
    assert_eq!(row.title, winner.title, "the winner's values are stored");
    assert_eq!(row.version, 1, "one update, one increment");
    assert_eq!(&row, winner);
}

async fn sixteen_tasks_retrying_on_stale_versions_lose_no_update(db: Db) {
    setup(&db).await;
    let doc = DocumentRepository::new(&db)
        .insert(&Document {
            version: 5,
            ..Document::new("counted")
        })
        .await
        .unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|task| {
            let db = db.clone();
            tokio::spawn(async move {
                let repo = DocumentRepository::new(&db);
                let mut stale = 0_u32;
                loop {
                    let read = repo.get(doc.id).await.unwrap();
                    let next = Document {
                        hits: read.hits + 1,
                        title: format!("{} {task}", read.title),
                        ..read
                    };
                    match repo.update(&next).await {
                        Ok(stored) => {
                            assert_eq!(stored.version, next.version + 1);
                            return stale;
                        }
                        Err(error) if error.is_stale_version() => stale += 1,
                        Err(error) => panic!("task {task}: {error}"),
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let row = stored(&db, doc.id).await.unwrap();
    assert_eq!(row.version, 5 + 16, "each update added exactly one");
    assert_eq!(row.hits, 16, "no update was lost");
    for task in 0..16 {
        assert!(
            row.title.split(' ').any(|word| word == task.to_string()),
            "task {task} missing from {:?}",
            row.title
        );
    }
}

async fn stale_update_writes_nothing_and_missing_is_not_found(db: Db) {
    setup(&db).await;
    let repo = DocumentRepository::new(&db);
    let read = repo.insert_new(NewDocument::new("s")).await.unwrap();
    let first = repo
        .update(&Document {
            title: "first".into(),
            ..read.clone()
        })
        .await
        .unwrap();
    assert_eq!(first.version, 1);
    let error = repo
        .update(&Document {
            title: "second".into(),
            ..read.clone()
        })
        .await
        .unwrap_err();
    assert_stale(&error, &format!("id = {}", read.id), 0);
    assert!(error.to_string().contains("expected version 0"), "{error}");
    let row = stored(&db, read.id).await.unwrap();
    assert_eq!((row.title.as_str(), row.version), ("first", 1));
    assert_eq!(row, first);

    let ghost = Document {
        id: read.id + 100,
        ..read
    };
    assert!(repo.update(&ghost).await.unwrap_err().is_not_found());
    assert!(repo.delete_entity(&ghost).await.unwrap_err().is_not_found());
}

async fn stale_delete_writes_nothing(db: Db) {
    setup(&db).await;
    let repo = DocumentRepository::new(&db);
    let read = repo.insert_new(NewDocument::new("d")).await.unwrap();
    let current = repo
        .update(&Document {
            hits: 3,
            ..read.clone()
        })
        .await
        .unwrap();
    let error = repo.delete_entity(&read).await.unwrap_err();
    assert_stale(&error, &format!("id = {}", read.id), 0);
    assert_eq!(
        stored(&db, read.id).await.unwrap(),
        current,
        "nothing changed"
    );

    repo.delete_entity(&current).await.unwrap();
    let row = stored(&db, read.id).await.unwrap();
    assert!(row.deleted_at.is_some());
    assert_eq!(row.version, current.version + 1);
    // Deleted: the same entity no longer finds a live row.
    assert!(
        repo.delete_entity(&current)
            .await
            .unwrap_err()
            .is_not_found()
    );
}

async fn stale_upsert_writes_nothing(db: Db) {
    setup(&db).await;
    let repo = DocumentRepository::new(&db);
    let inserted = repo.upsert(&Document::new("u")).await.unwrap();
    assert_eq!(inserted.version, 0, "an insert stores the version it holds");
    let updated = repo
        .upsert(&Document {
            title: "updated".into(),
            ..Document::new("u")
        })
        .await
        .unwrap();
    assert_eq!((updated.id, updated.version), (inserted.id, 1));
    // Still version 0: someone else's update came in between.
    let error = repo
        .upsert(&Document {
            title: "stale".into(),
            ..Document::new("u")
        })
        .await
        .unwrap_err();
    assert_stale(&error, "slug = \"u\"", 0);
    assert_eq!(stored(&db, inserted.id).await.unwrap(), updated);
    assert_eq!(rows_in_table(&db).await, 1);
    // In a session the failure changes nothing else either, and the session goes on.
    let session = db.begin().await.unwrap();
    let in_session = DocumentRepository::new(&session);
    in_session.insert_new(NewDocument::new("v")).await.unwrap();
    assert!(
        in_session
            .upsert(&Document::new("u"))
            .await
            .unwrap_err()
            .is_stale_version()
    );
    session.commit().await.unwrap();
    assert_eq!(rows_in_table(&db).await, 2);
}

async fn stale_upsert_on_a_primary_key_with_an_i32_version(db: Db) {
    setup(&db).await;
    let repo = CounterRepository::new(&db);
    let counter = |value, version| Counter {
        name: "visits".into(),
        value,
        version,
    };
    assert_eq!(repo.upsert(&counter(1, 7)).await.unwrap(), counter(1, 7));
    assert_eq!(repo.upsert(&counter(2, 7)).await.unwrap(), counter(2, 8));
    let error = repo.upsert(&counter(3, 7)).await.unwrap_err();
    assert_stale(&error, "name = \"visits\"", 7);
    let error = repo.update(&counter(3, 7)).await.unwrap_err();
    assert_stale(&error, "name = \"visits\"", 7);
    assert_eq!(repo.get("visits").await.unwrap(), counter(2, 8));
    assert_eq!(repo.update(&counter(3, 8)).await.unwrap(), counter(3, 9));
    let error = repo.delete_entity(&counter(3, 8)).await.unwrap_err();
    assert_stale(&error, "name = \"visits\"", 8);
    repo.delete_entity(&counter(3, 9)).await.unwrap();
    assert_eq!(repo.find_by_id("visits").await.unwrap(), None);
}

async fn inserts_store_the_version_they_hold(db: Db) {
    setup(&db).await;
    let repo = DocumentRepository::new(&db);
    let new = repo.insert_new(NewDocument::new("n")).await.unwrap();
    assert_eq!(new.version, 0, "rows from NewDocument start at 0");
    let set = repo
        .insert(&Document {
            version: 41,
            deleted_at: Some(now()),
            ..Document::new("s")
        })
        .await
        .unwrap();
    assert_eq!(
        set.version, 41,
        "insert stores the version the entity holds"
    );
    assert_eq!(set.deleted_at, None, "and a live row");
    assert_eq!(stored(&db, set.id).await.unwrap(), set);
    repo.bulk_insert(&[Document {
        version: 9,
        ..Document::new("b")
    }])
    .await
    .unwrap();
    let bulk = repo
        .find_one(Document::SLUG.eq("b"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bulk.version, 9);
}

async fn update_where_adds_one_to_the_version_of_every_row_it_changes(db: Db) {
    setup(&db).await;
    let repo = DocumentRepository::new(&db);
    let mut ids = Vec::new();
    for (version, slug) in [(0, "a"), (4, "b"), (10, "c")] {
        let doc = repo
            .insert(&Document {
                version,
                ..Document::new(slug)
            })
            .await
            .unwrap();
        ids.push(doc.id);
    }
    let changed = repo
        .update_where(
            Document::SLUG.is_in(["a", "b"]),
            [Document::TITLE.set("bulk")],
        )
        .await
        .unwrap();
    assert_eq!(changed, 2);
    let mut versions = Vec::new();
    for id in ids {
        let row = stored(&db, id).await.unwrap();
        versions.push((row.version, row.title));
    }
    assert_eq!(
        versions,
        [
            (1, "bulk".to_owned()),
            (5, "bulk".to_owned()),
            (10, "about c".to_owned())
        ]
    );
}

async fn bulk_upsert_adds_one_on_conflict(db: Db) {
    setup(&db).await;
    let repo = DocumentRepository::new(&db);
    let a = repo
        .insert(&Document {
            version: 3,
            ..Document::new("a")
        })
        .await
        .unwrap();
    // The incoming version does not matter to a bulk upsert: a conflict adds 1.
    let batch = [
        Document {
            title: "A".into(),
            version: 0,
            ..Document::new("a")
        },
        Document {
            version: 2,
            ..Document::new("new")
        },
    ];
    assert_eq!(repo.bulk_upsert(&batch).await.unwrap(), 2);
    let row = stored(&db, a.id).await.unwrap();
    assert_eq!((row.title.as_str(), row.version), ("A", 4));
    let new = repo
        .find_one(Document::SLUG.eq("new"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(new.version, 2, "an inserted row keeps its version");
    let returned = repo.bulk_upsert_returning(&batch).await.unwrap();
    let mut versions: Vec<(String, i64)> =
        returned.into_iter().map(|d| (d.slug, d.version)).collect();
    versions.sort();
    assert_eq!(versions, [("a".to_owned(), 5), ("new".to_owned(), 3)]);
}

// ----- soft delete ----------------------------------------------------------------------------

async fn delete_marks_the_row_deleted_and_keeps_it(db: Db) {
    setup(&db).await;
    let repo = DocumentRepository::new(&db);
    let doc = repo.insert_new(NewDocument::new("gone")).await.unwrap();
    let before = now();
    assert!(repo.delete(doc.id).await.unwrap());
    let after = now();
    let row = stored(&db, doc.id).await.unwrap();
    let deleted_at = row.deleted_at.expect("marked deleted");
    assert!(deleted_at >= before && deleted_at <= after);
    assert_eq!(row.updated_at, deleted_at, "a delete is a write");
    assert_eq!(row.version, doc.version + 1);
    assert_eq!(rows_in_table(&db).await, 1, "the row stays in the table");
    assert!(
        !repo.delete(doc.id).await.unwrap(),
        "a deleted row is deleted once"
    );
    assert_eq!(
        stored(&db, doc.id).await.unwrap(),
        row,
        "and keeps its time"
    );
}

async fn find_hides_deleted_rows(db: Db) {
    let docs = two_live_two_deleted(&db).await;
    let repo = DocumentRepository::new(&db);
    let page = repo
        .find(
            Filter::all(),
            PageRequest::new(10).order_by(Document::HITS.desc()),
        )
        .await
        .unwrap();
    assert_eq!(page.total, 2);
    assert_eq!(slugs(&page.items), ["c", "a"]);
    let page = repo
        .with_deleted()
        .find(Document::HITS.gt(1), PageRequest::new(2))
        .await
        .unwrap();
    assert_eq!((page.total, slugs(&page.items)), (3, vec!["b", "c"]));
    assert_eq!(docs.len(), 4);
}

async fn find_all_hides_deleted_rows(db: Db) {
    two_live_two_deleted(&db).await;
    let repo = DocumentRepository::new(&db);
    assert_eq!(
        slugs(&repo.find_all(Filter::all()).await.unwrap()),
        ["a", "c"]
    );
    let either = Document::SLUG.eq("b").or(Document::SLUG.eq("c"));
    assert_eq!(slugs(&repo.find_all(either).await.unwrap()), ["c"]);
}

async fn find_one_hides_deleted_rows(db: Db) {
    two_live_two_deleted(&db).await;
    let repo = DocumentRepository::new(&db);
    assert_eq!(repo.find_one(Document::SLUG.eq("b")).await.unwrap(), None);
    let first = repo.find_one(Document::HITS.gt(1)).await.unwrap().unwrap();
    assert_eq!(first.slug, "c");
}

async fn find_by_id_hides_deleted_rows(db: Db) {
    let docs = two_live_two_deleted(&db).await;
    let repo = DocumentRepository::new(&db);
    assert_eq!(repo.find_by_id(docs[1].id).await.unwrap(), None);
    assert_eq!(
        repo.find_by_id(docs[0].id).await.unwrap().map(|d| d.slug),
        Some("a".to_owned())
    );
    let deleted = repo.with_deleted().find_by_id(docs[1].id).await.unwrap();
    assert_eq!(deleted, stored(&db, docs[1].id).await);
}

async fn get_of_a_deleted_row_is_not_found(db: Db) {
    let docs = two_live_two_deleted(&db).await;
    let repo = DocumentRepository::new(&db);
    match repo.get(docs[3].id).await {
        Err(Error::NotFound { entity, key }) => {
            assert_eq!(entity, "Document");
            assert_eq!(key, format!("id = {}", docs[3].id));
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(repo.get(docs[2].id).await.unwrap().slug, "c");
    assert!(
        repo.only_deleted()
            .get(docs[2].id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(repo.only_deleted().get(docs[3].id).await.unwrap().slug, "d");
}

async fn count_hides_deleted_rows(db: Db) {
    two_live_two_deleted(&db).await;
    let repo = DocumentRepository::new(&db);
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 2);
    assert_eq!(repo.count(Document::HITS.gte(2)).await.unwrap(), 1);
    assert_eq!(repo.with_deleted().count(Filter::all()).await.unwrap(), 4);
    assert_eq!(repo.only_deleted().count(Filter::all()).await.unwrap(), 2);
    assert_eq!(rows_in_table(&db).await, 4);
}

async fn exists_hides_deleted_rows(db: Db) {
    two_live_two_deleted(&db).await;
    let repo = DocumentRepository::new(&db);
    assert!(!repo.exists(Document::SLUG.eq("d")).await.unwrap());
    assert!(repo.exists(Document::SLUG.eq("c")).await.unwrap());
    assert!(
        repo.with_deleted()
            .exists(Document::SLUG.eq("d"))
            .await
            .unwrap()
    );
    assert!(
        !repo
            .only_deleted()
            .exists(Document::SLUG.eq("c"))
            .await
            .unwrap()
    );
}

async fn stream_hides_deleted_rows(db: Db) {
    two_live_two_deleted(&db).await;
    let repo = DocumentRepository::new(&db);
    let live: Vec<Document> = repo.stream(Filter::all()).try_collect().await.unwrap();
    assert_eq!(slugs(&live), ["a", "c"]);
    let deleted: Vec<Document> = repo
        .only_deleted()
        .stream(Filter::all())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(slugs(&deleted), ["b", "d"]);
    // In a session too.
    let session = db.begin().await.unwrap();
    let in_session = DocumentRepository::new(&session);
    let live: Vec<Document> = in_session
        .stream(Filter::all())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(slugs(&live), ["a", "c"]);
}

async fn find_keyset_hides_deleted_rows(db: Db) {
    two_live_two_deleted(&db).await;
    let repo = DocumentRepository::new(&db);
    let request = || KeysetRequest::new(1).order_by(Document::HITS.asc());
    let first = repo.find_keyset(Filter::all(), request()).await.unwrap();
    assert_eq!(slugs(&first.items), ["a"]);
    let second = repo
        .find_keyset(Filter::all(), request().after(first.next.unwrap()))
        .await
        .unwrap();
    assert_eq!(slugs(&second.items), ["c"], "b is deleted and skipped");
    assert!(second.next.is_none());
    let all = repo
        .with_deleted()
        .find_keyset(
            Filter::all(),
            KeysetRequest::new(10).order_by(Document::HITS.asc()),
        )
        .await
        .unwrap();
    assert_eq!(slugs(&all.items), ["a", "b", "c", "d"]);
}

async fn update_where_leaves_deleted_rows_alone(db: Db) {
    let docs = two_live_two_deleted(&db).await;
    let repo = DocumentRepository::new(&db);
    let before = stored(&db, docs[1].id).await.unwrap();
    let changed = repo
        .update_where(Filter::all(), [Document::TITLE.set("touched")])
        .await
        .unwrap();
    assert_eq!(changed, 2);
    assert_eq!(
        stored(&db, docs[1].id).await.unwrap(),
        before,
        "deleted row untouched"
    );
    assert_eq!(stored(&db, docs[0].id).await.unwrap().title, "touched");
    let changed = repo
        .only_deleted()
        .update_where(Filter::all(), [Document::TITLE.set("archived")])
        .await
        .unwrap();
    assert_eq!(changed, 2);
    let row = stored(&db, docs[3].id).await.unwrap();
    assert_eq!((row.title.as_str(), row.version), ("archived", 2));
    assert!(row.deleted_at.is_some(), "still deleted");
    assert_eq!(stored(&db, docs[2].id).await.unwrap().title, "touched");
}

async fn update_of_a_deleted_row_is_not_found(db: Db) {
    let docs = two_live_two_deleted(&db).await;
    let repo = DocumentRepository::new(&db);
    let deleted = stored(&db, docs[1].id).await.unwrap();
    let change = Document {
        title: "x".into(),
        ..deleted.clone()
    };
    assert!(repo.update(&change).await.unwrap_err().is_not_found());
    assert_eq!(stored(&db, docs[1].id).await.unwrap(), deleted);
    // Seen with the deleted rows, it can be updated, and stays deleted.
    let updated = repo.with_deleted().update(&change).await.unwrap();
    assert_eq!(
        (updated.title.as_str(), updated.version),
        ("x", deleted.version + 1)
    );
    assert_eq!(updated.deleted_at, deleted.deleted_at);
    assert_eq!(stored(&db, docs[1].id).await.unwrap(), updated);
}

async fn delete_where_leaves_deleted_rows_alone(db: Db) {
    let docs = two_live_two_deleted(&db).await;
    let repo = DocumentRepository::new(&db);
    let before = stored(&db, docs[1].id).await.unwrap();
    assert_eq!(repo.delete_where(Document::SLUG.eq("b")).await.unwrap(), 0);
    assert_eq!(
        repo.with_deleted()
            .delete_where(Filter::all())
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        stored(&db, docs[1].id).await.unwrap(),
        before,
        "keeps its first deletion"
    );
    let a = stored(&db, docs[0].id).await.unwrap();
    assert!(a.deleted_at.is_some());
    assert_eq!(a.version, 1);
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 0);
    assert_eq!(rows_in_table(&db).await, 4);
}

async fn with_deleted_and_only_deleted_views(db: Db) {
    let docs = two_live_two_deleted(&db).await;
    let repo = DocumentRepository::new(&db);
    let all = repo.with_deleted().find_all(Filter::all()).await.unwrap();
    assert_eq!(slugs(&all), ["a", "b", "c", "d"]);
    let deleted = repo.only_deleted().find_all(Filter::all()).await.unwrap();
    assert_eq!(slugs(&deleted), ["b", "d"]);
    assert!(deleted.iter().all(|d| d.deleted_at.is_some()));
    // A view is a repository of its own; the original still hides deleted rows.
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 2);
    // Inside a session as on the pool.
    let session = db.begin().await.unwrap();
    let in_session = DocumentRepository::new(&session);
    assert_eq!(
        in_session
            .only_deleted()
            .count(Filter::all())
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        in_session.with_deleted().get(docs[3].id).await.unwrap(),
        stored(&db, docs[3].id).await.unwrap()
    );
}

async fn custom_queries_see_the_view(db: Db) {
    two_live_two_deleted(&db).await;
    let repo = DocumentRepository::new(&db);
    assert_eq!(slugs(&repo.titled("about").await.unwrap()), ["a", "c"]);
    assert_eq!(
        slugs(&repo.with_deleted().titled("about").await.unwrap()),
        ["a", "b", "c", "d"]
    );
    assert_eq!(
        slugs(&repo.only_deleted().titled("about").await.unwrap()),
        ["b", "d"]
    );
    assert_eq!(repo.total_hits().await.unwrap(), 1 + 3);
    assert_eq!(
        repo.with_deleted().total_hits().await.unwrap(),
        1 + 2 + 3 + 4
    );
    assert_eq!(repo.only_deleted().total_hits().await.unwrap(), 2 + 4);
    // Updates that return rows see the view too.
    let mut update = repo.update_returning();
    update
        .value(Document::HITS, Document::HITS.expr().add(10))
        .cond_where(repo.condition(Filter::all()));
    let changed = repo.fetch_updated(update).await.unwrap();
    let mut changed: Vec<(String, i64, i64)> = changed
        .into_iter()
        .map(|d| (d.slug, d.hits, d.version))
        .collect();
    changed.sort();
    assert_eq!(
        changed,
        [("a".to_owned(), 11, 1), ("c".to_owned(), 13, 1)],
        "live rows only, each version plus 1"
    );
}

async fn restore_revives_a_deleted_row(db: Db) {
    let docs = two_live_two_deleted(&db).await;
    let repo = DocumentRepository::new(&db);
    let deleted = stored(&db, docs[1].id).await.unwrap();
    let restored = repo.restore(docs[1].id).await.unwrap();
    assert_eq!(restored.deleted_at, None);
    assert_eq!(restored.version, deleted.version + 1);
    assert!(restored.updated_at >= deleted.updated_at);
    assert_eq!(stored(&db, docs[1].id).await.unwrap(), restored);
    assert_eq!(repo.get(docs[1].id).await.unwrap(), restored);
    // No deleted row with that key: a live one, or none at all.
    assert!(repo.restore(docs[1].id).await.unwrap_err().is_not_found());
    assert!(repo.restore(docs[0].id).await.unwrap_err().is_not_found());
    assert!(
        repo.restore(docs[3].id + 100)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(stored(&db, docs[0].id).await.unwrap().version, 0);
    // Restoring in a session commits with it.
    let session = db.begin().await.unwrap();
    DocumentRepository::new(&session)
        .restore(docs[3].id)
        .await
        .unwrap();
    session.commit().await.unwrap();
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 4);
}

async fn purge_and_purge_where_remove_rows(db: Db) {
    let docs = two_live_two_deleted(&db).await;
    let repo = DocumentRepository::new(&db);
    // A purge reaches a deleted row without asking for it.
    assert!(repo.purge(docs[1].id).await.unwrap());
    assert_eq!(stored(&db, docs[1].id).await, None);
    assert!(!repo.purge(docs[1].id).await.unwrap());
    // In the deleted-rows view it reaches deleted rows only.
    assert!(!repo.only_deleted().purge(docs[0].id).await.unwrap());
    assert!(stored(&db, docs[0].id).await.is_some());
    assert_eq!(
        repo.only_deleted()
            .purge_where(Filter::all())
            .await
            .unwrap(),
        1
    );
    assert_eq!(stored(&db, docs[3].id).await, None);
    assert_eq!(rows_in_table(&db).await, 2);
    assert_eq!(repo.purge_where(Document::SLUG.eq("a")).await.unwrap(), 1);
    assert_eq!(stored(&db, docs[0].id).await, None);
    assert_eq!(rows_in_table(&db).await, 1);
}

async fn a_deleted_row_keeps_its_unique_key_and_upsert_revives_it(db: Db) {
    setup(&db).await;
    let repo = DocumentRepository::new(&db);
    let doc = repo
        .insert(&Document {
            version: 6,
            ..Document::new("key")
        })
        .await
        .unwrap();
    assert!(repo.delete(doc.id).await.unwrap());
    // The deleted row still holds the key: inserting it again is a conflict.
    match repo.insert(&Document::new("key")).await {
        Err(Error::Conflict { constraint, .. }) => {
            assert_eq!(constraint, "documents_slug_key");
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(rows_in_table(&db).await, 1);
    // An upsert on the key revives the row and updates it, whatever version it carries.
    let revived = repo
        .upsert(&Document {
            title: "back".into(),
            ..Document::new("key")
        })
        .await
        .unwrap();
    assert_eq!(revived.id, doc.id, "the same row");
    assert_eq!(revived.deleted_at, None);
    assert_eq!(revived.title, "back");
    assert_eq!(revived.version, 8, "6, deleted 7, revived 8");
    assert_eq!(stored(&db, doc.id).await.unwrap(), revived);
    assert_eq!(rows_in_table(&db).await, 1);
    // Bulk upserts revive too.
    assert!(repo.delete(doc.id).await.unwrap());
    repo.bulk_upsert(&[Document::new("key")]).await.unwrap();
    let row = stored(&db, doc.id).await.unwrap();
    assert_eq!((row.deleted_at, row.version), (None, 10));
}

async fn soft_delete_without_a_version(db: Db) {
    setup(&db).await;
    let repo = MemoRepository::new(&db);
    let memo = |label: &str, body: &str| Memo {
        id: 0,
        label: label.into(),
        body: body.into(),
        deleted_at: None,
    };
    let a = repo.insert(&memo("a", "one")).await.unwrap();
    assert!(repo.delete(a.id).await.unwrap());
    assert_eq!(repo.find_by_id(a.id).await.unwrap(), None);
    let gone = repo.with_deleted().get(a.id).await.unwrap();
    assert!(gone.deleted_at.is_some());
    assert!(
        repo.insert(&memo("a", "two"))
            .await
            .unwrap_err()
            .is_conflict()
    );
    let revived = repo.upsert(&memo("a", "two")).await.unwrap();
    assert_eq!(
        (revived.id, revived.deleted_at, revived.body.as_str()),
        (a.id, None, "two")
    );
    repo.delete_entity(&revived).await.unwrap();
    assert_eq!(repo.restore(a.id).await.unwrap().body, "two");
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 1);
    // Entities without a soft-delete column: deletes remove rows, nothing is deleted-but-kept.
    let counters = CounterRepository::new(&db);
    let counter = Counter {
        name: "c".into(),
        value: 1,
        version: 0,
    };
    counters.insert(&counter).await.unwrap();
    assert_eq!(
        counters.only_deleted().count(Filter::all()).await.unwrap(),
        0
    );
    assert_eq!(
        counters.with_deleted().count(Filter::all()).await.unwrap(),
        1
    );
    assert!(counters.restore("c").await.unwrap_err().is_validation());
    assert!(counters.delete("c").await.unwrap());
    assert_eq!(
        counters.with_deleted().count(Filter::all()).await.unwrap(),
        0
    );
}
