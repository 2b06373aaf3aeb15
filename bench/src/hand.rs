//! The hand-written contender: plain sqlx on the framework's own pool, with persistent
//! (prepared and cached) statements, decoding with `FromRow`. SQL text is written once and
//! the values are bound; constants are literals, as one writes them by hand.
//!
//! The statements are the same on both backends but for placeholders (`$1` on PostgreSQL, `?`
//! on SQLite) and the claim's lock clause, so one macro writes the module of each; timestamps
//! differ too: SQLite stores them as the text the framework writes
//! (`YYYY-MM-DD HH:MM:SS[.ffffff]`).

use std::sync::LazyLock;

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

/// The statements in one backend's placeholder style.
pub struct Sql {
    pub get_by_id: &'static str,
    pub insert: &'static str,
    pub count: &'static str,
    pub page: &'static str,
    pub claim: &'static str,
    /// `$1, $2, …` rather than `?`.
    pub numbered: bool,
}

pub static POSTGRES_SQL: Sql = Sql {
    get_by_id: GET_BY_ID,
    insert: INSERT,
    count: COUNT,
    page: PAGE,
    claim: CLAIM_POSTGRES,
    numbered: true,
};

pub static SQLITE_SQL: LazyLock<Sql> = LazyLock::new(|| Sql {
    get_by_id: positional(GET_BY_ID),
    insert: positional(INSERT),
    count: positional(COUNT),
    page: positional(PAGE),
    claim: positional(CLAIM_SQLITE),
    numbered: false,
});

/// `sql` with `$1`, `$2`, … written `?`. SQLite looks numbered and named parameters up by
/// name, a scan per parameter (quadratic in a bulk statement's thousands); `?` costs nothing.
/// Each statement here uses its parameters once, in order.
fn positional(sql: &'static str) -> &'static str {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) {
            while chars.peek().is_some_and(char::is_ascii_digit) {
                chars.next();
            }
            out.push('?');
        } else {
            out.push(c);
        }
    }
    // Built once per statement for the life of the process.
    out.leak()
}

/// Columns an item INSERT writes.
pub const INSERT_WIDTH: usize = 7;

/// `INSERT … VALUES` of `rows` rows `ON CONFLICT (sku) DO UPDATE` every column but the key
/// and `created_at`.
fn upsert_sql(rows: usize, numbered: bool) -> String {
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
        if numbered {
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
        } else {
            sql.push_str("(?, ?, ?, ?, ?, ?, ?)");
        }
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
    ($module:ident, $db:ty, $sql:expr, $timestamp:path, $embedding:ty) => {
        pub mod $module {
            use sqlx::AssertSqlSafe;

            use super::{INSERT_WIDTH, Item, Sql, Taken, TakenRow, upsert_sql};
            use crate::data::{Check, Cover, ItemStatus};

            type Pool = sqlx::Pool<$db>;

            fn sql() -> &'static Sql {
                &$sql
            }

            /// `SELECT … WHERE id = $1` for each id.
            pub async fn get_by_id(pool: &Pool, ids: &[i64]) -> sqlx::Result<Check> {
                let mut check = Check::default();
                for &id in ids {
                    let item: Option<Item> = sqlx::query_as(sql().get_by_id)
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
                    let row: Item = sqlx::query_as(sql().insert)
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
                    let row: Item = sqlx::query_as(sql().insert)
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
                let full = upsert_sql(per_chunk, sql().numbered);
                let now = $timestamp(repo_core::repository::now());
                let mut written = 0;
                let mut tx = pool.begin().await?;
                for chunk in items.chunks(per_chunk) {
                    let sql = if chunk.len() == per_chunk {
                        full.clone()
                    } else {
                        upsert_sql(chunk.len(), sql().numbered)
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
                    let total: i64 = sqlx::query_scalar(sql().count)
                        .bind(status)
                        .bind(min_qty)
                        .fetch_one(pool)
                        .await?;
                    check.mix(total as u64);
                    if total as u64 > offset {
                        let items: Vec<Item> = sqlx::query_as(sql().page)
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
                let mut rows: Vec<TakenRow<$embedding>> = sqlx::query_as(sql().claim)
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
    super::POSTGRES_SQL,
    super::postgres_timestamp,
    Vec<f32>
);
contender!(
    sqlite,
    sqlx::Sqlite,
    super::SQLITE_SQL,
    super::sqlite_timestamp,
    Vec<u8>
);
