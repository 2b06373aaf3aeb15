//! Custom statistics queries: portable aggregates and `#[derive(FromRow)]` rows, compared with
//! the same figures computed in Rust; and enum labels the Rust enum does not know, which are
//! decode errors naming the column and the label rather than rows left out.

use std::collections::BTreeMap;

use repo_core::Error;
use repo_core::prelude::*;
use repo_core::sea_query::SelectStatement;
use repo_tests::entities::*;

repo_tests::on_every_backend!(
    aggregates_match_values_computed_in_rust,
    aggregates_over_no_rows,
    enum_cast_to_text_still_decodes,
    unknown_enum_label_is_a_decode_error,
    unknown_label_in_a_nullable_enum_column_is_a_decode_error,
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
    if let Some(pool) = db.postgres_pool() {
        // Its own statement: a label added in a transaction cannot be used in it.
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "ALTER TYPE tier ADD VALUE IF NOT EXISTS '{label}'"
        )))
        .execute(pool)
        .await
        .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(update))
            .execute(pool)
            .await
            .unwrap();
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
