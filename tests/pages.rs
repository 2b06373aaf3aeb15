//! Keyset pagination: sealed cursors, ties broken by primary key, bad cursors rejected.

use repo_core::prelude::*;
use repo_core::{Error, MAX_PAGE_LIMIT};
use repo_tests::entities::*;

repo_tests::on_every_backend!(
    keyset_pages_cover_every_row_once,
    keyset_with_mixed_directions,
    bad_cursors_and_orders_are_validation_errors,
    cursors_show_nothing_of_their_position,
    edited_and_foreign_cursors_are_refused_before_sending,
    deep_keyset_pages_seek_the_index,
);

async fn seed(db: &Db) -> Vec<Widget> {
    db.create_schema::<Widget>().await.unwrap();
    let repo = WidgetRepository::new(db);
    let rows: Vec<Widget> = (0..250)
        .map(|i| {
            let mut w = Widget::new(&format!("K-{i:03}"));
            w.qty = (i * 7) % 13; // many ties
            w.name = format!("n{}", (i * 11) % 17);
            w
        })
        .collect();
    repo.bulk_insert(&rows).await.unwrap();
    repo.find_all(Filter::all()).await.unwrap()
}

async fn walk(
    repo: &WidgetRepository<'_>,
    filter: &Filter<Widget>,
    request: impl Fn() -> KeysetRequest<Widget>,
) -> Vec<i64> {
    let mut out = Vec::new();
    let mut cursor: Option<Cursor> = None;
    let mut pages = 0;
    loop {
        let page = repo
            .find_keyset(filter.clone(), request().after_opt(cursor.take()))
            .await
            .unwrap();
        assert!(page.items.len() <= 40);
        out.extend(page.items.iter().map(|w| w.id));
        pages += 1;
        assert!(pages < 100, "pagination does not end");
        match page.next {
            Some(next) => {
                assert_eq!(page.items.len(), 40, "only the last page is short");
                cursor = Some(Cursor::from(next.to_string()));
            }
            None => break,
        }
    }
    out
}

async fn keyset_pages_cover_every_row_once(db: Db) {
    let all = seed(&db).await;
    let repo = WidgetRepository::new(&db);
    let got = walk(&repo, &Filter::all(), || {
        KeysetRequest::new(40).order_by(Widget::QTY.desc())
    })
    .await;
    let mut want: Vec<&Widget> = all.iter().collect();
    want.sort_by(|a, b| b.qty.cmp(&a.qty).then(b.id.cmp(&a.id)));
    assert_eq!(got, want.iter().map(|w| w.id).collect::<Vec<_>>());

    // With a filter, and by primary key alone.
    let filter = Widget::QTY.gte(5);
    let got = walk(&repo, &filter, || KeysetRequest::new(40)).await;
    let want: Vec<i64> = all.iter().filter(|w| w.qty >= 5).map(|w| w.id).collect();
    assert_eq!(got, want);

    // A page exactly at the end has no next cursor.
    let exact = repo
        .find_keyset(Filter::all(), KeysetRequest::new(250))
        .await
        .unwrap();
    assert_eq!(exact.items.len(), 250);
    assert!(exact.next.is_none());
}

async fn keyset_with_mixed_directions(db: Db) {
    let all = seed(&db).await;
    let repo = WidgetRepository::new(&db);
    let got = walk(&repo, &Filter::all(), || {
        KeysetRequest::new(40)
            .order_by(Widget::NAME.asc())
            .order_by(Widget::QTY.desc())
    })
    .await;
    let mut want: Vec<&Widget> = all.iter().collect();
    want.sort_by(|a, b| {
        a.name
            .cmp(&b.name)
            .then(b.qty.cmp(&a.qty))
            .then(b.id.cmp(&a.id))
    });
    assert_eq!(got, want.iter().map(|w| w.id).collect::<Vec<_>>());
}

/// Orders to take cursors under: the primary key alone, text, a tied integer, a timestamp.
fn cursor_orders() -> Vec<Option<repo_core::Order<Widget>>> {
    vec![
        None,
        Some(Widget::SKU.asc()),
        Some(Widget::QTY.desc()),
        Some(Widget::CREATED_AT.asc()),
    ]
}

fn ordered(order: Option<&repo_core::Order<Widget>>, limit: u64) -> KeysetRequest<Widget> {
    match order {
        Some(order) => KeysetRequest::new(limit).order_by(order.clone()),
        None => KeysetRequest::new(limit),
    }
}

fn ids(page: &KeysetPage<Widget>) -> Vec<i64> {
    page.items.iter().map(|w| w.id).collect()
}

/// A cursor shows nothing of where it points: not the table, the columns, the last row's
/// values, nor even how many digits its key has; each cursor of one position is new, and
/// each continues in the same place.
async fn cursors_show_nothing_of_their_position(db: Db) {
    seed(&db).await;
    let repo = WidgetRepository::new(&db);
    for order in &cursor_orders() {
        let page = repo
            .find_keyset(Filter::all(), ordered(order.as_ref(), 7))
            .await
            .unwrap();
        let last = page.items.last().unwrap();
        let cursor = page.next.clone().unwrap();
        let needles = [
            "widgets".to_owned(),
            "sku".to_owned(),
            "created_at".to_owned(),
            last.sku.clone(),
            last.created_at.format("%Y-%m-%dT%H:%M:%S").to_string(),
            format!(",{}]", last.id),
            format!("[{}]", last.id),
        ];
        for needle in &needles {
            assert!(
                !repo_tests::cursor_shows(&cursor, needle),
                "{order:?}: the cursor {cursor} shows {needle:?}"
            );
        }
        let again = repo
            .find_keyset(Filter::all(), ordered(order.as_ref(), 7))
            .await
            .unwrap()
            .next
            .unwrap();
        assert_ne!(again, cursor);
        let next = |cursor: Cursor| {
            repo.find_keyset(Filter::all(), ordered(order.as_ref(), 5).after(cursor))
        };
        assert_eq!(
            ids(&next(again).await.unwrap()),
            ids(&next(cursor).await.unwrap())
        );
    }
    // The length does not tell a one-digit key from a three-digit one.
    let mut lengths = Vec::new();
    for limit in [3, 30, 200] {
        let page = repo
            .find_keyset(Filter::all(), KeysetRequest::new(limit))
            .await
            .unwrap();
        assert_eq!(
            page.items.last().unwrap().id.to_string().len(),
            limit.to_string().len()
        );
        lengths.push(page.next.unwrap().as_str().len());
    }
    assert!(lengths.windows(2).all(|w| w[0] == w[1]), "{lengths:?}");
}

/// Every edit a client can make to a cursor, and every cursor of another order, entity or
/// key, is refused before anything is sent.
async fn edited_and_foreign_cursors_are_refused_before_sending(db: Db) {
    seed(&db).await;
    let repo = WidgetRepository::new(&db);
    let mut cursors = Vec::new();
    for order in cursor_orders() {
        let page = repo
            .find_keyset(Filter::all(), ordered(order.as_ref(), 7))
            .await
            .unwrap();
        cursors.push((order, page.next.unwrap()));
    }
    let other = Db::connect("sqlite::memory:").await.unwrap();
    other.create_schema::<Widget>().await.unwrap();
    // From here on a statement sent would fail: a refusal is a `Validation`, made before.
    db.close().await;
    let refused = |result: Result<KeysetPage<Widget>, Error>, what: &str| match result {
        Err(Error::Validation { field, .. }) => assert_eq!(field, "cursor", "{what}"),
        other => panic!("{what}: expected a refused cursor, got {other:?}"),
    };
    for (at, (order, cursor)) in cursors.iter().enumerate() {
        for text in repo_tests::CursorBytes::of(cursor).tampered() {
            let request = ordered(order.as_ref(), 5).after(text.as_str());
            let result = repo.find_keyset(Filter::all(), request).await;
            refused(result, &format!("{order:?} edited: {text}"));
        }
        // Another order's cursor, another entity's, another key's.
        for (_, (other_order, _)) in cursors.iter().enumerate().filter(|(i, _)| *i != at) {
            let request = ordered(other_order.as_ref(), 5).after(cursor.clone());
            let result = repo.find_keyset(Filter::all(), request).await;
            refused(result, &format!("{order:?} as {other_order:?}"));
        }
        let result = ReadingRepository::new(&db)
            .find_keyset(Filter::all(), KeysetRequest::new(5).after(cursor.clone()))
            .await;
        assert!(
            matches!(&result, Err(Error::Validation { field, .. }) if field == "cursor"),
            "{order:?} on readings: {result:?}"
        );
        let request = ordered(order.as_ref(), 5).after(cursor.clone());
        let result = WidgetRepository::new(&other)
            .find_keyset(Filter::all(), request)
            .await;
        refused(result, &format!("{order:?} on another Db"));
    }
}

async fn bad_cursors_and_orders_are_validation_errors(db: Db) {
    seed(&db).await;
    let repo = WidgetRepository::new(&db);
    let first = repo
        .find_keyset(
            Filter::all(),
            KeysetRequest::new(10).order_by(Widget::QTY.asc()),
        )
        .await
        .unwrap();
    let cursor = first.next.unwrap();
    let field_of = |r: Result<KeysetPage<Widget>, Error>| match r {
        Err(Error::Validation { field, .. }) => field,
        other => panic!("expected Validation, got {other:?}"),
    };
    // Another order than the cursor was made for.
    assert_eq!(
        field_of(
            repo.find_keyset(
                Filter::all(),
                KeysetRequest::new(10)
                    .order_by(Widget::RANK.asc())
                    .after(cursor.clone())
            )
            .await
        ),
        "cursor"
    );
    // Garbage.
    for junk in ["", "not-a-cursor", "eyJrIjoxfQ"] {
        assert_eq!(
            field_of(
                repo.find_keyset(
                    Filter::all(),
                    KeysetRequest::new(10)
                        .order_by(Widget::QTY.asc())
                        .after(junk)
                )
                .await
            ),
            "cursor"
        );
    }
    // Bad limits.
    for limit in [0, MAX_PAGE_LIMIT + 1] {
        assert_eq!(
            field_of(
                repo.find_keyset(Filter::all(), KeysetRequest::new(limit))
                    .await
            ),
            "limit"
        );
    }
}

/// The plan of a page deep in the result seeks the `(score, id)` index from the cursor: no
/// sort and no scan of the rows before it, so its cost does not grow with depth.
async fn deep_keyset_pages_seek_the_index(db: Db) {
    db.create_schema::<Score>().await.unwrap();
    let repo = ScoreRepository::new(&db);
    let rows: Vec<Score> = (0..20_000)
        .map(|i| Score {
            id: 0,
            player: format!("p{i}"),
            score: (i * 7919) % 1000,
        })
        .collect();
    repo.bulk_insert(&rows).await.unwrap();
    let analyze = match db.backend() {
        repo_core::Backend::Postgres => "ANALYZE scores",
        repo_core::Backend::MySql => "ANALYZE TABLE scores",
        _ => "ANALYZE",
    };
    repo.conn()
        .execute(repo_core::Statement::new(analyze, Vec::new()))
        .await
        .unwrap();

    // Walk to a deep page, then look at the plan of the next one.
    let request = || KeysetRequest::new(500).order_by(Score::SCORE.desc());
    let mut cursor = None;
    for _ in 0..30 {
        let page = repo
            .find_keyset(Filter::all(), request().after_opt(cursor))
            .await
            .unwrap();
        cursor = page.next;
    }
    let statement = repo
        .keyset_statement(Filter::all(), &request().after_opt(cursor))
        .unwrap();
    let explain = match db.backend() {
        repo_core::Backend::Postgres | repo_core::Backend::MySql => "EXPLAIN ",
        _ => "EXPLAIN QUERY PLAN ",
    };
    let plan_rows = repo
        .conn()
        .fetch_all(repo_core::Statement::new(
            format!("{explain}{}", statement.sql()),
            statement.values().to_vec(),
        ))
        .await
        .unwrap();
    let plan: String = if db.backend() == repo_core::Backend::MySql {
        // One row per table: access type, index, extra notes.
        plan_rows
            .iter()
            .map(|row| {
                let text = |name: &str| {
                    row.try_get::<Option<String>>(row.index_of(name).unwrap())
                        .unwrap()
                        .unwrap_or_default()
                };
                format!("{} {} {}", text("type"), text("key"), text("Extra"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        let column = usize::from(db.backend() != repo_core::Backend::Postgres) * 3;
        plan_rows
            .iter()
            .map(|row| row.try_get::<String>(column).unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(
        plan.contains("scores_score_id_idx"),
        "uses the index:\n{plan}"
    );
    assert!(
        !plan.contains("Sort") && !plan.contains("TEMP B-TREE") && !plan.contains("filesort"),
        "no sort:\n{plan}"
    );
    assert!(
        !plan.contains("Seq Scan") && !plan.contains("SCAN scores") && !plan.starts_with("ALL"),
        "no scan:\n{plan}"
    );
    match db.backend() {
        repo_core::Backend::MySql => {
            assert!(plan.starts_with("range"), "seeks from the cursor:\n{plan}");
        }
        repo_core::Backend::Postgres => {
            assert!(
                plan.contains("Index Cond"),
                "seeks from the cursor:\n{plan}"
            );
        }
        _ => assert!(
            plan.contains("SEARCH scores USING"),
            "seeks from the cursor:\n{plan}"
        ),
    }
}
