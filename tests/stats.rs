//! Custom statistics queries: portable aggregates and `#[derive(FromRow)]` rows, compared with
//! the same figures computed in Rust; and enum labels the Rust enum does not know, which are
//! decode errors naming the column and the label rather than rows left out.

use std::collections::BTreeMap;

use repo_core::prelude::*;
use repo_core::sea_query::SelectStatement;
use repo_core::{Backend, Error};
use repo_tests::entities::*;

repo_tests::on_every_backend!(
    aggregates_match_values_computed_in_rust,
    aggregates_over_no_rows,
    enum_cast_to_text_still_decodes,
    unknown_enum_label_is_a_decode_error,
    unknown_label_in_a_nullable_enum_column_is_a_decode_error,
    enum_labels_read_into_text_fields,
    an_integer_column_is_not_text,
    aggregates_written_with_sea_query_decode_as_the_typed_ones,
    sea_query_aggregates_over_no_rows_are_null,
    sea_query_sums_are_exact,
    a_fractional_aggregate_is_not_an_integer,
    a_sum_beyond_i64_is_an_error,
);

#[derive(Debug, PartialEq, FromRow)]
struct TierStats {
    tier: Tier,
    subscriptions: i64,
    seats: i64,
    mean_seats: Option<f64>,
    discount_total: i64,
    mean_discount: Option<f64>,
    revenue: f64,
    cheapest: f64,
    dearest: f64,
    #[repo(column = "first_start")]
    first_started_at: DateTime<Utc>,
    last_start: DateTime<Utc>,
}

fn tier_stats_query() -> SelectStatement {
    Query::select()
        .column(Subscription::TIER.name())
        .expr_as(count_rows(), "subscriptions")
        .expr_as(Subscription::SEATS.sum(), "seats")
        .expr_as(Subscription::SEATS.avg(), "mean_seats")
        .expr_as(Subscription::DISCOUNT.sum(), "discount_total")
        .expr_as(Subscription::DISCOUNT.avg(), "mean_discount")
        .expr_as(Subscription::PRICE.sum(), "revenue")
        .expr_as(Subscription::PRICE.min(), "cheapest")
        .expr_as(Subscription::PRICE.max(), "dearest")
        .expr_as(Subscription::STARTED_AT.min(), "first_start")
        .expr_as(Subscription::STARTED_AT.max(), "last_start")
        .from(Subscription::TABLE)
        .group_by_col(Subscription::TIER.name())
        .to_owned()
}

fn subscription(i: i64, tier: Tier, discount: Option<i32>) -> Subscription {
    let base = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
    Subscription {
        id: 0,
        customer: format!("customer {i}"),
        tier,
        previous_tier: None,
        seats: i * 3 + 1,
        discount,
        price: 9.5 * (i as f64) + 0.25,
        started_at: base + chrono::Duration::minutes(i * 37),
    }
}

async fn aggregates_match_values_computed_in_rust(db: Db) {
    db.create_schema::<Subscription>().await.unwrap();
    let repo = SubscriptionRepository::new(&db);
    let mut inserted = Vec::new();
    for i in 0..12 {
        let tier = [Tier::Free, Tier::Team, Tier::Pro][(i % 3) as usize];
        // Free subscriptions never have a discount: their average is NULL, their sum 0.
        let discount = match tier {
            Tier::Free => None,
            _ => (i % 2 == 0).then_some(i as i32 * 5),
        };
        inserted.push(repo.insert(&subscription(i, tier, discount)).await.unwrap());
    }

    let mut rows: Vec<TierStats> = repo.fetch_rows(&tier_stats_query()).await.unwrap();
    rows.sort_by_key(|r| r.tier);

    let mut groups: BTreeMap<Tier, Vec<&Subscription>> = BTreeMap::new();
    for s in &inserted {
        groups.entry(s.tier).or_default().push(s);
    }
    let expected: Vec<TierStats> = groups
        .into_iter()
        .map(|(tier, subs)| {
            let n = subs.len() as i64;
            let seats: i64 = subs.iter().map(|s| s.seats).sum();
            let discounts: Vec<i64> = subs
                .iter()
                .filter_map(|s| s.discount)
                .map(i64::from)
                .collect();
            let prices = subs.iter().map(|s| s.price);
            TierStats {
                tier,
                subscriptions: n,
                seats,
                mean_seats: Some(seats as f64 / n as f64),
                discount_total: discounts.iter().sum(),
                mean_discount: (!discounts.is_empty())
                    .then(|| discounts.iter().sum::<i64>() as f64 / discounts.len() as f64),
                revenue: subs.iter().map(|s| s.price).sum(),
                cheapest: prices.clone().fold(f64::INFINITY, f64::min),
                dearest: prices.fold(f64::NEG_INFINITY, f64::max),
                first_started_at: subs.iter().map(|s| s.started_at).min().unwrap(),
                last_start: subs.iter().map(|s| s.started_at).max().unwrap(),
            }
        })
        .collect();
    assert_eq!(rows, expected);
    assert_eq!(rows[0].mean_discount, None, "Free has only NULL discounts");
    assert_eq!(rows[0].discount_total, 0);

    // A tuple row decodes by position, the enum through the same path.
    let select = Query::select()
        .column(Subscription::TIER.name())
        .expr_as(Subscription::SEATS.max(), "most")
        .from(Subscription::TABLE)
        .group_by_col(Subscription::TIER.name())
        .to_owned();
    let mut most: Vec<(Tier, i64)> = repo.fetch_rows(&select).await.unwrap();
    most.sort();
    let mut expected: Vec<(Tier, i64)> = [Tier::Free, Tier::Team, Tier::Pro]
        .into_iter()
        .map(|t| {
            let max = inserted
                .iter()
                .filter(|s| s.tier == t)
                .map(|s| s.seats)
                .max();
            (t, max.unwrap())
        })
        .collect();
    expected.sort();
    assert_eq!(most, expected);
}

#[derive(Debug, PartialEq, FromRow)]
struct Totals {
    n: i64,
    seats: i64,
    price: f64,
    mean: Option<f64>,
    least: Option<i64>,
    first_tier: Option<Tier>,
}

async fn aggregates_over_no_rows(db: Db) {
    db.create_schema::<Subscription>().await.unwrap();
    let repo = SubscriptionRepository::new(&db);
    let select = Query::select()
        .expr_as(count_rows(), "n")
        .expr_as(Subscription::SEATS.sum(), "seats")
        .expr_as(Subscription::PRICE.sum(), "price")
        .expr_as(Subscription::SEATS.avg(), "mean")
        .expr_as(Subscription::SEATS.min(), "least")
        .expr_as(Subscription::TIER.min(), "first_tier")
        .from(Subscription::TABLE)
        .to_owned();
    let totals: Option<Totals> = repo.fetch_row(&select).await.unwrap();
    assert_eq!(
        totals,
        Some(Totals {
            n: 0,
            seats: 0,
            price: 0.0,
            mean: None,
            least: None,
            first_tier: None,
        })
    );
}

async fn enum_cast_to_text_still_decodes(db: Db) {
    db.create_schema::<Subscription>().await.unwrap();
    let repo = SubscriptionRepository::new(&db);
    repo.insert(&subscription(1, Tier::Pro, None))
        .await
        .unwrap();
    let select = Query::select()
        .expr_as(Subscription::TIER.expr().cast_as("text"), "tier")
        .from(Subscription::TABLE)
        .to_owned();
    let tiers: Vec<(Tier,)> = repo.fetch_rows(&select).await.unwrap();
    assert_eq!(tiers, [(Tier::Pro,)]);
}

/// Store `label` in `column` of subscription `id` with plain SQL, adding it to the PostgreSQL
/// enum type first.
async fn store_unknown_label(db: &Db, id: i64, column: &str, label: &str) {
    let update = format!("UPDATE subscriptions SET {column} = '{label}' WHERE id = {id}");
    if db.postgres_pool().is_some() {
        // Its own transaction: a label added in a transaction cannot be used in it.
        repo_tests::raw_sql(
            db,
            &format!("ALTER TYPE tier ADD VALUE IF NOT EXISTS '{label}'"),
        )
        .await
        .unwrap();
        repo_tests::raw_sql(db, &update).await.unwrap();
    } else if let Some(pool) = db.mysql_pool() {
        sqlx::raw_sql(sqlx::AssertSqlSafe(update))
            .execute(pool)
            .await
            .unwrap();
    } else {
        let pool = db
            .sqlite_pool()
            .expect("a SQLite, PostgreSQL or MySQL database");
        sqlx::raw_sql(sqlx::AssertSqlSafe(update))
            .execute(pool)
            .await
            .unwrap();
    }
}

#[track_caller]
fn assert_decode_error<T: std::fmt::Debug>(
    result: repo_core::Result<T>,
    column: &str,
    label: &str,
) {
    match result {
        Err(Error::Decode { column: c, reason }) => {
            assert_eq!(c, column, "the error names the column: {reason}");
            assert!(
                reason.contains(&format!("`{label}`")),
                "the reason names the label: {reason}"
            );
            assert!(
                reason.contains("Tier"),
                "the reason names the enum: {reason}"
            );
        }
        other => panic!("expected a decode error on `{column}`, got {other:?}"),
    }
}

async fn unknown_enum_label_is_a_decode_error(db: Db) {
    db.create_schema::<Subscription>().await.unwrap();
    let repo = SubscriptionRepository::new(&db);
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            repo.insert(&subscription(i, Tier::Team, Some(5)))
                .await
                .unwrap()
                .id,
        );
    }
    store_unknown_label(&db, ids[1], "tier", "enterprise").await;

    assert_decode_error(repo.find_all(Filter::all()).await, "tier", "enterprise");
    assert_decode_error(repo.get(ids[1]).await, "tier", "enterprise");
    assert_decode_error(
        repo.fetch_rows::<TierStats>(&tier_stats_query()).await,
        "tier",
        "enterprise",
    );
    // The rows with known labels still read.
    assert_eq!(repo.get(ids[0]).await.unwrap().tier, Tier::Team);
}

async fn unknown_label_in_a_nullable_enum_column_is_a_decode_error(db: Db) {
    db.create_schema::<Subscription>().await.unwrap();
    let repo = SubscriptionRepository::new(&db);
    let id = repo
        .insert(&subscription(1, Tier::Free, None))
        .await
        .unwrap()
        .id;
    store_unknown_label(&db, id, "previous_tier", "legacy").await;
    assert_decode_error(repo.get(id).await, "previous_tier", "legacy");
    assert_decode_error(
        repo.find_all(Filter::all()).await,
        "previous_tier",
        "legacy",
    );
}

#[derive(Debug, PartialEq, FromRow)]
struct TierText {
    tier: String,
    previous_tier: Option<String>,
    n: i64,
}

/// A `String` field reads an enum column's label on every backend (a native enum type on
/// PostgreSQL, text elsewhere), in a `FromRow` row, a tuple and through `Row::field`.
async fn enum_labels_read_into_text_fields(db: Db) {
    db.create_schema::<Subscription>().await.unwrap();
    let repo = SubscriptionRepository::new(&db);
    let previous = [None, Some(Tier::Free), Some(Tier::Team)];
    for (i, tier) in [Tier::Pro, Tier::Free, Tier::Pro].into_iter().enumerate() {
        let row = Subscription {
            previous_tier: previous[i],
            ..subscription(i as i64, tier, None)
        };
        repo.insert(&row).await.unwrap();
    }
    let select = Query::select()
        .column(Subscription::TIER.name())
        .column(Subscription::PREVIOUS_TIER.name())
        .expr_as(count_rows(), "n")
        .from(Subscription::TABLE)
        .group_by_col(Subscription::TIER.name())
        .group_by_col(Subscription::PREVIOUS_TIER.name())
        .to_owned();
    let mut rows: Vec<TierText> = repo.fetch_rows(&select).await.unwrap();
    rows.sort_by(|a, b| (&a.tier, &a.previous_tier).cmp(&(&b.tier, &b.previous_tier)));
    let text = |tier: &str, previous: Option<&str>| TierText {
        tier: tier.to_owned(),
        previous_tier: previous.map(str::to_owned),
        n: 1,
    };
    assert_eq!(
        rows,
        [
            text("free", Some("free")),
            text("pro", None),
            text("pro", Some("team")),
        ]
    );

    let select = Query::select()
        .column(Subscription::TIER.name())
        .expr_as(count_rows(), "n")
        .from(Subscription::TABLE)
        .group_by_col(Subscription::TIER.name())
        .to_owned();
    let mut counts: Vec<(String, i64)> = repo.fetch_rows(&select).await.unwrap();
    counts.sort();
    assert_eq!(counts, [("free".to_owned(), 1), ("pro".to_owned(), 2)]);
}

#[derive(Debug, FromRow)]
#[allow(dead_code)]
struct SeatsAsText {
    seats: String,
}

/// Reading enum labels as text does not make every column text: an integer column (or
/// expression) into a `String` field is still a decode error naming the column.
async fn an_integer_column_is_not_text(db: Db) {
    db.create_schema::<Subscription>().await.unwrap();
    let repo = SubscriptionRepository::new(&db);
    repo.insert(&subscription(1, Tier::Team, Some(3)))
        .await
        .unwrap();
    let column = Query::select()
        .column(Subscription::SEATS.name())
        .from(Subscription::TABLE)
        .to_owned();
    let expression = Query::select()
        .expr_as(count_rows(), "seats")
        .from(Subscription::TABLE)
        .to_owned();
    for select in [column, expression] {
        match repo.fetch_rows::<SeatsAsText>(&select).await {
            Err(Error::Decode { column, .. }) => assert_eq!(column, "seats"),
            other => panic!("expected a decode error on `seats`, got {other:?}"),
        }
        match repo.fetch_rows::<(String,)>(&select).await {
            Err(Error::Decode { column, .. }) => assert_eq!(column, "seats"),
            other => panic!("expected a decode error on `seats`, got {other:?}"),
        }
    }
}

#[derive(Debug, PartialEq, FromRow)]
struct LooseStats {
    tier: Tier,
    n: i64,
    seats: i64,
    seats_as_float: f64,
    mean_seats: Option<f64>,
    discount_total: Option<i64>,
    mean_discount: Option<f64>,
    most_seats: i64,
    least_discount: Option<i64>,
    dearest: f64,
}

/// `SUM`, `AVG`, `MIN`, `MAX` and `COUNT` written the sea-query way (NUMERIC, DECIMAL, INTEGER,
/// REAL, … depending on the backend) decode into `i64` / `f64` fields as the typed aggregates
/// do, with the same values.
async fn aggregates_written_with_sea_query_decode_as_the_typed_ones(db: Db) {
    db.create_schema::<Subscription>().await.unwrap();
    let repo = SubscriptionRepository::new(&db);
    let mut inserted = Vec::new();
    for i in 0..10 {
        let tier = [Tier::Free, Tier::Team, Tier::Pro][(i % 3) as usize];
        let discount = (tier != Tier::Free && i % 2 == 0).then_some(i as i32 * 5 + 1);
        inserted.push(repo.insert(&subscription(i, tier, discount)).await.unwrap());
    }
    let select = Query::select()
        .column(Subscription::TIER.name())
        .expr_as(Expr::col(Subscription::ID).count(), "n")
        .expr_as(Expr::col(Subscription::SEATS).sum(), "seats")
        .expr_as(Expr::col(Subscription::SEATS).sum(), "seats_as_float")
        .expr_as(Expr::col(Subscription::SEATS).avg(), "mean_seats")
        .expr_as(Expr::col(Subscription::DISCOUNT).sum(), "discount_total")
        .expr_as(Expr::col(Subscription::DISCOUNT).avg(), "mean_discount")
        .expr_as(Expr::col(Subscription::SEATS).max(), "most_seats")
        .expr_as(Expr::col(Subscription::DISCOUNT).min(), "least_discount")
        .expr_as(Expr::col(Subscription::PRICE).max(), "dearest")
        .from(Subscription::TABLE)
        .group_by_col(Subscription::TIER.name())
        .to_owned();
    let mut rows: Vec<LooseStats> = repo.fetch_rows(&select).await.unwrap();
    rows.sort_by_key(|r| r.tier);

    let typed = Query::select()
        .column(Subscription::TIER.name())
        .expr_as(Subscription::ID.count(), "n")
        .expr_as(Subscription::SEATS.sum(), "seats")
        .expr_as(Subscription::SEATS.sum(), "seats_as_float")
        .expr_as(Subscription::SEATS.avg(), "mean_seats")
        .expr_as(Subscription::DISCOUNT.sum(), "discount_total")
        .expr_as(Subscription::DISCOUNT.avg(), "mean_discount")
        .expr_as(Subscription::SEATS.max(), "most_seats")
        .expr_as(Subscription::DISCOUNT.min(), "least_discount")
        .expr_as(Subscription::PRICE.max(), "dearest")
        .from(Subscription::TABLE)
        .group_by_col(Subscription::TIER.name())
        .to_owned();
    let mut typed_rows: Vec<LooseStats> = repo.fetch_rows(&typed).await.unwrap();
    typed_rows.sort_by_key(|r| r.tier);

    let expected: Vec<LooseStats> = [Tier::Free, Tier::Team, Tier::Pro]
        .into_iter()
        .map(|tier| {
            let subs: Vec<&Subscription> = inserted.iter().filter(|s| s.tier == tier).collect();
            let seats: i64 = subs.iter().map(|s| s.seats).sum();
            let discounts: Vec<i64> = subs
                .iter()
                .filter_map(|s| s.discount.map(i64::from))
                .collect();
            let n = subs.len() as i64;
            LooseStats {
                tier,
                n,
                seats,
                seats_as_float: seats as f64,
                mean_seats: Some(seats as f64 / n as f64),
                discount_total: (!discounts.is_empty()).then(|| discounts.iter().sum()),
                mean_discount: (!discounts.is_empty())
                    .then(|| discounts.iter().sum::<i64>() as f64 / discounts.len() as f64),
                most_seats: subs.iter().map(|s| s.seats).max().unwrap(),
                least_discount: discounts.iter().copied().min(),
                dearest: subs
                    .iter()
                    .map(|s| s.price)
                    .fold(f64::NEG_INFINITY, f64::max),
            }
        })
        .collect();
    // The typed SUM is 0 over only NULLs; the plain one is NULL.
    for row in &mut typed_rows {
        if row.tier == Tier::Free {
            assert_eq!(row.discount_total, Some(0));
            row.discount_total = None;
        }
    }
    assert_eq!(rows, expected);
    assert_eq!(typed_rows, expected);
}

#[derive(Debug, PartialEq, FromRow)]
struct NullTotals {
    seats: Option<i64>,
    mean: Option<f64>,
    seats_as_float: Option<f64>,
}

/// Plain `SUM` and `AVG` over no rows are NULL: `None` in `Option<i64>` / `Option<f64>`
/// fields, and an error in a plain `i64` on every backend.
async fn sea_query_aggregates_over_no_rows_are_null(db: Db) {
    db.create_schema::<Subscription>().await.unwrap();
    let repo = SubscriptionRepository::new(&db);
    let select = Query::select()
        .expr_as(Expr::col(Subscription::SEATS).sum(), "seats")
        .expr_as(Expr::col(Subscription::SEATS).avg(), "mean")
        .expr_as(Expr::col(Subscription::SEATS).sum(), "seats_as_float")
        .from(Subscription::TABLE)
        .to_owned();
    let totals: Option<NullTotals> = repo.fetch_row(&select).await.unwrap();
    assert_eq!(
        totals,
        Some(NullTotals {
            seats: None,
            mean: None,
            seats_as_float: None,
        })
    );
    // NULL in a field that is not an `Option` (SQLite's driver alone would read 0, 0.0, "").
    let plain: repo_core::Result<Option<(i64,)>> = repo.fetch_row(&select).await;
    assert!(matches!(plain, Err(Error::Decode { .. })), "{plain:?}");
    let plain: repo_core::Result<Option<(f64,)>> = repo.fetch_row(&select).await;
    assert!(matches!(plain, Err(Error::Decode { .. })), "{plain:?}");
    let last = Query::select()
        .expr_as(Subscription::CUSTOMER.max(), "last")
        .from(Subscription::TABLE)
        .to_owned();
    let plain: repo_core::Result<Option<(String,)>> = repo.fetch_row(&last).await;
    assert!(matches!(plain, Err(Error::Decode { .. })), "{plain:?}");
    let none: Option<(Option<String>,)> = repo.fetch_row(&last).await.unwrap();
    assert_eq!(none, Some((None,)));
}

/// A plain `SUM` of 64-bit integers decodes exactly: a float on the way would round these.
async fn sea_query_sums_are_exact(db: Db) {
    db.create_schema::<Subscription>().await.unwrap();
    let repo = SubscriptionRepository::new(&db);
    let big = 4_000_000_000_000_000_003_i64;
    for seats in [big, big + 1, -3] {
        let row = Subscription {
            seats,
            ..subscription(1, Tier::Team, None)
        };
        repo.insert(&row).await.unwrap();
    }
    let select = Query::select()
        .expr_as(Expr::col(Subscription::SEATS).sum(), "seats")
        .expr_as(Expr::col(Subscription::SEATS).sum(), "again")
        .from(Subscription::TABLE)
        .to_owned();
    let sum: Option<(i64, Option<i64>)> = repo.fetch_row(&select).await.unwrap();
    assert_eq!(sum, Some((2 * big - 2, Some(2 * big - 2))));
    assert_ne!(
        (2 * big - 2) as f64 as i64,
        2 * big - 2,
        "the sum is not a float's"
    );
}

/// A plain `SUM` beyond `i64` is an error, never a wrong number: a decode error naming the
/// typed aggregates where the sum is exact (PostgreSQL, MariaDB), SQLite's own integer
/// overflow where its `SUM` refuses it.
async fn a_sum_beyond_i64_is_an_error(db: Db) {
    db.create_schema::<Subscription>().await.unwrap();
    let repo = SubscriptionRepository::new(&db);
    for seats in [i64::MAX, 1] {
        let row = Subscription {
            seats,
            ..subscription(1, Tier::Team, None)
        };
        repo.insert(&row).await.unwrap();
    }
    let select = Query::select()
        .expr_as(Expr::col(Subscription::SEATS).sum(), "seats")
        .from(Subscription::TABLE)
        .to_owned();
    let result = repo.fetch_row::<(i64,)>(&select).await;
    match (db.backend(), result) {
        (Backend::Sqlite, Err(Error::Database(e))) => {
            assert!(e.to_string().contains("integer overflow"), "{e}");
        }
        (_, Err(Error::Decode { column, reason })) => {
            assert_eq!(column, "seats");
            assert!(reason.contains("9223372036854775808"), "{reason}");
            assert!(reason.contains("Column::sum()"), "{reason}");
        }
        (_, other) => panic!("expected an error, got {other:?}"),
    }
}

/// An aggregate with a fraction (a plain `AVG`) read into an `i64` field is a decode error on
/// every backend, whose message leads to the typed aggregates.
async fn a_fractional_aggregate_is_not_an_integer(db: Db) {
    db.create_schema::<Subscription>().await.unwrap();
    let repo = SubscriptionRepository::new(&db);
    // Seats 1 and 4: the mean is 2.5.
    for i in [0, 1] {
        repo.insert(&subscription(i, Tier::Team, None))
            .await
            .unwrap();
    }
    let select = Query::select()
        .expr_as(Expr::col(Subscription::SEATS).avg(), "mean")
        .from(Subscription::TABLE)
        .to_owned();
    match repo.fetch_row::<(i64,)>(&select).await {
        Err(Error::Decode { column, reason }) => {
            assert_eq!(column, "mean");
            assert!(reason.contains("Column::avg()"), "{reason}");
        }
        other => panic!("expected a decode error on `mean`, got {other:?}"),
    }
    // Its value, read as a float.
    let mean: Option<(f64,)> = repo.fetch_row(&select).await.unwrap();
    assert_eq!(mean, Some((2.5,)));
}

/// A PostgreSQL row of the simple query protocol (no statement described first) names a type
/// the connection has not looked up by its OID alone, with no kind to ask: reading text from
/// it never takes it for an enum (sqlx then accepts any such type as text), and a NULL there
/// is an error, not a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_simple_protocol_rows_read_without_a_type_lookup() {
    use sqlx::Connection as _;
    let db = repo_tests::postgres("simple_protocol_text").await;
    db.create_schema::<Subscription>().await.unwrap();
    let repo = SubscriptionRepository::new(&db);
    repo.insert(&subscription(1, Tier::Pro, None))
        .await
        .unwrap();
    // A connection of its own, which has described no statement naming the enum type.
    let mut conn = sqlx::PgConnection::connect(&repo_tests::postgres_url())
        .await
        .unwrap();
    let row = sqlx::raw_sql(sqlx::AssertSqlSafe(
        "SELECT tier, previous_tier FROM t_simple_protocol_text.subscriptions",
    ))
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let row = repo_core::Row::Postgres(row);
    assert_eq!(row.field::<String>(0).unwrap(), "pro");
    assert_eq!(row.field::<Tier>(0).unwrap(), Tier::Pro);
    assert!(row.field::<String>(1).is_err());
    assert_eq!(row.field::<Option<String>>(1).unwrap(), None);
}
