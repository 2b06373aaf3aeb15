//! Keyset pagination: opaque cursors, ties broken by primary key, bad cursors rejected.

use repo_core::prelude::*;
use repo_core::{Error, MAX_PAGE_LIMIT};
use repo_tests::entities::*;

repo_tests::on_every_backend!(
    keyset_pages_cover_every_row_once,
    keyset_with_mixed_directions,
    bad_cursors_and_orders_are_validation_errors,
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
            .then(a.id.cmp(&b.id))
    });
    assert_eq!(got, want.iter().map(|w| w.id).collect::<Vec<_>>());
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
