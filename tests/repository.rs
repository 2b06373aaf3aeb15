//! CRUD, upsert, sessions, filters, counting, streaming, custom queries and errors, on SQLite
//! and PostgreSQL, each asserted on what the database holds.

use futures_util::TryStreamExt as _;
use repo_core::prelude::*;
use repo_core::{Error, MAX_PAGE_LIMIT};
use repo_tests::entities::*;

repo_tests::on_every_backend!(
    insert_get_update_delete,
    insert_fills_generated_key_and_timestamps,
    upsert_updates_on_the_unique_key,
    upsert_on_a_supplied_primary_key,
    unique_violation_is_a_conflict_naming_the_constraint,
    sessions_commit_rollback_and_drop,
    filters_select_the_right_rows,
    find_pages_with_total_and_order,
    invalid_pages_are_rejected_before_any_query,
    count_exists_update_where_delete_where,
    stream_yields_every_row_in_key_order,
    custom_queries_use_the_same_tools,
    schema_creation_is_idempotent,
);

async fn setup(db: &Db) {
    db.create_schema::<Widget>().await.unwrap();
    db.create_schema::<Account>().await.unwrap();
    db.create_schema::<Label>().await.unwrap();
}

fn full_widget(sku: &str) -> Widget {
    let mut w = Widget::new(sku);
    w.status = Status::Active;
    w.previous_status = Some(Status::Draft);
    w.qty = 42;
    w.rank = -3;
    w.weight = Some(12.25);
    w.ratio = 0.75;
    w.active = false;
    w.url = Some("https://example.org/w".into());
    w.attributes = serde_json::json!({"color": "red", "sizes": [1, 2, 3]});
    w.dimensions = Dimensions {
        width: 2.5,
        height: 4.0,
    };
    w.tags = Some(vec!["a".into(), "b".into()]);
    w.embedding = Some(vec![0.1, -0.2, 3.5, f32::MAX]);
    w.checked_at = Some(repo_core::repository::now() - chrono::Duration::hours(3));
    w
}

fn same_content(a: &Widget, b: &Widget) {
    let strip = |w: &Widget| Widget {
        id: 0,
        created_at: DateTime::UNIX_EPOCH,
        updated_at: DateTime::UNIX_EPOCH,
        ..w.clone()
    };
    assert_eq!(strip(a), strip(b));
}

async fn insert_get_update_delete(db: Db) {
    setup(&db).await;
    let repo = WidgetRepository::new(&db);
    let stored = repo.insert(&full_widget("A-1")).await.unwrap();
    same_content(&stored, &full_widget_with(&stored));

    let read = repo.get(stored.id).await.unwrap();
    assert_eq!(
        read, stored,
        "the row read back equals the row insert returned"
    );
    assert_eq!(
        repo.find_by_id(stored.id).await.unwrap(),
        Some(stored.clone())
    );

    let mut changed = read.clone();
    changed.name = "renamed".into();
    changed.status = Status::Retired;
    changed.weight = None;
    changed.tags = None;
    changed.embedding = None;
    changed.created_at = DateTime::UNIX_EPOCH; // ignored: created_at is never rewritten
    let updated = repo.update(&changed).await.unwrap();
    assert_eq!(updated.name, "renamed");
    assert_eq!(updated.status, Status::Retired);
    assert_eq!(updated.weight, None);
    assert_eq!(updated.tags, None);
    assert_eq!(updated.embedding, None);
    assert_eq!(updated.created_at, stored.created_at);
    assert!(updated.updated_at >= stored.updated_at);
    assert_eq!(repo.get(stored.id).await.unwrap(), updated);

    assert!(repo.delete(stored.id).await.unwrap());
    assert!(!repo.delete(stored.id).await.unwrap());
    assert_eq!(repo.find_by_id(stored.id).await.unwrap(), None);
    match repo.get(stored.id).await {
        Err(Error::NotFound { entity, key }) => {
            assert_eq!(entity, "Widget");
            assert_eq!(key, format!("id = {}", stored.id));
        }
        other => panic!("expected NotFound, got {other:?}"),
    }
    let mut ghost = Widget::new("ghost");
    ghost.id = 999_999;
    assert!(repo.update(&ghost).await.unwrap_err().is_not_found());
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 0);
}

fn full_widget_with(stored: &Widget) -> Widget {
    Widget {
        external: stored.external,
        checked_at: stored.checked_at,
        ..full_widget("A-1")
    }
}

async fn insert_fills_generated_key_and_timestamps(db: Db) {
    setup(&db).await;
    let repo = WidgetRepository::new(&db);
    let before = repo_core::repository::now();
    let a = repo.insert(&Widget::new("k1")).await.unwrap();
    let b = repo.insert(&Widget::new("k2")).await.unwrap();
    let after = repo_core::repository::now();
    assert!(
        a.id > 0 && b.id > a.id,
        "generated keys ascend: {} {}",
        a.id,
        b.id
    );
    for w in [&a, &b] {
        assert!(w.created_at >= before && w.created_at <= after);
        assert_eq!(w.created_at, w.updated_at);
    }
    let read = repo.get(b.id).await.unwrap();
    assert_eq!(read.created_at, b.created_at);
}

async fn upsert_updates_on_the_unique_key(db: Db) {
    setup(&db).await;
    let repo = WidgetRepository::new(&db);
    let first = repo.upsert(&Widget::new("U-1")).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let mut again = Widget::new("U-1");
    again.name = "second".into();
    again.qty = 7;
    let second = repo.upsert(&again).await.unwrap();
    assert_eq!(second.id, first.id, "same unique key, same row");
    assert_eq!(second.name, "second");
    assert_eq!(second.qty, 7);
    assert_eq!(
        second.created_at, first.created_at,
        "created_at survives the upsert"
    );
    assert!(second.updated_at > first.updated_at, "updated_at moves on");
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 1);
    assert_eq!(repo.get(first.id).await.unwrap(), second);
}

async fn upsert_on_a_supplied_primary_key(db: Db) {
    setup(&db).await;
    let repo = LabelRepository::new(&db);
    let label = |uses| Label {
        name: "rust".into(),
        uses,
        created_at: DateTime::UNIX_EPOCH,
    };
    let first = repo.upsert(&label(1)).await.unwrap();
    let second = repo.upsert(&label(5)).await.unwrap();
    assert_eq!(second.uses, 5);
    assert_eq!(second.created_at, first.created_at);
    assert_eq!(repo.get("rust").await.unwrap().uses, 5);
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 1);

    let accounts = AccountRepository::new(&db);
    let account = Account {
        id: "acc-1".into(),
        email: "a@example.org".into(),
        name: "Ann".into(),
        balance: 10,
    };
    accounts.insert(&account).await.unwrap();
    let moved = Account {
        id: "acc-1".into(),
        name: "Ann B".into(),
        balance: 20,
        ..account.clone()
    };
    assert_eq!(accounts.upsert(&moved).await.unwrap(), moved);
    assert_eq!(
        accounts.find_one(Account::NAME.eq("Ann B")).await.unwrap(),
        Some(moved),
        "renamed column `display_name` round-trips"
    );
}

async fn unique_violation_is_a_conflict_naming_the_constraint(db: Db) {
    setup(&db).await;
    let repo = WidgetRepository::new(&db);
    repo.insert(&Widget::new("dup")).await.unwrap();
    match repo.insert(&Widget::new("dup")).await {
        Err(Error::Conflict {
            entity, constraint, ..
        }) => {
            assert_eq!(entity, "Widget");
            assert_eq!(constraint, "widgets_sku_key");
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 1);

    let accounts = AccountRepository::new(&db);
    let account = Account {
        id: "x".into(),
        email: "x@example.org".into(),
        name: "X".into(),
        balance: 0,
    };
    accounts.insert(&account).await.unwrap();
    let same_id = Account {
        email: "other@example.org".into(),
        ..account.clone()
    };
    match accounts.insert(&same_id).await {
        Err(Error::Conflict { constraint, .. }) => assert_eq!(constraint, "accounts_pkey"),
        other => panic!("expected Conflict, got {other:?}"),
    }
}

async fn sessions_commit_rollback_and_drop(db: Db) {
    setup(&db).await;
    // Two repositories, one session, one commit.
    let session = db.begin().await.unwrap();
    let widgets = WidgetRepository::new(&session);
    let labels = LabelRepository::new(&session);
    let w = widgets.insert(&Widget::new("S-1")).await.unwrap();
    labels
        .insert(&Label {
            name: "s".into(),
            uses: 1,
            created_at: DateTime::UNIX_EPOCH,
        })
        .await
        .unwrap();
    assert_eq!(
        widgets.get(w.id).await.unwrap().sku,
        "S-1",
        "visible inside"
    );
    session.commit().await.unwrap();
    assert_eq!(
        WidgetRepository::new(&db).get(w.id).await.unwrap().sku,
        "S-1"
    );
    assert_eq!(LabelRepository::new(&db).get("s").await.unwrap().uses, 1);

    // Rolled back: nothing stays.
    let session = db.begin().await.unwrap();
    WidgetRepository::new(&session)
        .insert(&Widget::new("S-2"))
        .await
        .unwrap();
    session.rollback().await.unwrap();
    let repo = WidgetRepository::new(&db);
    assert!(!repo.exists(Widget::SKU.eq("S-2")).await.unwrap());

    // Dropped uncommitted: nothing stays.
    {
        let session = db.begin().await.unwrap();
        WidgetRepository::new(&session)
            .insert(&Widget::new("S-3"))
            .await
            .unwrap();
    }
    assert!(!repo.exists(Widget::SKU.eq("S-3")).await.unwrap());
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 1);
}

async fn seed(repo: &WidgetRepository<'_>) -> Vec<Widget> {
    let mut out = Vec::new();
    for i in 0..20_i32 {
        let mut w = Widget::new(&format!("F-{i:02}"));
        w.qty = i;
        w.rank = (i % 4) as i16;
        w.status = [Status::Draft, Status::Active, Status::Retired][(i % 3) as usize];
        w.previous_status = (i % 2 == 0).then_some(Status::Draft);
        w.weight = (i % 5 != 0).then(|| f64::from(i) * 1.5);
        w.name = if i % 4 == 0 {
            format!("blue {i}")
        } else {
            format!("red {i}")
        };
        w.active = i % 2 == 1;
        out.push(repo.insert(&w).await.unwrap());
    }
    out
}

fn ids(rows: &[Widget]) -> Vec<i64> {
    rows.iter().map(|w| w.id).collect()
}

async fn filters_select_the_right_rows(db: Db) {
    setup(&db).await;
    let repo = WidgetRepository::new(&db);
    let all = seed(&repo).await;
    let expect = |pred: &dyn Fn(&Widget) -> bool| -> Vec<i64> {
        all.iter().filter(|w| pred(w)).map(|w| w.id).collect()
    };
    let check = |filter: Filter<Widget>, want: Vec<i64>| {
        let repo = repo.clone();
        async move {
            let got = ids(&repo.find_all(filter.clone()).await.unwrap());
            assert!(!want.is_empty() || got.is_empty());
            assert_eq!(got, want, "filter {filter:?}");
        }
    };
    check(Widget::QTY.eq(3), expect(&|w| w.qty == 3)).await;
    check(Widget::QTY.ne(3), expect(&|w| w.qty != 3)).await;
    check(Widget::QTY.lt(5), expect(&|w| w.qty < 5)).await;
    check(Widget::QTY.lte(5), expect(&|w| w.qty <= 5)).await;
    check(Widget::QTY.gt(15), expect(&|w| w.qty > 15)).await;
    check(Widget::QTY.gte(15), expect(&|w| w.qty >= 15)).await;
    check(
        Widget::QTY.between(4, 8),
        expect(&|w| (4..=8).contains(&w.qty)),
    )
    .await;
    check(
        Widget::STATUS.is_in([Status::Active, Status::Retired]),
        expect(&|w| w.status != Status::Draft),
    )
    .await;
    check(
        Widget::STATUS.not_in([Status::Active]),
        expect(&|w| w.status != Status::Active),
    )
    .await;
    check(Widget::STATUS.is_in(Vec::<Status>::new()), vec![]).await;
    check(
        Widget::NAME.like("blue%"),
        expect(&|w| w.name.starts_with("blue")),
    )
    .await;
    check(
        Widget::NAME.not_like("blue%"),
        expect(&|w| !w.name.starts_with("blue")),
    )
    .await;
    check(Widget::WEIGHT.is_null(), expect(&|w| w.weight.is_none())).await;
    check(
        Widget::WEIGHT.is_not_null(),
        expect(&|w| w.weight.is_some()),
    )
    .await;
    check(
        Widget::PREVIOUS_STATUS.eq(Status::Draft),
        expect(&|w| w.previous_status == Some(Status::Draft)),
    )
    .await;
    check(Widget::ACTIVE.eq(true), expect(&|w| w.active)).await;
    check(Widget::SKU.eq("F-07"), expect(&|w| w.sku == "F-07")).await;
    check(
        Widget::QTY.gt(10).and(Widget::STATUS.eq(Status::Active)),
        expect(&|w| w.qty > 10 && w.status == Status::Active),
    )
    .await;
    check(
        Widget::QTY.lt(2).or(Widget::QTY.gt(18)),
        expect(&|w| w.qty < 2 || w.qty > 18),
    )
    .await;
    check(Widget::QTY.lt(10).not(), expect(&|w| w.qty >= 10)).await;
    check(
        (Widget::RANK.eq(1_i16) | Widget::RANK.eq(2_i16)) & !Widget::ACTIVE.eq(true),
        expect(&|w| (w.rank == 1 || w.rank == 2) && !w.active),
    )
    .await;
    check(
        Widget::WEIGHT.gte(15.0),
        expect(&|w| w.weight.is_some_and(|x| x >= 15.0)),
    )
    .await;
}

async fn find_pages_with_total_and_order(db: Db) {
    setup(&db).await;
    let repo = WidgetRepository::new(&db);
    let all = seed(&repo).await;
    let mut by_qty_desc: Vec<&Widget> = all.iter().filter(|w| w.active).collect();
    // Ties broken by id in the order's direction.
    by_qty_desc.sort_by_key(|w| std::cmp::Reverse((w.qty, w.id)));

    let page = repo
        .find(
            Widget::ACTIVE.eq(true),
            PageRequest::new(4).offset(2).order_by(Widget::QTY.desc()),
        )
        .await
        .unwrap();
    assert_eq!(page.total, by_qty_desc.len() as u64);
    assert_eq!(
        ids(&page.items),
        by_qty_desc[2..6].iter().map(|w| w.id).collect::<Vec<_>>()
    );
    assert!(page.has_next());

    let last = repo
        .find(
            Widget::ACTIVE.eq(true),
            PageRequest::new(4).offset(8).order_by(Widget::QTY.desc()),
        )
        .await
        .unwrap();
    assert_eq!(last.items.len(), by_qty_desc.len() - 8);
    assert!(!last.has_next());

    // Ties broken by primary key: ranks repeat, pages never overlap.
    let mut seen = Vec::new();
    for offset in (0..20).step_by(6) {
        let page = repo
            .find(
                Filter::all(),
                PageRequest::new(6)
                    .offset(offset)
                    .order_by(Widget::RANK.asc()),
            )
            .await
            .unwrap();
        seen.extend(ids(&page.items));
    }
    let mut expected: Vec<&Widget> = all.iter().collect();
    expected.sort_by_key(|w| (w.rank, w.id));
    assert_eq!(seen, expected.iter().map(|w| w.id).collect::<Vec<_>>());

    let beyond = repo
        .find(Filter::all(), PageRequest::new(5).offset(100))
        .await
        .unwrap();
    assert!(beyond.items.is_empty());
    assert_eq!(beyond.total, 20);
}

async fn invalid_pages_are_rejected_before_any_query(db: Db) {
    setup(&db).await;
    let repo = WidgetRepository::new(&db);
    repo.insert(&Widget::new("P-1")).await.unwrap();
    db.close().await; // any statement sent now would fail with a database error
    for limit in [0, MAX_PAGE_LIMIT + 1] {
        match repo.find(Filter::all(), PageRequest::new(limit)).await {
            Err(Error::Validation { field, .. }) => assert_eq!(field, "limit"),
            other => panic!("expected Validation, got {other:?}"),
        }
    }
    let err = repo
        .update_where(Filter::all(), Vec::new())
        .await
        .unwrap_err();
    assert!(err.is_validation(), "{err:?}");
    assert!(matches!(
        repo.count(Filter::all()).await,
        Err(Error::Database(_))
    ));
}

async fn count_exists_update_where_delete_where(db: Db) {
    setup(&db).await;
    let repo = WidgetRepository::new(&db);
    let all = seed(&repo).await;
    let active = all.iter().filter(|w| w.active).count() as u64;
    assert_eq!(repo.count(Widget::ACTIVE.eq(true)).await.unwrap(), active);
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 20);
    assert!(repo.exists(Widget::SKU.eq("F-03")).await.unwrap());
    assert!(!repo.exists(Widget::SKU.eq("nope")).await.unwrap());

    let before = repo.get(all[0].id).await.unwrap();
    let changed = repo
        .update_where(
            Widget::QTY.lt(5),
            [Widget::NAME.set("cheap"), Widget::WEIGHT.set_null()],
        )
        .await
        .unwrap();
    assert_eq!(changed, 5);
    let cheap = repo.find_all(Widget::NAME.eq("cheap")).await.unwrap();
    assert_eq!(ids(&cheap), ids(&all[..5]));
    assert!(cheap.iter().all(|w| w.weight.is_none()));
    assert!(cheap[0].updated_at > before.updated_at, "updated_at bumped");
    assert_eq!(cheap[0].created_at, before.created_at);
    let untouched = repo.get(all[10].id).await.unwrap();
    assert_eq!(untouched, all[10]);

    let changed = repo
        .update_where(
            Widget::SKU.eq("F-10"),
            [Widget::STATUS.set(Status::Retired)],
        )
        .await
        .unwrap();
    assert_eq!(changed, 1);
    assert_eq!(repo.get(all[10].id).await.unwrap().status, Status::Retired);

    let deleted = repo.delete_where(Widget::QTY.gte(15)).await.unwrap();
    assert_eq!(deleted, 5);
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 15);
    assert_eq!(repo.count(Widget::QTY.gte(15)).await.unwrap(), 0);
}

async fn stream_yields_every_row_in_key_order(db: Db) {
    setup(&db).await;
    let repo = WidgetRepository::new(&db);
    let rows: Vec<Widget> = (0..1_000)
        .map(|i| Widget::new(&format!("st-{i:04}")))
        .collect();
    assert_eq!(repo.bulk_insert(&rows).await.unwrap(), 1_000);
    let mut stream = repo.stream(Widget::SKU.like("st-%"));
    let mut count = 0;
    let mut last_id = 0;
    while let Some(widget) = stream.try_next().await.unwrap() {
        assert!(widget.id > last_id);
        last_id = widget.id;
        count += 1;
    }
    assert_eq!(count, 1_000);
    drop(stream);

    // Inside a session the stream sees the session's own writes.
    let session = db.begin().await.unwrap();
    let in_session = WidgetRepository::new(&session);
    in_session.insert(&Widget::new("st-extra")).await.unwrap();
    let streamed: Vec<Widget> = in_session
        .stream(Widget::SKU.like("st-%"))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed.len(), 1_001);
    session.rollback().await.unwrap();
}

async fn custom_queries_use_the_same_tools(db: Db) {
    setup(&db).await;
    let repo = WidgetRepository::new(&db);
    let all = seed(&repo).await;
    let stats = repo.count_by_status().await.unwrap();
    let count = |s: Status| all.iter().filter(|w| w.status == s).count() as i64;
    assert_eq!(
        stats,
        vec![
            StatusCount {
                status: "active".into(),
                count: count(Status::Active)
            },
            StatusCount {
                status: "draft".into(),
                count: count(Status::Draft)
            },
            StatusCount {
                status: "retired".into(),
                count: count(Status::Retired)
            },
        ]
    );
    // update_returning: the stored rows come back, with updated_at moved on.
    let mut update = repo.update_returning();
    update
        .value(Widget::NAME.name(), "bulk renamed")
        .cond_where(repo.condition(Widget::QTY.lt(3)));
    let renamed = repo.fetch_updated(update).await.unwrap();
    let mut renamed_ids = ids(&renamed);
    renamed_ids.sort_unstable();
    assert_eq!(renamed_ids, ids(&all[..3]));
    for (row, before) in renamed
        .iter()
        .filter_map(|r| all.iter().find(|w| w.id == r.id).map(|w| (r, w)))
    {
        assert_eq!(row.name, "bulk renamed");
        assert!(row.updated_at > before.updated_at);
        assert_eq!(repo.get(row.id).await.unwrap(), *row);
    }
    let heavy = repo.heavier_than(20.0).await.unwrap();
    let mut want: Vec<&Widget> = all
        .iter()
        .filter(|w| w.weight.is_some_and(|x| x > 20.0))
        .collect();
    want.sort_by(|a, b| b.weight.partial_cmp(&a.weight).unwrap());
    assert_eq!(ids(&heavy), want.iter().map(|w| w.id).collect::<Vec<_>>());
}

async fn schema_creation_is_idempotent(db: Db) {
    setup(&db).await;
    setup(&db).await;
    let repo = WidgetRepository::new(&db);
    repo.insert(&Widget::new("I-1")).await.unwrap();
    db.drop_schema::<Widget>().await.unwrap();
    db.create_schema::<Widget>().await.unwrap();
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 0);
}
