//! Running behind `PgBouncer` 1.18 in transaction-pooling mode (`bash .ci/pgbouncer.sh start`):
//! every operation, session and stream works with `?pooler=transaction`, settings stay with
//! the client that made them, statements that need a session are refused, and the same crowd
//! without the mode fails (the control that shows the pooler is really in the way).

use std::time::Duration;

use futures_util::StreamExt as _;
use repo_core::prelude::*;
use repo_core::{DbOptions, Error, KeysetRequest, PageRequest, Statement};
use repo_tests::entities::*;

async fn through_pooler(test: &str, options: DbOptions) -> Db {
    let url = repo_tests::pgbouncer_fresh_url(test).await;
    Db::connect_with(&format!("{url}&pooler=transaction"), options)
        .await
        .unwrap()
}

fn widget(sku: &str, qty: i32) -> Widget {
    let mut widget = Widget::new(sku);
    widget.qty = qty;
    widget
}

/// One text value `sql` selects, through the framework.
async fn text(db: &Db, sql: &'static str) -> Result<String, Error> {
    let row = repo_core::Conn::from(db)
        .fetch_optional(Statement::new(sql, Vec::new()))
        .await?
        .expect("one row");
    Ok(row.try_get(0).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_runs_through_the_pooler() {
    let db = through_pooler("pooler_every_operation", DbOptions::new()).await;
    assert!(db.through_transaction_pooler());
    db.create_schema::<Widget>().await.unwrap();
    let repo = WidgetRepository::new(&db);

    let first = repo.insert(&widget("a-1", 1)).await.unwrap();
    let mut changed = first.clone();
    changed.qty = 7;
    changed.status = Status::Active;
    assert_eq!(repo.update(&changed).await.unwrap().qty, 7);
    assert_eq!(repo.get(first.id).await.unwrap().status, Status::Active);
    let many: Vec<Widget> = (0..500).map(|i| widget(&format!("b-{i:03}"), i)).collect();
    assert_eq!(repo.bulk_upsert(&many).await.unwrap(), 500);
    assert_eq!(repo.upsert(&widget("a-1", 9)).await.unwrap().qty, 9);

    let page = repo
        .find(
            Widget::QTY.gte(100),
            PageRequest::new(10).order_by(Widget::QTY.desc()),
        )
        .await
        .unwrap();
    assert_eq!(page.total, 400);
    assert_eq!(page.items[0].qty, 499);
    let keyset = repo
        .find_keyset(Filter::all(), KeysetRequest::new(300))
        .await
        .unwrap();
    let rest = repo
        .find_keyset(
            Filter::all(),
            KeysetRequest::new(300).after(keyset.next.clone().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(keyset.items.len() + rest.items.len(), 501);
    let streamed: Vec<Widget> = repo
        .stream(Filter::all())
        .map(|w| w.unwrap())
        .collect()
        .await;
    assert_eq!(streamed.len(), 501);
    // A stream dropped after its first rows leaves the pool working.
    let mut early = repo.stream(Filter::all());
    early.next().await.unwrap().unwrap();
    drop(early);
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 501);

    // A session commits its writes; a conflict in the middle undoes only that statement.
    let session = db.begin().await.unwrap();
    let in_session = WidgetRepository::new(&session);
    in_session.insert(&widget("s-1", 1)).await.unwrap();
    let clash = in_session.insert(&widget("s-1", 2)).await.unwrap_err();
    assert!(clash.is_constraint_violation(), "{clash}");
    in_session.insert(&widget("s-2", 2)).await.unwrap();
    session.commit().await.unwrap();
    // Another rolls back; a third fails mid-way and cannot commit.
    let session = db.begin().await.unwrap();
    WidgetRepository::new(&session)
        .insert(&widget("r-1", 1))
        .await
        .unwrap();
    session.rollback().await.unwrap();
    let session = db.begin().await.unwrap();
    WidgetRepository::new(&session)
        .insert(&widget("f-1", 1))
        .await
        .unwrap();
    let bad = repo_core::Conn::from(&session)
        .execute(Statement::new(
            "SELECT no_such_column FROM widgets",
            Vec::new(),
        ))
        .await;
    assert!(bad.is_err());
    assert!(matches!(
        session.commit().await,
        Err(Error::SessionAborted { .. })
    ));
    let skus: Vec<String> = repo
        .find_all(
            Widget::SKU
                .starts_with("s-")
                .or(Widget::SKU.starts_with("r-"))
                .or(Widget::SKU.starts_with("f-")),
        )
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.sku)
        .collect();
    assert_eq!(skus, ["s-1", "s-2"]);

    assert!(repo.delete(first.id).await.unwrap());
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 502);
    // The tables live in the test's schema, named by the URL's options through the pooler.
    assert_eq!(
        text(&db, "SELECT current_schema()::text").await.unwrap(),
        "t_pooler_every_operation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_see_their_own_statement_timeouts() {
    let quick = through_pooler(
        "pooler_timeouts",
        DbOptions::new().statement_timeout(Duration::from_millis(50)),
    )
    .await;
    let patient = through_pooler(
        "pooler_timeouts",
        DbOptions::new().statement_timeout(Duration::from_secs(10)),
    )
    .await;
    // A client without the mode, through the same pooler: what the others set must never
    // reach it (simple queries, which a pooler serves without the mode).
    let url = repo_tests::pgbouncer_fresh_url("pooler_timeouts").await;
    let bystander = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(&url.replace(
            "options=-c%20search_path%3Dt_pooler_timeouts",
            "sslmode=disable",
        ))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for task in 0..16 {
        let (quick, patient, bystander) = (quick.clone(), patient.clone(), bystander.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..20 {
                if task % 2 == 0 {
                    assert_eq!(
                        text(&quick, "SHOW statement_timeout").await.unwrap(),
                        "50ms"
                    );
                    let slow = text(&quick, "SELECT pg_sleep(0.2)::text").await;
                    assert!(matches!(slow, Err(Error::Timeout { .. })), "{slow:?}");
                } else {
                    assert_eq!(
                        text(&patient, "SHOW statement_timeout").await.unwrap(),
                        "10s"
                    );
                    text(&patient, "SELECT pg_sleep(0.06)::text").await.unwrap();
                }
                let row = sqlx::raw_sql("SHOW statement_timeout")
                    .fetch_one(&bystander)
                    .await
                    .unwrap();
                let seen: String = sqlx::Row::try_get(&row, 0).unwrap();
                assert_eq!(seen, "0", "a setting leaked to another client");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_that_need_a_session_are_refused_and_settings_are_per_transaction() {
    let url = repo_tests::pgbouncer_fresh_url("pooler_settings").await;
    let url = format!("{url}&pooler=transaction");
    for refused in [
        "LISTEN jobs",
        "SELECT pg_advisory_lock(1)",
        "SET a.b = 1; LISTEN x",
    ] {
        let error = Db::connect_with(&url, DbOptions::new().on_connect(refused))
            .await
            .unwrap_err();
        assert!(error.is_validation(), "{refused}: {error}");
        assert!(error.to_string().contains("pooler"), "{error}");
    }
    let db = Db::connect_with(
        &url,
        DbOptions::new().on_connect("SET application_name = 'pooled-app'"),
    )
    .await
    .unwrap();
    for _ in 0..20 {
        assert_eq!(
            text(&db, "SHOW application_name").await.unwrap(),
            "pooled-app"
        );
    }
    // The mode is PostgreSQL's: asked of another backend, it is refused before connecting.
    let error = Db::connect_with(
        &repo_tests::sqlite_fresh_url("pooler_on_sqlite"),
        DbOptions::new().transaction_pooler(true),
    )
    .await
    .unwrap_err();
    assert!(error.is_validation(), "{error}");
}

/// `tasks` tasks of mixed work on `db`: inserts, updates, reads, pages, sessions; the errors.
async fn crowd(db: &Db, tasks: usize, ops: usize) -> Vec<String> {
    let mut handles = Vec::new();
    for task in 0..tasks {
        let db = db.clone();
        handles.push(tokio::spawn(async move {
            let repo = WidgetRepository::new(&db);
            let mut errors = Vec::new();
            for op in 0..ops {
                let sku = format!("t{task}-{op}");
                let done: Result<(), Error> = async {
                    let stored = repo.insert(&widget(&sku, op as i32)).await?;
                    let mut changed = repo.get(stored.id).await?;
                    changed.qty += 1;
                    repo.update(&changed).await?;
                    repo.find(
                        Widget::SKU.starts_with(format!("t{task}-").as_str()),
                        PageRequest::new(5),
                    )
                    .await?;
                    let session = db.begin().await?;
                    WidgetRepository::new(&session)
                        .insert(&widget(&format!("{sku}-s"), 0))
                        .await?;
                    session.commit().await?;
                    Ok(())
                }
                .await;
                if let Err(error) = done {
                    errors.push(error.to_string());
                }
            }
            errors
        }));
    }
    let mut errors = Vec::new();
    for handle in handles {
        errors.extend(handle.await.unwrap());
    }
    errors
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_tasks_of_mixed_work_through_the_pooler() {
    let db = through_pooler("pooler_crowd", DbOptions::new().max_connections(64)).await;
    db.create_schema::<Widget>().await.unwrap();
    let errors = crowd(&db, 64, 40).await;
    assert!(
        errors.is_empty(),
        "{} errors: {:?}",
        errors.len(),
        &errors[..errors.len().min(5)]
    );
    let widgets = WidgetRepository::new(&db)
        .find_all(Filter::all())
        .await
        .unwrap();
    assert_eq!(widgets.len(), 64 * 40 * 2);
    assert!(
        widgets
            .iter()
            .filter(|w| !w.sku.ends_with("-s"))
            .all(|w| w.sku.ends_with(&format!("-{}", w.qty - 1))),
        "every update landed on its own row"
    );

    // The control: the same crowd through the same pooler, without the mode, fails. In a
    // database of its own (PgBouncer refuses the `options` that name the test's schema),
    // whose table is made on the server directly.
    let direct = repo_tests::postgres_url();
    let server = Db::connect(&direct).await.unwrap();
    let pool = server.postgres_pool().unwrap();
    let exists: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = 'pooler_control'")
            .fetch_optional(pool)
            .await
            .unwrap();
    if exists.is_none() {
        // Another run may be making it at the same moment.
        let _ = sqlx::raw_sql("CREATE DATABASE pooler_control")
            .execute(pool)
            .await;
    }
    server.close().await;
    let in_control = |url: &str| {
        let (head, _) = url.rsplit_once('/').unwrap();
        format!("{head}/pooler_control")
    };
    let direct = Db::connect(&in_control(&direct)).await.unwrap();
    direct.drop_schema::<Widget>().await.unwrap();
    direct.create_schema::<Widget>().await.unwrap();
    let through = std::env::var("REPO_TEST_PGBOUNCER_URL")
        .unwrap_or_else(|_| repo_tests::DEFAULT_PGBOUNCER_URL.into());
    let plain = Db::connect_with(&in_control(&through), DbOptions::new().max_connections(64))
        .await
        .unwrap();
    let errors = crowd(&plain, 64, 5).await;
    plain.close().await;
    direct.drop_schema::<Widget>().await.unwrap();
    assert!(
        errors.iter().any(|e| e.contains("prepared statement")),
        "the crowd passed without the pooler mode: {:?}",
        &errors[..errors.len().min(3)]
    );
}
