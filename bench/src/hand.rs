//! The hand-written contender: plain sqlx on the framework's own pool, with persistent
//! (prepared and cached) statements, decoding with `FromRow`. SQL text is written once and
//! the values are bound; constants are literals, as one writes them by hand.
//!
//! The statements are the same on both backends (`$n` placeholders work on SQLite too), so
//! one macro writes the module of each; only timestamps differ: SQLite stores them as the
//! text the framework writes (`YYYY-MM-DD HH:MM:SS[.ffffff]`).

use chrono::{DateTime, Utc};
use repo_domain::EnrichmentStatus;

use crate::data::Item;

macro_rules! item_columns {
    () => {
        "id, sku, name, qty, price_cents, status, created_at, updated_at"
    };
}

macro_rules! dataset_columns {
    () => {
        "id, source_name, external_id, title, url, description, enrichment_status, \
         enrichment_attempts, last_error, embedding, claimed_by, enriched_at, created_at, \
         updated_at"
    };
}

const GET_BY_ID: &str = concat!(
    "SELECT ",
    item_columns!(),
    " FROM bench_items WHERE id = $1"
);

const INSERT: &str = concat!(
    "INSERT INTO bench_items (sku, name, qty, price_cents, status, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ",
    item_columns!()
);

const COUNT: &str = "SELECT COUNT(*) FROM bench_items WHERE status = $1 AND qty >= $2";

const PAGE: &str = concat!(
    "SELECT ",
    item_columns!(),
    " FROM bench_items WHERE status = $1 AND qty >= $2 \
     ORDER BY price_cents ASC, id ASC LIMIT $3 OFFSET $4"
);

const CLAIM_POSTGRES: &str = concat!(
    "UPDATE datasets SET updated_at = $1, enrichment_status = 'enriching', claimed_by = $2 \
     WHERE id IN (SELECT id FROM datasets WHERE source_name = $3 \
     AND enrichment_status IN ('minimal', 'failed') AND enrichment_attempts < $4 \
     ORDER BY id LIMIT $5 FOR UPDATE SKIP LOCKED) RETURNING ",
    dataset_columns!()
);

const CLAIM_SQLITE: &str = concat!(
    "UPDATE datasets SET updated_at = $1, enrichment_status = 'enriching', claimed_by = $2 \
     WHERE id IN (SELECT id FROM datasets WHERE source_name = $3 \
     AND enrichment_status IN ('minimal', 'failed') AND enrichment_attempts < $4 \
     ORDER BY id LIMIT $5) RETURNING ",
    dataset_columns!()
);

/// Columns an item INSERT writes.
pub const INSERT_WIDTH: usize = 7;

/// `INSERT … VALUES` of `rows` rows `ON CONFLICT (sku) DO UPDATE` every column but the key
/// and `created_at`.
fn upsert_sql(rows: usize) -> String {
    use std::fmt::Write as _;
    let mut sql = String::with_capacity(64 + rows * 40);
    sql.push_str(
        "INSERT INTO bench_items (sku, name, qty, price_cents, status, created_at, updated_at) \
         VALUES ",
    );
    for row in 0..rows {
        let b = row * INSERT_WIDTH;
        if row > 0 {
            sql.push_str(", ");
        }
        let _ = write!(
            sql,
            "(${}, ${}, ${}, ${}, ${}, ${}, ${})",
            b + 1,
            b + 2,
            b + 3,
            b + 4,
            b + 5,
            b + 6,
            b + 7
        );
    }
    sql.push_str(
        " ON CONFLICT (sku) DO UPDATE SET name = excluded.name, qty = excluded.qty, \
         price_cents = excluded.price_cents, status = excluded.status, \
         updated_at = excluded.updated_at",
    );
    sql
}

/// A claimed `datasets` row; `E` is how the backend stores an embedding.
#[derive(Debug, sqlx::FromRow)]
#[expect(
    dead_code,
    reason = "every column is decoded, as the framework does; only some are checked"
)]
pub struct TakenRow<E> {
    pub id: i64,
    source_name: String,
    external_id: String,
    title: String,
    url: Option<String>,
    description: Option<String>,
    pub enrichment_status: EnrichmentStatus,
    enrichment_attempts: i32,
    last_error: Option<String>,
    embedding: Option<E>,
    pub claimed_by: Option<String>,
    enriched_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// What a claim returned, as the workload checks it.
pub struct Taken {
    pub id: i64,
    pub status: EnrichmentStatus,
    pub worker: Option<String>,
}

fn postgres_timestamp(at: DateTime<Utc>) -> DateTime<Utc> {
    at
}

/// The text the framework stores a timestamp as on SQLite.
fn sqlite_timestamp(at: DateTime<Utc>) -> String {
    let mut text = at.format("%Y-%m-%d %H:%M:%S").to_string();
    let micros = at.timestamp_subsec_micros();
    if micros != 0 {
        let fraction = format!(".{micros:06}");
        text.push_str(fraction.trim_end_matches('0'));
    }
    text
}

macro_rules! contender {
    ($module:ident, $db:ty, $timestamp:path, $claim:expr, $embedding:ty) => {
        pub mod $module {
            use sqlx::AssertSqlSafe;

            use super::{
                COUNT, GET_BY_ID, INSERT, INSERT_WIDTH, Item, PAGE, Taken, TakenRow, upsert_sql,
            };
            use crate::data::{Check, Cover, ItemStatus};

            type Pool = sqlx::Pool<$db>;

            /// `SELECT … WHERE id = $1` for each id.
            pub async fn get_by_id(pool: &Pool, ids: &[i64]) -> sqlx::Result<Check> {
                let mut check = Check::default();
                for &id in ids {
                    let item: Option<Item> = sqlx::query_as(GET_BY_ID)
                        .bind(id)
                        .fetch_optional(pool)
                        .await?;
                    if let Some(item) = item {
                        check.add_item(&item, Cover::ALL);
                    }
                }
                Ok(check)
            }

            /// `INSERT … RETURNING` each item, autocommit; the stored rows.
            pub async fn insert_each(pool: &Pool, items: &[Item]) -> sqlx::Result<Vec<Item>> {
                let mut stored = Vec::with_capacity(items.len());
                for item in items {
                    let now = $timestamp(repo_core::repository::now());
                    let row: Item = sqlx::query_as(INSERT)
                        .bind(item.sku.as_str())
                        .bind(item.name.as_str())
                        .bind(item.qty)
                        .bind(item.price_cents)
                        .bind(item.status)
                        .bind(now.clone())
                        .bind(now)
                        .fetch_one(pool)
                        .await?;
                    stored.push(row);
                }
                Ok(stored)
            }

            /// `INSERT … RETURNING` each item, in one transaction; the stored rows.
            pub async fn insert_each_in_transaction(
                pool: &Pool,
                items: &[Item],
            ) -> sqlx::Result<Vec<Item>> {
                let mut stored = Vec::with_capacity(items.len());
                let mut tx = pool.begin().await?;
                for item in items {
                    let now = $timestamp(repo_core::repository::now());
                    let row: Item = sqlx::query_as(INSERT)
                        .bind(item.sku.as_str())
                        .bind(item.name.as_str())
                        .bind(item.qty)
                        .bind(item.price_cents)
                        .bind(item.status)
                        .bind(now.clone())
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await?;
                    stored.push(row);
                }
                tx.commit().await?;
                Ok(stored)
            }

            /// Multi-row `INSERT … ON CONFLICT (sku) DO UPDATE`, `max_binds` parameters a
            /// statement at most, in one transaction; the rows written.
            pub async fn bulk_upsert(
                pool: &Pool,
                items: &[Item],
                max_binds: usize,
            ) -> sqlx::Result<u64> {
                let per_chunk = (max_binds / INSERT_WIDTH).max(1);
                let full = upsert_sql(per_chunk);
                let now = $timestamp(repo_core::repository::now());
                let mut written = 0;
                let mut tx = pool.begin().await?;
                for chunk in items.chunks(per_chunk) {
                    let sql = if chunk.len() == per_chunk {
                        full.clone()
                    } else {
                        upsert_sql(chunk.len())
                    };
                    let mut query = sqlx::query(AssertSqlSafe(sql));
                    for item in chunk {
                        query = query
                            .bind(item.sku.as_str())
                            .bind(item.name.as_str())
                            .bind(item.qty)
                            .bind(item.price_cents)
                            .bind(item.status)
                            .bind(now.clone())
                            .bind(now.clone());
                    }
                    written += query.execute(&mut *tx).await?.rows_affected();
                }
                tx.commit().await?;
                Ok(written)
            }

            /// For each offset: the count of matching rows, then (if the page is not past
            /// the end) the page of `limit` rows.
            pub async fn pages(
                pool: &Pool,
                offsets: &[u64],
                limit: u64,
                status: ItemStatus,
                min_qty: i32,
            ) -> sqlx::Result<Check> {
                let mut check = Check::default();
                for &offset in offsets {
                    let total: i64 = sqlx::query_scalar(COUNT)
                        .bind(status)
                        .bind(min_qty)
                        .fetch_one(pool)
                        .await?;
                    check.mix(total as u64);
                    if total as u64 > offset {
                        let items: Vec<Item> = sqlx::query_as(PAGE)
                            .bind(status)
                            .bind(min_qty)
                            .bind(limit as i64)
                            .bind(offset as i64)
                            .fetch_all(pool)
                            .await?;
                        for item in &items {
                            check.add_item(item, Cover::ALL);
                        }
                    }
                }
                Ok(check)
            }

            /// Take up to `limit` pending datasets of `source` for `worker`, in id order.
            pub async fn claim(
                pool: &Pool,
                source: &str,
                limit: u64,
                max_attempts: i32,
                worker: &str,
            ) -> sqlx::Result<Vec<Taken>> {
                let now = $timestamp(repo_core::repository::now());
                let mut rows: Vec<TakenRow<$embedding>> = sqlx::query_as($claim)
                    .bind(now)
                    .bind(worker)
                    .bind(source)
                    .bind(max_attempts)
                    .bind(limit as i64)
                    .fetch_all(pool)
                    .await?;
                rows.sort_by_key(|row| row.id);
                Ok(rows
                    .into_iter()
                    .map(|row| Taken {
                        id: row.id,
                        status: row.enrichment_status,
                        worker: row.claimed_by,
                    })
                    .collect())
            }
        }
    };
}

contender!(
    postgres,
    sqlx::Postgres,
    super::postgres_timestamp,
    super::CLAIM_POSTGRES,
    Vec<f32>
);
contender!(
    sqlite,
    sqlx::Sqlite,
    super::sqlite_timestamp,
    super::CLAIM_SQLITE,
    Vec<u8>
);
