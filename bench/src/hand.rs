//! The hand-written contender: plain sqlx on the framework's own pool, with persistent
//! (prepared and cached) statements, decoding with `FromRow`. SQL text is written once and
//! the values are bound; constants are literals, as one writes them by hand.
//!
//! The statements are the same on every backend but for placeholders (`$1` on PostgreSQL, `?`
//! on SQLite and MariaDB), the upsert's conflict clause and the claim, so one macro writes the
//! module of each. Timestamps differ too: SQLite stores them as the text the framework writes
//! (`YYYY-MM-DD HH:MM:SS[.ffffff]`), MariaDB as `DATETIME(6)` in UTC, bound as a naive time as
//! the framework binds them. MariaDB has no `UPDATE … RETURNING`, so its claim locks the rows
//! with a `SELECT … FOR UPDATE SKIP LOCKED` and updates them by id in one transaction.

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
         enrichment_attempts, last_error, embedding, claimed_by, claimed_at, enriched_at, \
         created_at, updated_at"
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

/// The claim's `SET`: as the framework's, a taken-over row (still `enriching`, its lease run
/// out) counts the attempt its dead holder lost. `enrichment_attempts` comes before the status
/// because MariaDB reads columns an update already set.
macro_rules! claim_set {
    () => {
        "enrichment_attempts = CASE WHEN enrichment_status = 'enriching' \
         THEN enrichment_attempts + 1 ELSE enrichment_attempts END, \
         enrichment_status = 'enriching'"
    };
}

/// The claim in one statement: rows whose lease ran out first, then pending rows, up to `$6`
/// in all. Each arm keeps its own index scan in id order (the lease index, the partial pending
/// index), which an `OR` of the two conditions would defeat; PostgreSQL runs the second arm
/// only as far as the outer `LIMIT` needs, so it locks no row it does not take. A `FOR UPDATE`
/// cannot sit on a `UNION` arm itself, hence the derived tables.
const CLAIM_POSTGRES: &str = concat!(
    "UPDATE datasets SET updated_at = $1, claimed_by = $2, claimed_at = $1, ",
    claim_set!(),
    " WHERE id IN (\
     SELECT id FROM (SELECT id FROM datasets WHERE source_name = $3 \
     AND enrichment_attempts < $4 AND enrichment_status = 'enriching' AND claimed_at < $5 \
     ORDER BY id LIMIT $6 FOR UPDATE SKIP LOCKED) AS expired \
     UNION ALL \
     SELECT id FROM (SELECT id FROM datasets WHERE source_name = $3 \
     AND enrichment_attempts < $4 AND enrichment_status IN ('minimal', 'failed') \
     ORDER BY id LIMIT $6 FOR UPDATE SKIP LOCKED) AS available \
     LIMIT $6) RETURNING ",
    dataset_columns!()
);

/// The same on SQLite, without the lock clauses (one writer at a time) and with each
/// parameter once, in order (see [`positional`]).
const CLAIM_SQLITE: &str = concat!(
    "UPDATE datasets SET updated_at = ?, claimed_by = ?, claimed_at = ?, ",
    claim_set!(),
    " WHERE id IN (\
     SELECT id FROM (SELECT id FROM datasets WHERE source_name = ? \
     AND enrichment_attempts < ? AND enrichment_status = 'enriching' AND claimed_at < ? \
     ORDER BY id LIMIT ?) AS expired \
     UNION ALL \
     SELECT id FROM (SELECT id FROM datasets WHERE source_name = ? \
     AND enrichment_attempts < ? AND enrichment_status IN ('minimal', 'failed') \
     ORDER BY id LIMIT ?) AS available \
     LIMIT ?) RETURNING ",
    dataset_columns!()
);

/// `ON CONFLICT (sku) DO UPDATE` every column but the key and `created_at`, adding the
/// incoming quantity to the stored one (W3's conflict action).
const ON_CONFLICT: &str = " ON CONFLICT (sku) DO UPDATE SET name = excluded.name, \
     qty = bench_items.qty + excluded.qty, price_cents = excluded.price_cents, status = excluded.status, \
     updated_at = excluded.updated_at";

/// The same on MariaDB. The framework names each row's id there, looked up by its `sku`, so
/// that concurrent upserts do not deadlock on `InnoDB`'s gap locks; this baseline runs alone,
/// so it writes the plain statement one would write by hand.
const ON_DUPLICATE_KEY: &str = " ON DUPLICATE KEY UPDATE name = VALUES(name), \
     qty = qty + VALUES(qty), price_cents = VALUES(price_cents), status = VALUES(status), \
     updated_at = VALUES(updated_at)";

/// The datasets of a source whose lease ran out, locked, in id order; the claim's first
/// statement on MariaDB (whose `IN (subquery)` takes no `LIMIT`, and whose `UPDATE` returns
/// nothing).
const CLAIM_EXPIRED_MYSQL: &str = concat!(
    "SELECT ",
    dataset_columns!(),
    " FROM datasets WHERE source_name = ? AND enrichment_attempts < ? \
     AND enrichment_status = 'enriching' AND claimed_at < ? \
     ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED"
);

/// The pending datasets of a source, locked, in id order; the claim's second statement on
/// MariaDB, for what the first left of the batch. Two selects rather than a `UNION` of both:
/// MariaDB runs every arm of a union in full, so the pending arm would lock rows the claim then
/// leaves, which concurrent claimers skip.
const CLAIM_MYSQL: &str = concat!(
    "SELECT ",
    dataset_columns!(),
    " FROM datasets WHERE source_name = ? \
     AND enrichment_status IN ('minimal', 'failed') AND enrichment_attempts < ? \
     ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED"
);

/// The statements in one backend's placeholder style.
pub struct Sql {
    pub get_by_id: &'static str,
    pub insert: &'static str,
    pub count: &'static str,
    pub page: &'static str,
    pub claim: &'static str,
    /// What follows the bulk upsert's rows.
    pub upsert_tail: &'static str,
    /// `$1, $2, …` rather than `?`.
    pub numbered: bool,
}

pub static POSTGRES_SQL: Sql = Sql {
    get_by_id: GET_BY_ID,
    insert: INSERT,
    count: COUNT,
    page: PAGE,
    claim: CLAIM_POSTGRES,
    upsert_tail: ON_CONFLICT,
    numbered: true,
};

pub static SQLITE_SQL: LazyLock<Sql> = LazyLock::new(|| Sql {
    get_by_id: positional(GET_BY_ID),
    insert: positional(INSERT),
    count: positional(COUNT),
    page: positional(PAGE),
    claim: CLAIM_SQLITE,
    upsert_tail: ON_CONFLICT,
    numbered: false,
});

pub static MYSQL_SQL: LazyLock<Sql> = LazyLock::new(|| Sql {
    get_by_id: positional(GET_BY_ID),
    insert: positional(INSERT),
    count: positional(COUNT),
    page: positional(PAGE),
    claim: CLAIM_MYSQL,
    upsert_tail: ON_DUPLICATE_KEY,
    numbered: false,
});

/// `sql` with `$1`, `$2`, … written `?`. SQLite looks numbered and named parameters up by
/// name, a scan per parameter (quadratic in a bulk statement's thousands); `?` costs nothing.
/// Each statement here uses its parameters once, in order.
pub(crate) fn positional(sql: &'static str) -> &'static str {
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

/// `INSERT … VALUES` of `rows` rows, then `statements.upsert_tail`.
fn upsert_sql(rows: usize, statements: &Sql) -> String {
    use std::fmt::Write as _;
    let numbered = statements.numbered;
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
    sql.push_str(statements.upsert_tail);
    sql
}

/// The rows an upsert of `rows` rows wrote, from the count the server reported.
/// `ON DUPLICATE KEY UPDATE` reports 1 per inserted row and 2 per updated one (1 if it was
/// unchanged): any count in `rows..=2 * rows` means each row was written once, as the
/// framework counts it; another count is returned as it is, so the workload's check fails.
fn upsert_written(statements: &Sql, affected: u64, rows: usize) -> u64 {
    let rows = rows as u64;
    if statements.upsert_tail == ON_DUPLICATE_KEY && (rows..=2 * rows).contains(&affected) {
        rows
    } else {
        affected
    }
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
    pub enrichment_attempts: i32,
    last_error: Option<String>,
    embedding: Option<E>,
    pub claimed_by: Option<String>,
    pub claimed_at: Option<DateTime<Utc>>,
    enriched_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// What a claim returned, as the workload checks it.
pub struct Taken {
    pub id: i64,
    pub status: EnrichmentStatus,
    pub worker: Option<String>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub attempts: i32,
}

impl<E> From<TakenRow<E>> for Taken {
    fn from(row: TakenRow<E>) -> Self {
        Self {
            id: row.id,
            status: row.enrichment_status,
            worker: row.claimed_by,
            claimed_at: row.claimed_at,
            attempts: row.enrichment_attempts,
        }
    }
}

pub(crate) fn postgres_timestamp(at: DateTime<Utc>) -> DateTime<Utc> {
    at
}

/// MariaDB's `DATETIME` in UTC, the session's time zone.
pub(crate) fn mysql_timestamp(at: DateTime<Utc>) -> chrono::NaiveDateTime {
    at.naive_utc()
}

/// The text the framework stores a timestamp as on SQLite.
pub(crate) fn sqlite_timestamp(at: DateTime<Utc>) -> String {
    let mut text = at.format("%Y-%m-%d %H:%M:%S").to_string();
    let micros = at.timestamp_subsec_micros();
    if micros != 0 {
        let fraction = format!(".{micros:06}");
        text.push_str(fraction.trim_end_matches('0'));
    }
    text
}

/// The claim as one `UPDATE … WHERE id IN (… expired … UNION ALL … pending … LIMIT n)
/// RETURNING …` (PostgreSQL, SQLite), under a lease of `lease`.
macro_rules! claim_returning {
    ($timestamp:path, $embedding:ty) => {
        /// Take up to `limit` datasets of `source` for `worker`: those whose lease ran out,
        /// then pending ones; in id order.
        pub async fn claim(
            pool: &Pool,
            source: &str,
            limit: u64,
            max_attempts: i32,
            worker: &str,
            lease: chrono::TimeDelta,
        ) -> sqlx::Result<Vec<Taken>> {
            let at = repo_core::repository::now();
            let cutoff = $timestamp(at - lease);
            let limit = limit as i64;
            let query = sqlx::query_as(sql().claim);
            let query = if sql().numbered {
                query
                    .bind($timestamp(at))
                    .bind(worker)
                    .bind(source)
                    .bind(max_attempts)
                    .bind(cutoff)
                    .bind(limit)
            } else {
                query
                    .bind($timestamp(at))
                    .bind(worker)
                    .bind($timestamp(at))
                    .bind(source)
                    .bind(max_attempts)
                    .bind(cutoff)
                    .bind(limit)
                    .bind(source)
                    .bind(max_attempts)
                    .bind(limit)
                    .bind(limit)
            };
            let mut rows: Vec<TakenRow<$embedding>> = query.fetch_all(pool).await?;
            rows.sort_by_key(|row| row.id);
            Ok(rows.into_iter().map(Taken::from).collect())
        }
    };
}

/// The claim in one transaction (MariaDB, which has no `UPDATE … RETURNING`): lock up to
/// `limit` rows whose lease ran out, then pending rows for the rest, with `FOR UPDATE SKIP
/// LOCKED`, and update them all by id in one statement. The rows were read under the lock, so
/// what the update wrote is known without reading them back, as one writes it by hand; the
/// framework reads them back, not knowing what its update's expressions made.
macro_rules! claim_locking {
    ($timestamp:path, $embedding:ty) => {
        /// Take up to `limit` datasets of `source` for `worker`: those whose lease ran out,
        /// then pending ones; in id order.
        pub async fn claim(
            pool: &Pool,
            source: &str,
            limit: u64,
            max_attempts: i32,
            worker: &str,
            lease: chrono::TimeDelta,
        ) -> sqlx::Result<Vec<Taken>> {
            let at = repo_core::repository::now();
            let mut tx = pool.begin().await?;
            let mut rows: Vec<TakenRow<$embedding>> = sqlx::query_as(super::CLAIM_EXPIRED_MYSQL)
                .bind(source)
                .bind(max_attempts)
                .bind($timestamp(at - lease))
                .bind(limit as i64)
                .fetch_all(&mut *tx)
                .await?;
            let left = limit - rows.len() as u64;
            if left > 0 {
                let pending: Vec<TakenRow<$embedding>> = sqlx::query_as(sql().claim)
                    .bind(source)
                    .bind(max_attempts)
                    .bind(left as i64)
                    .fetch_all(&mut *tx)
                    .await?;
                rows.extend(pending);
            }
            if rows.is_empty() {
                tx.commit().await?;
                return Ok(Vec::new());
            }
            let mut update = String::from(concat!(
                "UPDATE datasets SET updated_at = ?, claimed_by = ?, claimed_at = ?, ",
                claim_set!(),
                " WHERE id IN (?"
            ));
            update.push_str(&", ?".repeat(rows.len() - 1));
            update.push(')');
            let now = $timestamp(at);
            let mut query = sqlx::query(AssertSqlSafe(update))
                .bind(now)
                .bind(worker)
                .bind(now);
            for row in &rows {
                query = query.bind(row.id);
            }
            let updated = query.execute(&mut *tx).await?.rows_affected();
            if updated != rows.len() as u64 {
                return Err(sqlx::Error::Protocol(format!(
                    "claim: locked {} rows, updated {updated}",
                    rows.len()
                )));
            }
            tx.commit().await?;
            rows.sort_by_key(|row| row.id);
            Ok(rows
                .into_iter()
                .map(|row| {
                    let enriching = repo_domain::EnrichmentStatus::Enriching;
                    let expired = row.enrichment_status == enriching;
                    Taken {
                        id: row.id,
                        status: enriching,
                        worker: Some(worker.to_owned()),
                        claimed_at: Some(at),
                        attempts: row.enrichment_attempts + i32::from(expired),
                    }
                })
                .collect())
        }
    };
}

macro_rules! contender {
    ($module:ident, $db:ty, $sql:expr, $timestamp:path, $embedding:ty, $claim:ident) => {
        pub mod $module {
            use sqlx::AssertSqlSafe;

            use super::{Item, Sql, Taken, TakenRow, upsert_sql, upsert_written};
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

            /// Multi-row `INSERT … ON CONFLICT (sku) DO UPDATE` (or `ON DUPLICATE KEY UPDATE`),
            /// `per_chunk` rows a statement, in one transaction; the rows written.
            pub async fn bulk_upsert(
                pool: &Pool,
                items: &[Item],
                per_chunk: usize,
            ) -> sqlx::Result<u64> {
                let per_chunk = per_chunk.max(1);
                let full = upsert_sql(per_chunk, sql());
                let now = $timestamp(repo_core::repository::now());
                let mut written = 0;
                let mut tx = pool.begin().await?;
                for chunk in items.chunks(per_chunk) {
                    let text = if chunk.len() == per_chunk {
                        full.clone()
                    } else {
                        upsert_sql(chunk.len(), sql())
                    };
                    let mut query = sqlx::query(AssertSqlSafe(text));
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
                    let affected = query.execute(&mut *tx).await?.rows_affected();
                    written += upsert_written(sql(), affected, chunk.len());
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

            $claim!($timestamp, $embedding);
        }
    };
}

contender!(
    postgres,
    sqlx::Postgres,
    super::POSTGRES_SQL,
    super::postgres_timestamp,
    Vec<f32>,
    claim_returning
);
contender!(
    sqlite,
    sqlx::Sqlite,
    super::SQLITE_SQL,
    super::sqlite_timestamp,
    Vec<u8>,
    claim_returning
);
contender!(
    mysql,
    sqlx::MySql,
    super::MYSQL_SQL,
    super::mysql_timestamp,
    Vec<u8>,
    claim_locking
);
