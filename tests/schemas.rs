//! Tables outside the connection's default place, `#[repo(schema = "repo_sales")]`: a
//! PostgreSQL schema, a MariaDB database, a SQLite database attached to every connection.
//! Every statement names the qualified table: a table of the same name in the default place
//! is never read or written, `create_schema` creates the schema where the backend can, and
//! `verify` reads the catalog of the declared schema.

use chrono::NaiveDate;
use repo_core::prelude::*;
use repo_core::{DbOptions, Error, SchemaDifference};

/// An order in the `repo_sales` schema.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "orders", schema = "repo_sales", unique(reference))]
pub struct SaleOrder {
    #[repo(primary_key, auto)]
    pub id: i64,
    pub reference: String,
    pub amount: i64,
    pub placed: NaiveDate,
    #[repo(version)]
    pub version: i64,
    #[repo(soft_delete)]
    pub deleted_at: Option<DateTime<Utc>>,
}

/// The table of the same name in the default place, which must stay untouched.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "orders")]
pub struct LocalOrder {
    #[repo(primary_key)]
    pub id: i64,
    pub reference: String,
}

/// A line of an order, keyed by the pair, in the same schema.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "order_lines", schema = "repo_sales")]
pub struct OrderLine {
    #[repo(primary_key)]
    pub order_id: i64,
    #[repo(primary_key)]
    pub line: i32,
    pub sku: String,
}

/// `OrderLine`'s table declared with a column it does not have.
#[derive(Debug, Clone, PartialEq, Repository)]
#[repo(table = "order_lines", schema = "repo_sales")]
pub struct WrongLine {
    #[repo(primary_key)]
    pub order_id: i64,
    #[repo(primary_key)]
    pub line: i32,
    pub colour: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    let file = std::env::temp_dir().join(format!("repo-test-{}-sales.db", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let attach = format!("ATTACH DATABASE '{}' AS repo_sales", file.display());
    let db = repo_tests::sqlite_with("schemas", DbOptions::new().on_connect(attach)).await;
    every_operation_stays_in_its_schema(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    let db = repo_tests::postgres("schemas").await;
    repo_tests::raw_sql(&db, "DROP SCHEMA IF EXISTS repo_sales CASCADE")
        .await
        .unwrap();
    every_operation_stays_in_its_schema(db).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql() {
    let db = repo_tests::mysql("schemas").await;
    repo_tests::raw_sql(&db, "DROP DATABASE IF EXISTS repo_sales")
        .await
        .unwrap();
    every_operation_stays_in_its_schema(db).await;
}

fn date(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 3, day).expect("a valid date")
}

fn order(reference: &str, amount: i64) -> SaleOrder {
    SaleOrder::from_new(NewSaleOrder {
        reference: reference.into(),
        amount,
        placed: date(1),
    })
}

async fn every_operation_stays_in_its_schema(db: Db) {
    db.create_schema::<LocalOrder>().await.unwrap();
    db.create_schema::<SaleOrder>().await.unwrap();
    db.create_schema::<OrderLine>().await.unwrap();
    // Creating again changes nothing.
    db.create_schema::<SaleOrder>().await.unwrap();
    let local = LocalOrderRepository::new(&db);
    local
        .insert(&LocalOrder {
            id: 1,
            reference: "local".into(),
        })
        .await
        .unwrap();

    let orders = SaleOrderRepository::new(&db);
    let first = orders.insert(&order("A-1", 10)).await.unwrap();
    assert_eq!(first.version, 0);
    orders
        .bulk_insert(&[order("A-2", 20), order("A-3", 30)])
        .await
        .unwrap();
    assert_eq!(
        orders
            .bulk_upsert(&[order("A-3", 33), order("A-4", 40)])
            .await
            .unwrap(),
        2
    );
    let mut changed = orders.get(first.id).await.unwrap();
    changed.amount = 11;
    let stored = orders.update(&changed).await.unwrap();
    assert_eq!((stored.amount, stored.version), (11, 1));
    assert!(matches!(
        orders.update(&changed).await,
        Err(Error::StaleVersion { .. })
    ));
    assert_eq!(
        orders
            .update_where(SaleOrder::AMOUNT.gte(30), [SaleOrder::PLACED.set(date(9))])
            .await
            .unwrap(),
        2
    );
    assert!(orders.delete(first.id).await.unwrap());
    assert_eq!(orders.count(Filter::all()).await.unwrap(), 3);
    assert_eq!(orders.with_deleted().count(Filter::all()).await.unwrap(), 4);
    orders.restore(first.id).await.unwrap();
    let page = orders
        .find(
            Filter::all(),
            PageRequest::new(2).order_by(SaleOrder::AMOUNT.desc()),
        )
        .await
        .unwrap();
    assert_eq!(page.total, 4);
    let amounts: Vec<i64> = page.items.iter().map(|o| o.amount).collect();
    assert_eq!(amounts, [40, 33]);
    let keyset = orders
        .find_keyset(
            Filter::all(),
            KeysetRequest::new(10).order_by(SaleOrder::REFERENCE.asc()),
        )
        .await
        .unwrap();
    let references: Vec<&str> = keyset.items.iter().map(|o| o.reference.as_str()).collect();
    assert_eq!(references, ["A-1", "A-2", "A-3", "A-4"]);

    custom_queries_name_the_qualified_table(&orders).await;
    lines_and_verify(&db, first.id).await;

    // The table of the same name in the default place saw none of it.
    let untouched = local.find_all(Filter::all()).await.unwrap();
    assert_eq!(
        untouched,
        [LocalOrder {
            id: 1,
            reference: "local".into()
        }]
    );
    db.drop_schema::<OrderLine>().await.unwrap();
    db.drop_schema::<SaleOrder>().await.unwrap();
    assert!(orders.count(Filter::all()).await.is_err(), "dropped");
    assert_eq!(local.count(Filter::all()).await.unwrap(), 1);
}

#[derive(FromRow)]
struct Count {
    n: i64,
}

/// A custom query names the qualified table through `table()`.
async fn custom_queries_name_the_qualified_table(orders: &SaleOrderRepository<'_>) {
    let mut select = orders.select();
    select.and_where(SaleOrder::PLACED.expr().eq(date(9)));
    assert_eq!(orders.fetch_entities(&select).await.unwrap().len(), 2);
    let count = Query::select()
        .expr_as(count_rows(), "n")
        .from(SaleOrder::table())
        .cond_where(orders.visible())
        .to_owned();
    let rows: Vec<Count> = orders.fetch_rows(&count).await.unwrap();
    assert_eq!(rows[0].n, 4);
}

/// Composite keys in the schema too, and `verify` reads the declared schema's catalog.
async fn lines_and_verify(db: &Db, first: i64) {
    let lines = OrderLineRepository::new(db);
    let line = |order_id, line| OrderLine {
        order_id,
        line,
        sku: format!("sku-{line}"),
    };
    lines
        .bulk_upsert(&[line(first, 1), line(first, 2), line(2, 1)])
        .await
        .unwrap();
    assert!(lines.delete((first, 2)).await.unwrap());
    assert_eq!(lines.count(Filter::all()).await.unwrap(), 2);
    db.verify::<SaleOrder>().await.unwrap();
    db.verify::<OrderLine>().await.unwrap();
    db.verify::<LocalOrder>().await.unwrap();
    match db.verify::<WrongLine>().await.unwrap_err() {
        Error::Schema { differences, .. } => assert!(
            differences
                .iter()
                .any(|d| matches!(d, SchemaDifference::ColumnMissing { column, .. } if column == "colour")),
            "{differences:?}"
        ),
        other => panic!("expected a schema error, got {other:?}"),
    }
}
