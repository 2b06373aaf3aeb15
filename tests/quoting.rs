//! A double-quoted name is an identifier on every backend: one that names no column is an
//! error, never the string literal SQLite would otherwise read it as.

use repo_core::prelude::*;
use repo_core::{Backend, Statement};
use repo_tests::entities::*;

repo_tests::on_every_backend!(
    unknown_double_quoted_names_are_errors,
    single_quoted_strings_still_work,
);

/// `SELECT "nope"` by hand on the pool: the row it returns, or the error.
async fn select_nope(db: &Db) -> Result<String, sqlx::Error> {
    match db.backend() {
        Backend::Sqlite => {
            sqlx::query_scalar(r#"SELECT "nope""#)
                .fetch_one(db.sqlite_pool().unwrap())
                .await
        }
        Backend::MySql => {
            sqlx::query_scalar(r#"SELECT "nope""#)
                .fetch_one(db.mysql_pool().unwrap())
                .await
        }
        _ => repo_tests::pg_query_as::<(String,)>(db, r#"SELECT "nope""#)
            .await
            .map(|rows| rows[0].0.clone()),
    }
}

async fn unknown_double_quoted_names_are_errors(db: Db) {
    db.create_schema::<Widget>().await.unwrap();
    let repo = WidgetRepository::new(&db);
    repo.insert(&Widget::new("A-1")).await.unwrap();

    let typo = || Filter::from_condition(Expr::col("no_such_column").eq("no_such_column"));
    let counted = repo.count(typo()).await;
    assert!(
        counted.is_err(),
        "a filter on an unknown column fails: {counted:?}"
    );
    let found = repo.find_all(typo()).await;
    assert!(found.is_err(), "{found:?}");

    // The same inside a session (its connection comes from the same pool).
    let session = db.begin().await.unwrap();
    let in_session = WidgetRepository::new(&session).count(typo()).await;
    assert!(in_session.is_err(), "{in_session:?}");
    drop(session);

    // A custom statement selecting an unknown double-quoted name.
    let custom = repo
        .fetch_entities_statement(Statement::new(
            r#"SELECT "no_such_column" FROM widgets"#,
            vec![],
        ))
        .await;
    assert!(custom.is_err(), "{custom:?}");

    // Hand-written SQL on the pool the Db opened.
    let by_hand = select_nope(&db).await;
    assert!(by_hand.is_err(), "{by_hand:?}");

    // DDL too: a default written in double quotes is not a string literal.
    let ddl = repo_tests::raw_sql(
        &db,
        r#"CREATE TABLE quoted (x text DEFAULT "nope" CHECK (x <> "nope"))"#,
    )
    .await;
    assert!(ddl.is_err(), "{ddl:?}");

    // Nothing of it changed the stored row.
    assert_eq!(repo.count(Filter::all()).await.unwrap(), 1);
}

async fn single_quoted_strings_still_work(db: Db) {
    db.create_schema::<Widget>().await.unwrap();
    let repo = WidgetRepository::new(&db);
    repo.insert(&Widget::new("A-1")).await.unwrap();
    let select = Query::select()
        .expr_as(Expr::cust("'literal'"), "status")
        .expr_as(Expr::cust(r#"COUNT("sku")"#), "count")
        .from(Widget::TABLE)
        .to_owned();
    let rows: Vec<StatusCount> = repo.fetch_rows(&select).await.unwrap();
    assert_eq!(
        rows,
        [StatusCount {
            status: "literal".into(),
            count: 1
        }]
    );
}
